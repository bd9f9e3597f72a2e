package api_test

import (
	"net/http"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

func TestBootstrapAndPrincipals(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		pw := e.createUser(admin, "alice")
		mustStatus(t, admin.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
		clientID := e.createApp(admin, "acme")
		alice := e.login("alice", pw)
		tok := e.mintToken(alice, clientID, "user:read")
		r := tok.do("GET", "/api/v1/user/", nil)
		mustStatus(t, r, http.StatusOK)
		if r.JSON(t)["username"] != "alice" {
			t.Fatalf("who am i: %s", r.Body)
		}
		mustStatus(t, tok.do("GET", "/api/v1/superuser/users/", nil), http.StatusForbidden)
		mustStatus(t, e.anonymous().do("GET", "/api/v1/superuser/users/", nil), http.StatusUnauthorized)
	})
}
