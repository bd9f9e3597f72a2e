package registry_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestAppTokens: "$app" with an app-specific token logs in to the
// registry as the token's owner, with the owner's rights; revoking the
// token stops the registry tokens it earned (within the poll), and a
// wrong, unknown, expired or foreign-shaped token is refused as a bad
// password is.
func TestAppTokens(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		ctx := context.Background()
		dave := e.as("dave", e.createUser("dave"))
		dave.pushImage("dave/app", "v1", "dave")
		acct, err := store.Accounts.AccountByName(ctx, "dave")
		if err != nil {
			t.Fatal(err)
		}
		tokens := identity.NewAppTokens(store.Accounts, 0, time.Now)
		realm := "http://" + e.host + "/v2/auth"
		owner := &wharf.Caller{Account: acct}

		code, tok, err := tokens.Create(ctx, owner, "ci")
		if err != nil {
			t.Fatal(err)
		}
		app := e.as("$app", code)
		must(t, "pull with the app token", app.do("GET", "/v2/dave/app/manifests/v1", nil), http.StatusOK)
		app.pushImage("dave/app", "v2", "pushed with an app token")
		if got := e.logsOf("push_repo", "app"); len(got) == 0 || got[len(got)-1].Performer.Name != "dave" {
			t.Errorf("push_repo by the app token: %+v, want performer dave", got)
		}
		if used, err := store.Accounts.AppTokenByUUID(ctx, acct.ID, tok.UUID); err != nil || used.LastAccessed.IsZero() {
			t.Errorf("last_accessed not recorded: %+v, %v", used, err)
		}

		// Other users' repositories are out of reach, as for dave himself.
		e.createOrg("other")
		mustErr(t, "push elsewhere with the app token", app.do("POST", "/v2/other/app/blobs/uploads/", nil),
			http.StatusForbidden, "DENIED")

		// A wrong secret, an unknown name, a malformed code: bad credentials.
		for what, bad := range map[string]string{
			"wrong secret":  code[:identity.AppTokenNameLength] + strings.Repeat("A", identity.AppTokenLength-identity.AppTokenNameLength),
			"unknown token": strings.Repeat("B", identity.AppTokenLength),
			"short code":    code[:identity.AppTokenLength-1],
		} {
			r := e.as("$app", bad).fetchToken(realm, e.host, "repository:dave/app:pull")
			mustErr(t, what, r, http.StatusUnauthorized, "UNAUTHORIZED")
		}

		// Revoked: the registry token it earned stops, and it logs in no more.
		must(t, "pull before revoking", app.stale("GET", "/v2/dave/app/manifests/v1", nil), http.StatusOK)
		if _, err := tokens.Revoke(ctx, owner, tok.UUID); err != nil {
			t.Fatal(err)
		}
		e.poll()
		mustErr(t, "the revoked token's registry token", app.stale("GET", "/v2/dave/app/manifests/v1", nil),
			http.StatusUnauthorized, "UNAUTHORIZED")
		mustErr(t, "the revoked token logs in", app.fetchToken(realm, e.host, "repository:dave/app:pull"),
			http.StatusUnauthorized, "UNAUTHORIZED")

		// Expired: refused at login, and the registry token it earned lives
		// no longer than the app token.
		soon := identity.NewAppTokens(store.Accounts, 3*time.Second, time.Now)
		code, _, err = soon.Create(ctx, owner, "short-lived")
		if err != nil {
			t.Fatal(err)
		}
		r := e.as("$app", code).fetchToken(realm, e.host, "repository:dave/app:pull")
		must(t, "login with a short-lived token", r, http.StatusOK)
		var issued struct {
			ExpiresIn int64 `json:"expires_in"`
		}
		if err := json.Unmarshal(r.Body, &issued); err != nil || issued.ExpiresIn > 3 || issued.ExpiresIn < 1 {
			t.Errorf("registry token of an app token expiring in 3s: expires_in %d (%v)", issued.ExpiresIn, err)
		}
		secret := strings.Repeat("D", identity.AppTokenLength-identity.AppTokenNameLength)
		sum := sha256.Sum256([]byte(secret))
		expired := &wharf.AppToken{UUID: wharf.NewUUID(), AccountID: acct.ID, Title: "old", Name: strings.Repeat("C", identity.AppTokenNameLength),
			SecretHash: sum[:], ExpiresAt: time.Now().Add(-time.Minute)}
		if err := store.Accounts.CreateAppToken(ctx, expired); err != nil {
			t.Fatal(err)
		}
		mustErr(t, "an expired token with its right secret", e.as("$app", expired.Name+secret).fetchToken(realm, e.host, "repository:dave/app:pull"),
			http.StatusUnauthorized, "UNAUTHORIZED")

		// A disabled owner's token is refused as the owner's password is.
		code, _, err = tokens.Create(ctx, owner, "before disabling")
		if err != nil {
			t.Fatal(err)
		}
		e.mustAPI(http.StatusOK, "PUT", "/api/v1/superuser/users/dave", map[string]any{"enabled": false})
		e.poll()
		mustErr(t, "the disabled owner's app token", e.as("$app", code).fetchToken(realm, e.host, "repository:dave/app:pull"),
			http.StatusForbidden, "DENIED")
	})
}

// TestAppTokenGuessesThrottled: guessing app tokens passes the login
// throttle like any credential: an address that failed 20 times waits,
// right token or not, and then logs in.
func TestAppTokenGuessesThrottled(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		e.createUser("erin")
		acct, err := store.Accounts.AccountByName(context.Background(), "erin")
		if err != nil {
			t.Fatal(err)
		}
		code, _, err := identity.NewAppTokens(store.Accounts, 0, time.Now).Create(context.Background(), &wharf.Caller{Account: acct}, "ci")
		if err != nil {
			t.Fatal(err)
		}
		guess := code[:identity.AppTokenNameLength] + strings.Repeat("Z", identity.AppTokenLength-identity.AppTokenNameLength)
		for i := range 20 {
			mustErr(t, fmt.Sprintf("guess #%d", i+1), e.as("$app", guess).login(throttleScope), http.StatusUnauthorized, "UNAUTHORIZED")
		}
		mustThrottle(t, "the right app token after 20 guesses", e.as("$app", code).login(throttleScope), 1)
		e.clock.Advance(time.Second)
		must(t, "the right app token after the wait", e.as("$app", code).login(throttleScope), http.StatusOK)
	})
}
