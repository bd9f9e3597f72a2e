package api_test

import (
	"net/http"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// /api/v1/discovery as app.New assembles it: anonymous, for the configured
// host, internal operations only on request.
func TestDiscoveryServed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		r := e.anonymous().do("GET", "/api/v1/discovery", nil)
		mustStatus(t, r, http.StatusOK)
		doc := r.JSON(t)
		paths, _ := doc["paths"].(map[string]any)
		if doc["swagger"] != "2.0" || doc["host"] != e.cfg.ServerHostname || paths["/api/v1/superuser/users/"] == nil {
			t.Fatalf("swagger %v host %v (want %s), %d paths", doc["swagger"], doc["host"], e.cfg.ServerHostname, len(paths))
		}
		if paths["/api/v1/signin"] != nil {
			t.Error("the internal /api/v1/signin is listed without ?internal")
		}
		r = e.anonymous().do("GET", "/api/v1/discovery?internal=true", nil)
		mustStatus(t, r, http.StatusOK)
		if paths, _ := r.JSON(t)["paths"].(map[string]any); paths["/api/v1/signin"] == nil {
			t.Error("?internal=true does not list /api/v1/signin")
		}
	})
}
