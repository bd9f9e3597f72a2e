package api_test

import (
	"net/http"
	"testing"

	"github.com/wharf-registry/wharf/internal/api"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// Configuration switches that change who may do what.
func TestConfigurationSwitches(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Run("BOOTSTRAP_SECRET guards the first-user bootstrap", func(t *testing.T) {
			e := newEnv(t, dbtest.Open(t, store.Dialect()), func(c *config.Config) { c.BootstrapSecret = "s3cret-bootstrap" })
			body := map[string]any{"username": "admin", "password": "adminpass1", "access_token": true}
			mustStatus(t, e.anonymous().do("POST", "/api/v1/user/initialize", body), http.StatusForbidden)
			mustStatus(t, e.anonymous().do("POST", "/api/v1/user/initialize", body, api.BootstrapSecretHeader, "wrong"), http.StatusForbidden)
			mustStatus(t, e.anonymous().do("POST", "/api/v1/user/initialize", body, api.BootstrapSecretHeader, "s3cret-bootstrap"), http.StatusOK)
		})
		t.Run("REGISTRY_STATE readonly refuses writes with 503", func(t *testing.T) {
			s := dbtest.Open(t, store.Dialect())
			admin := newEnv(t, s, nil).bootstrap()
			ro := newEnv(t, s, func(c *config.Config) { c.RegistryState = "readonly" }).withToken(admin.token)
			r := ro.do("POST", "/api/v1/superuser/users/", map[string]any{"username": "bob"})
			mustStatus(t, r, http.StatusServiceUnavailable)
			if r.JSON(t)["error_type"] != "service_unavailable" {
				t.Fatalf("body %s", r.Body)
			}
			mustStatus(t, ro.do("GET", "/api/v1/superuser/users/", nil), http.StatusOK)
		})
		t.Run("FEATURE_ANONYMOUS_ACCESS false refuses anonymous reads", func(t *testing.T) {
			s := dbtest.Open(t, store.Dialect())
			admin := newEnv(t, s, nil).bootstrap()
			mustStatus(t, admin.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
			closed := newEnv(t, s, func(c *config.Config) { c.FeatureAnonymousAccess = false })
			mustStatus(t, closed.anonymous().do("GET", "/api/v1/organization/acme", nil), http.StatusUnauthorized)
			mustStatus(t, closed.withToken(admin.token).do("GET", "/api/v1/organization/acme", nil), http.StatusOK)
			open := newEnv(t, s, nil)
			mustStatus(t, open.anonymous().do("GET", "/api/v1/organization/acme", nil), http.StatusOK)
		})
	})
}
