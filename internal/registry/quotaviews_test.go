package registry_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestQuotaViewsShowStoredBytes: after real pushes, the usage the API shows
// (quota_report.quota_bytes in the organization, superuser and own-user
// views) is the namespace's unique blob bytes, and the registry size is
// every stored blob counted once.
func TestQuotaViewsShowStoredBytes(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		e.createOrg("acme")
		admin := e.as("admin", "adminpass1")
		// The same image in two namespaces, and a second one in acme.
		pushed := func(seed string) int64 {
			return int64(len(`{"architecture":"amd64","os":"linux","seed":"`+seed+`"}`) + len("layer of "+seed))
		}
		admin.pushImage("acme/app", "v1", "one")
		admin.pushImage("acme/app", "v2", "two")
		admin.pushImage("admin/app", "v1", "one")
		acmeBytes, adminBytes := pushed("one")+pushed("two"), pushed("one")

		e.mustAPI(http.StatusCreated, "POST", "/api/v1/organization/acme/quota", map[string]any{"limit_bytes": 10 << 20})
		report := func(path string, pick func(raw []byte) map[string]any) map[string]any {
			t.Helper()
			return pick(e.mustAPI(http.StatusOK, "GET", path, nil))["quota_report"].(map[string]any)
		}
		object := func(raw []byte) map[string]any {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		listed := func(key, name string) func([]byte) map[string]any {
			return func(raw []byte) map[string]any {
				for _, v := range object(raw)[key].([]any) {
					if m := v.(map[string]any); m["name"] == name {
						return m
					}
				}
				t.Fatalf("%s not in %s", name, raw)
				return nil
			}
		}
		for _, c := range []struct {
			view       string
			rep        map[string]any
			want       int64
			configured any
		}{
			{"organization acme", report("/api/v1/organization/acme", object), acmeBytes, float64(10 << 20)},
			{"superuser org list", report("/api/v1/superuser/organizations/", listed("organizations", "acme")), acmeBytes, float64(10 << 20)},
			{"superuser user", report("/api/v1/superuser/users/admin", object), adminBytes, nil},
			{"superuser user list", report("/api/v1/superuser/users/", listed("users", "admin")), adminBytes, nil},
			{"own user", report("/api/v1/user/", object), adminBytes, nil},
		} {
			if c.rep["quota_bytes"] != float64(c.want) || c.rep["configured_quota"] != c.configured {
				t.Errorf("%s: quota_report %v, want quota_bytes %d, configured_quota %v", c.view, c.rep, c.want, c.configured)
			}
		}
		for name, want := range map[string]int64{"acme": acmeBytes, "admin": adminBytes} {
			a, err := store.Accounts.AccountByName(t.Context(), name)
			if err != nil {
				t.Fatal(err)
			}
			if used, err := store.Usage.NamespaceUsage(t.Context(), a.ID); err != nil || used != want {
				t.Errorf("stored usage of %s: %d, %v; want %d", name, used, err, want)
			}
		}

		// Registry size: queued by the API, run as the job runs it.
		e.mustAPI(http.StatusCreated, "POST", "/api/v1/superuser/registrysize/", map[string]any{"namespace": "acme"})
		e.mustAPI(http.StatusAccepted, "POST", "/api/v1/superuser/registrysize/", nil)
		if ran, err := store.Usage.CalculateRegistrySize(t.Context()); err != nil || !ran {
			t.Fatalf("calculation: %v %v", ran, err)
		}
		size := object(e.mustAPI(http.StatusOK, "GET", "/api/v1/superuser/registrysize/", nil))
		if size["size_bytes"] != float64(acmeBytes) || size["queued"] != false || size["running"] != false || size["last_ran"] == nil {
			t.Errorf("registry size %v, want size_bytes %d after a run", size, acmeBytes)
		}
	})
}
