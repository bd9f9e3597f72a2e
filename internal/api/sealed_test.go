package api_test

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestSealedCredentialsThroughAPI checks that sealing robot tokens and
// OAuth client secrets at rest changes nothing a client sees: the API
// shows the token and secret it created, on every view and after a reset,
// and the application still grants tokens, while the database holds
// neither in plaintext.
func TestSealedCredentialsThroughAPI(t *testing.T) {
	for _, d := range dbtest.Engines(t) {
		t.Run(string(d), func(t *testing.T) {
			uri := dbtest.URI(t, d)
			store, err := db.Open(t.Context(), uri, db.WithSecretKey("api-test-key"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			_, driver, dsn, err := db.SQLDriver(uri)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			atRest := func(query string, args ...any) string {
				t.Helper()
				var v string
				if err := raw.QueryRow(query, args...).Scan(&v); err != nil {
					t.Fatal(err)
				}
				return v
			}
			field := func(r *response, name string) string {
				t.Helper()
				v, _ := r.JSON(t)[name].(string)
				if v == "" {
					t.Fatalf("no %s in %s", name, r.Body)
				}
				return v
			}

			e := newEnv(t, store, nil)
			admin := e.bootstrap()
			pw := e.createUser(admin, "alice")
			mustStatus(t, admin.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)

			created := admin.do("PUT", "/api/v1/organization/acme/robots/bot", nil)
			mustStatus(t, created, http.StatusCreated)
			token := field(created, "token")
			if got := field(admin.do("GET", "/api/v1/organization/acme/robots/bot", nil), "token"); got != token {
				t.Errorf("GET robot token %q, want %q", got, token)
			}
			list := admin.do("GET", "/api/v1/organization/acme/robots", nil)
			mustStatus(t, list, http.StatusOK)
			if !strings.Contains(string(list.Body), `"token":"`+token+`"`) {
				t.Errorf("robot list %s lacks the token", list.Body)
			}
			if stored := atRest(`SELECT token FROM robot`); strings.Contains(stored, token) {
				t.Errorf("robot token stored in plaintext: %q", stored)
			}

			clientID := e.createApp(admin, "acme")
			appPath := "/api/v1/organization/acme/applications/" + clientID
			secret := field(admin.do("GET", appPath, nil), "client_secret")
			reset := admin.do("POST", appPath+"/resetclientsecret", nil)
			mustStatus(t, reset, http.StatusOK)
			newSecret := field(reset, "client_secret")
			if newSecret == secret {
				t.Fatal("resetclientsecret kept the secret")
			}
			if got := field(admin.do("GET", appPath, nil), "client_secret"); got != newSecret {
				t.Errorf("GET application client_secret %q after reset, want %q", got, newSecret)
			}
			stored := atRest(`SELECT client_secret FROM oauth_application WHERE client_id = $1`, clientID)
			if strings.Contains(stored, newSecret) || !strings.HasPrefix(stored, "sealed:") {
				t.Errorf("client secret stored as %q", stored)
			}
			tok := e.mintToken(e.login("alice", pw), clientID, "user:read")
			mustStatus(t, tok.do("GET", "/api/v1/user/", nil), http.StatusOK)
		})
	}
}
