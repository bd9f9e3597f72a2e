package registry_test

// Registry tokens name account and repository ids and carry the credential
// epochs their grants rest on: whatever takes the rights away stops the
// tokens already issued (within the poll interval; the tests poll at once
// instead of waiting), and a reused name inherits nothing. Each test
// replays a reported hole: the token worked on after the change.

import (
	"context"
	"net/http"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// poll makes this process see every credential change made so far, as
// its poller does within auth.DefaultPollInterval.
func (e *env) poll() {
	e.t.Helper()
	if err := e.revocations.Poll(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// stale sends a request with c's current token, without fetching a new one.
func (c *client) stale(method, path string, body []byte, hdr ...string) *response {
	return c.e.send(method, path, body, c.token, hdr...)
}

func TestRevokedTokens(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		ctx := context.Background()
		admin := e.as("admin", "adminpass1")

		t.Run("robot deleted: its token stops", func(t *testing.T) {
			e.createOrg("robots")
			robot := e.as("robots+ci", e.createRobot("robots", "ci"))
			e.joinTeam("robots", "ci", "creator", "robots+ci")
			robot.pushImage("robots/app", "v1", "robot")
			must(t, "pull with the robot's token", robot.stale("GET", "/v2/robots/app/manifests/v1", nil), http.StatusOK)
			e.mustAPI(http.StatusNoContent, "DELETE", "/api/v1/organization/robots/robots/ci", nil)
			e.poll()
			for _, r := range []*response{robot.stale("GET", "/v2/robots/app/manifests/v1", nil),
				robot.stale("DELETE", "/v2/robots/app/manifests/v1", nil)} {
				mustErr(t, "the deleted robot's token", r, http.StatusUnauthorized, "UNAUTHORIZED")
			}
			mustErr(t, "the deleted robot logs in", robot.do("GET", "/v2/robots/app/manifests/v1", nil), http.StatusUnauthorized, "UNAUTHORIZED")
		})

		t.Run("robot token regenerated: the old token and what it earned stop", func(t *testing.T) {
			e.createOrg("regen")
			robot := e.as("regen+ci", e.createRobot("regen", "ci"))
			e.joinTeam("regen", "ci", "creator", "regen+ci")
			robot.pushImage("regen/app", "v1", "robot")
			must(t, "pull with the robot's token", robot.stale("GET", "/v2/regen/app/manifests/v1", nil), http.StatusOK)
			fresh := jsonField(t, e.mustAPI(http.StatusOK, "POST", "/api/v1/organization/regen/robots/ci/regenerate", nil), "token")
			mustErr(t, "the old token at /v2/auth", robot.login("repository:regen/app:pull"), http.StatusUnauthorized, "UNAUTHORIZED")
			e.poll()
			mustErr(t, "a registry token earned with the old token", robot.stale("GET", "/v2/regen/app/manifests/v1", nil),
				http.StatusUnauthorized, "UNAUTHORIZED")
			must(t, "the new token", e.as("regen+ci", fresh).do("GET", "/v2/regen/app/manifests/v1", nil), http.StatusOK)
		})

		t.Run("user deleted, name reused: the new user inherits nothing", func(t *testing.T) {
			carol := e.as("carol", e.createUser("carol"))
			carol.pushImage("carol/app", "v1", "the first carol")
			must(t, "carol's token", carol.stale("GET", "/v2/carol/app/manifests/v1", nil), http.StatusOK)
			e.mustAPI(http.StatusNoContent, "DELETE", "/api/v1/superuser/users/carol", nil)
			newCarol := e.as("carol", e.createUser("carol"))
			newCarol.pushImage("carol/app", "v1", "the second carol")
			e.poll()
			mustErr(t, "the old carol's token on the new carol/app", carol.stale("GET", "/v2/carol/app/manifests/v1", nil),
				http.StatusUnauthorized, "UNAUTHORIZED")
			must(t, "the new carol", newCarol.do("GET", "/v2/carol/app/manifests/v1", nil), http.StatusOK)
		})

		t.Run("disabled user: the user's robots stop too", func(t *testing.T) {
			bob := e.as("bob", e.createUser("bob"))
			bob.pushImage("bob/app", "v1", "bob")
			bobAcct, err := store.Accounts.AccountByName(ctx, "bob")
			if err != nil {
				t.Fatal(err)
			}
			r, err := repositories(store).CreateRobot(ctx, &wharf.Caller{Account: bobAcct}, bobAcct, "mybot", "")
			if err != nil {
				t.Fatal(err)
			}
			bot := e.as(r.Account.Name, r.Token)
			e.grant("bob/app", r.Account.Name, "write")
			bot.pushImage("bob/app", "bot", "bob's robot")
			e.mustAPI(http.StatusOK, "PUT", "/api/v1/superuser/users/bob", map[string]any{"enabled": false})
			e.poll()
			mustErr(t, "bob's robot's token", bot.stale("GET", "/v2/bob/app/manifests/bot", nil), http.StatusUnauthorized, "UNAUTHORIZED")
			mustErr(t, "bob's robot logs in", bot.login("repository:bob/app:pull,push"), http.StatusUnauthorized, "UNAUTHORIZED")
			if r := bot.do("POST", "/v2/bob/app/blobs/uploads/", nil); r.Status/100 == 2 {
				t.Fatalf("a disabled user's robot started an upload: %s", r)
			}
			mustErr(t, "bob logs in", bob.login("repository:bob/app:pull"), http.StatusForbidden, "DENIED")
			e.mustAPI(http.StatusOK, "PUT", "/api/v1/superuser/users/bob", map[string]any{"enabled": true})
			bot.tokens = map[string]string{}
			must(t, "bob enabled again: his robot pulls", bot.do("GET", "/v2/bob/app/manifests/bot", nil), http.StatusOK)
		})

		t.Run("repository deleted and made again: old grants do not carry over", func(t *testing.T) {
			e.createOrg("delrepo")
			admin.pushImage("delrepo/app", "v1", "first")
			reader := e.as("dave", e.createUser("dave"))
			e.mustAPI(http.StatusOK, "POST", "/api/v1/repository/delrepo/app/changevisibility", map[string]any{"visibility": "public"})
			must(t, "dave pulls the public repository", reader.do("GET", "/v2/delrepo/app/manifests/v1", nil), http.StatusOK)
			e.mustAPI(http.StatusNoContent, "DELETE", "/api/v1/repository/delrepo/app", nil)
			admin.pushImage("delrepo/app", "v1", "second, private")
			e.poll()
			if r := reader.stale("GET", "/v2/delrepo/app/manifests/v1", nil); r.Status == http.StatusOK {
				t.Fatalf("a token granted on the deleted public repository reads its private namesake: %s", r)
			}
		})

		t.Run("made private: anonymous tokens stop", func(t *testing.T) {
			e.createOrg("vis")
			admin.pushImage("vis/app", "v1", "public for a while")
			e.mustAPI(http.StatusOK, "POST", "/api/v1/repository/vis/app/changevisibility", map[string]any{"visibility": "public"})
			anon := e.anonymous()
			must(t, "anonymous login", anon.login("repository:vis/app:pull"), http.StatusOK)
			must(t, "anonymous token", anon.stale("GET", "/v2/vis/app/tags/list", nil), http.StatusOK)
			e.mustAPI(http.StatusOK, "POST", "/api/v1/repository/vis/app/changevisibility", map[string]any{"visibility": "private"})
			e.poll()
			mustErr(t, "the anonymous token", anon.stale("GET", "/v2/vis/app/tags/list", nil), http.StatusUnauthorized, "UNAUTHORIZED")
		})
	})
}

// TestOrganizationRenameRenamesRobots: renaming an organization renames
// its robots in the same transaction (Quay's behaviour); the old name's
// robot tokens stop, and a new organization taking the old name starts
// clean.
func TestOrganizationRenameRenamesRobots(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		e.createOrg("acme")
		token := e.createRobot("acme", "builder")
		robot := e.as("acme+builder", token)
		e.joinTeam("acme", "builders", "creator", "acme+builder")
		robot.pushImage("acme/app", "v1", "before the rename")

		e.mustAPI(http.StatusOK, "PUT", "/api/v1/superuser/organizations/acme", map[string]any{"name": "acme2"})
		e.poll()

		raw := e.mustAPI(http.StatusOK, "GET", "/api/v1/organization/acme2/robots/builder", nil)
		if got := jsonField(t, raw, "name"); got != "acme2+builder" {
			t.Fatalf("renamed robot is %q, want acme2+builder", got)
		}
		if got := jsonField(t, raw, "token"); got != token {
			t.Fatalf("the renamed robot's token changed")
		}
		mustErr(t, "the old robot token on acme2/app", robot.stale("GET", "/v2/acme2/app/manifests/v1", nil), http.StatusUnauthorized, "UNAUTHORIZED")
		mustErr(t, "acme+builder logs in", robot.login("repository:acme2/app:pull"), http.StatusUnauthorized, "UNAUTHORIZED")
		renamed := e.as("acme2+builder", token)
		must(t, "acme2+builder pulls", renamed.do("GET", "/v2/acme2/app/manifests/v1", nil), http.StatusOK)

		// The old name is free for a new organization, whose robot of the
		// same short name is a different account.
		e.mustAPI(http.StatusCreated, "POST", "/api/v1/organization/", map[string]any{"name": "acme", "email": "new-acme@example.org"})
		fresh := e.createRobot("acme", "builder")
		if fresh == token {
			t.Fatal("the new acme+builder got the old robot's token")
		}
		if r := robot.stale("POST", "/v2/acme/new/blobs/uploads/", nil); r.Status/100 == 2 {
			t.Fatalf("the old robot's token pushes into the new acme: %s", r)
		}
		e.mustAPI(http.StatusNoContent, "DELETE", "/api/v1/organization/acme2/robots/builder", nil)
		if status, _ := e.api(e.admin, "GET", "/api/v1/organization/acme2/robots/builder", nil); status != http.StatusNotFound {
			t.Fatalf("the deleted robot answers %d", status)
		}
	})
}
