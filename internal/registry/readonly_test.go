package registry_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
)

// TestReadOnlyMode replays the report: with REGISTRY_STATE readonly the
// API refused writes but /v2 accepted uploads and /user/initialize still
// made the first user. Every write on either face is now refused with 503
// in that face's format; reads and logins pass.
func TestReadOnlyMode(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		blobs, err := filesystem.New(t.TempDir(), filesystem.Options{})
		if err != nil {
			t.Fatal(err)
		}
		readonly := func(c *config.Config) { c.RegistryState = "readonly" }
		ro := serve(t, store, blobs, readonly)

		// An empty instance in read-only mode gets no first user.
		status, body := ro.api("", "POST", "/api/v1/user/initialize", map[string]any{
			"username": "admin", "password": "adminpass1", "email": "admin@example.com", "access_token": true})
		mustUnavailableJSON(t, "initialize", status, body)
		if n, err := store.Accounts.CountAccounts(context.Background()); err != nil || n != 0 {
			t.Fatalf("accounts after a read-only initialize: %d, %v", n, err)
		}

		// Set up through a writable process over the same database.
		rw := serve(t, store, blobs, nil)
		status, body = rw.api("", "POST", "/api/v1/user/initialize", map[string]any{
			"username": "admin", "password": "adminpass1", "email": "admin@example.com", "access_token": true})
		if status != http.StatusOK {
			t.Fatalf("initialize: %d %s", status, body)
		}
		rw.admin = jsonField(t, body, "access_token")
		rw.createOrg("acme")
		manifest, digest := rw.as("admin", "adminpass1").pushImage("acme/app", "v1", "before read-only")
		ro.admin = rw.admin

		admin := ro.as("admin", "adminpass1")
		t.Run("reads and logins pass", func(t *testing.T) {
			checkManifest(t, admin, "acme/app", "v1", manifest, mtOCIManifest, digest)
			must(t, "tags", admin.do("GET", "/v2/acme/app/tags/list", nil), http.StatusOK)
			must(t, "login for a push", admin.login("repository:acme/app:pull,push"), http.StatusOK)
			if status, body := ro.api(ro.admin, "GET", "/api/v1/superuser/users/", nil); status != http.StatusOK {
				t.Fatalf("list users: %d %s", status, body)
			}
		})

		layer := []byte("a layer pushed while read-only")
		d := sha256Of(layer)
		for _, tc := range []struct {
			name, method, path string
			body               []byte
			hdr                []string
		}{
			{"start an upload", "POST", "/v2/acme/app/blobs/uploads/", nil, nil},
			{"monolithic upload", "POST", "/v2/acme/app/blobs/uploads/?digest=" + d, layer, nil},
			{"chunk", "PATCH", "/v2/acme/app/blobs/uploads/0000", layer, nil},
			{"finish an upload", "PUT", "/v2/acme/app/blobs/uploads/0000?digest=" + d, layer, nil},
			{"mount", "POST", "/v2/acme/app/blobs/uploads/?mount=" + d + "&from=acme/other", nil, nil},
			{"manifest", "PUT", "/v2/acme/app/manifests/v2", manifest, []string{"Content-Type", mtOCIManifest}},
			{"delete a tag", "DELETE", "/v2/acme/app/manifests/v1", nil, nil},
			{"delete a blob", "DELETE", "/v2/acme/app/blobs/" + d, nil, nil},
		} {
			t.Run("/v2: "+tc.name, func(t *testing.T) {
				mustErr(t, tc.name, admin.do(tc.method, tc.path, tc.body, tc.hdr...), http.StatusServiceUnavailable, "UNAVAILABLE")
			})
		}
		for _, tc := range []struct {
			name, method, path string
			body               any
		}{
			{"create an organization", "POST", "/api/v1/organization/", map[string]any{"name": "other", "email": "o@example.org"}},
			{"create a user", "POST", "/api/v1/superuser/users/", map[string]any{"username": "carol", "email": "c@example.org"}},
			{"change a repository", "POST", "/api/v1/repository/acme/app/changevisibility", map[string]any{"visibility": "public"}},
			{"delete a repository", "DELETE", "/api/v1/repository/acme/app", nil},
			{"publish a service key", "PUT", "/keys/services/clair/keys/k1", map[string]any{}},
			{"upload a build context", "PUT", "/userfiles/0123", "context"},
		} {
			t.Run("API: "+tc.name, func(t *testing.T) {
				status, body := ro.api(ro.admin, tc.method, tc.path, tc.body)
				mustUnavailableJSON(t, tc.name, status, body)
			})
		}
		checkManifest(t, admin, "acme/app", "v1", manifest, mtOCIManifest, digest)
	})
}

// mustUnavailableJSON checks a 503 in Quay's error JSON.
func mustUnavailableJSON(t *testing.T, what string, status int, body []byte) {
	t.Helper()
	var e struct {
		Status    int    `json:"status"`
		ErrorType string `json:"error_type"`
	}
	if status != http.StatusServiceUnavailable || json.Unmarshal(body, &e) != nil || e.Status != http.StatusServiceUnavailable {
		t.Fatalf("%s: %d %s, want 503 in Quay's error JSON", what, status, body)
	}
}
