package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// exportFixture is an instance with organization acme (alice administers
// it; carol is a member of its team readers and reads acme/app), a plain
// user bob who owns organization other and its private repository
// other/secret, the read-only superuser auditor and the superuser admin.
type exportFixture struct {
	e                                *testEnv
	admin, alice, bob, carol, audit  *client
	adminSession, aliceRepoReadToken *client
}

func newExportFixture(t *testing.T, store *db.DB, tweak func(*config.Config)) *exportFixture {
	e := newEnv(t, store, tweak)
	f := &exportFixture{e: e, admin: e.bootstrap()}
	login := func(name string) *client { return e.login(name, e.createUser(f.admin, name)) }
	f.alice, f.bob, f.carol, f.audit = login("alice"), login("bob"), login("carol"), login("auditor")
	f.adminSession = e.login("admin", accessAdminPassword)
	mustStatus(t, f.alice.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
	mustStatus(t, f.alice.do("POST", "/api/v1/repository", map[string]any{"namespace": "acme", "repository": "app",
		"visibility": "private", "description": ""}), http.StatusCreated)
	mustStatus(t, f.alice.do("PUT", "/api/v1/organization/acme/team/readers", map[string]any{"role": "member"}), http.StatusOK)
	mustStatus(t, f.alice.do("PUT", "/api/v1/organization/acme/team/readers/members/carol", map[string]any{}), http.StatusOK)
	mustStatus(t, f.alice.do("PUT", "/api/v1/repository/acme/app/permissions/user/carol", map[string]any{"role": "read"}), http.StatusOK)
	mustStatus(t, f.bob.do("POST", "/api/v1/organization/", map[string]any{"name": "other"}), http.StatusCreated)
	mustStatus(t, f.bob.do("POST", "/api/v1/repository", map[string]any{"namespace": "other", "repository": "secret",
		"visibility": "private", "description": ""}), http.StatusCreated)
	f.aliceRepoReadToken = e.mintToken(f.alice, e.createApp(f.alice, "acme"), "repo:read")
	return f
}

// exportEntries returns the export_logs_* entries of the last hour, by
// namespace and kind.
func exportEntries(t *testing.T, store *db.DB) map[string]map[string]int {
	t.Helper()
	entries, err := store.Logs.ListLogs(t.Context(), wharf.LogQuery{Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour), Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int{}
	for _, e := range entries {
		if strings.HasPrefix(e.Kind, "export_logs_") {
			if out[e.Account.Name] == nil {
				out[e.Account.Name] = map[string]int{}
			}
			out[e.Account.Name][e.Kind]++
		}
	}
	return out
}

// TestLogExportAccess: spec §7.1 and §15 for the three routes, caller by
// caller, and for another organization's or repository's name; a refused
// call queues nothing and writes nothing (wharf does not let strangers
// write export_logs_failure into an organization's logs, as Quay does),
// every accepted one queues one export of the right namespace and
// repository and logs export_logs_success there.
func TestLogExportAccess(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newExportFixture(t, store, nil)
		anonymous := f.e.anonymous()
		const org, user, repo = "/api/v1/organization/acme/exportlogs", "/api/v1/user/exportlogs", "/api/v1/repository/acme/app/exportlogs"
		cells := []struct {
			name, path string
			c          *client
			want       int
			namespace  string // of an accepted export
		}{
			{"anonymous", org, anonymous, 401, ""},
			{"anonymous", user, anonymous, 401, ""},
			{"anonymous", repo, anonymous, 401, ""},
			{"plain user", org, f.bob, 403, ""},
			{"plain user", user, f.bob, 200, "bob"},
			{"plain user", repo, f.bob, 404, ""},
			{"org member and repo reader", org, f.carol, 403, ""},
			{"org member and repo reader", repo, f.carol, 403, ""},
			{"org admin", org, f.alice, 200, "acme"},
			{"org admin", user, f.alice, 200, "alice"},
			{"org admin", repo, f.alice, 200, "acme"},
			{"read-only superuser", org, f.audit, 200, "acme"},
			{"read-only superuser", user, f.audit, 200, "auditor"},
			{"read-only superuser", repo, f.audit, 403, ""},
			// Quay admits superusers only with FEATURE_SUPERUSERS_FULL_ACCESS, which wharf has not.
			{"superuser", org, f.adminSession, 403, ""},
			{"superuser", user, f.adminSession, 200, "admin"},
			{"superuser", repo, f.adminSession, 404, ""},
			{"token without org:admin", org, f.aliceRepoReadToken, 403, ""},
			{"token without user:admin", user, f.aliceRepoReadToken, 403, ""},
			{"token without repo:admin", repo, f.aliceRepoReadToken, 403, ""},
			{"another organization", "/api/v1/organization/other/exportlogs", f.alice, 403, ""},
			{"another organization's private repository", "/api/v1/repository/other/secret/exportlogs", f.alice, 404, ""},
			{"no such organization", "/api/v1/organization/nosuch/exportlogs", f.alice, 404, ""},
		}
		accepted := map[string]int{}
		for _, c := range cells {
			t.Run(c.name+" "+c.path, func(t *testing.T) {
				// A bad body too: access is decided before it is read.
				body := any(map[string]any{"callback_email": "ops@example.com"})
				if c.want != http.StatusOK {
					body = map[string]any{"callback_url": "ftp://nowhere"}
				}
				r := c.c.do("POST", c.path, body)
				mustStatus(t, r, c.want)
				if c.want != http.StatusOK {
					return
				}
				accepted[c.namespace]++
				id, _ := r.JSON(t)["export_id"].(string)
				x, err := store.LogExports.LogExportByUUID(t.Context(), id)
				if err != nil {
					t.Fatalf("export %q: %v", id, err)
				}
				wantRepo := ""
				if c.path == repo {
					wantRepo = "app"
				}
				if x.NamespaceName != c.namespace || x.RepositoryName != wantRepo || x.CallbackEmail != "ops@example.com" || x.Delivery != wharf.DeliveryPending {
					t.Errorf("queued %+v, want namespace %s, repository %q", x, c.namespace, wantRepo)
				}
			})
		}
		got := exportEntries(t, store)
		for ns, n := range accepted {
			if got[ns]["export_logs_success"] != n {
				t.Errorf("%s: %d export_logs_success, want %d", ns, got[ns]["export_logs_success"], n)
			}
		}
		for ns, kinds := range got {
			if kinds["export_logs_failure"] != 0 || accepted[ns] == 0 {
				t.Errorf("%s: export entries %v, want only the accepted exports' successes", ns, kinds)
			}
		}
	})
}

// TestLogExportValidation: after access, a bad callback URL or e-mail or
// window is 400 with Quay's message and logged as export_logs_failure
// with Quay's metadata; a body that is not the schema's is 400 before any
// of that (Quay's validate_json_request), logged nowhere. Nothing is queued.
func TestLogExportValidation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newExportFixture(t, store, nil)
		const path = "/api/v1/organization/acme/exportlogs"
		for _, c := range []struct {
			name, query string
			body        any
			detail      string
			logged      bool
		}{
			{"ftp scheme", "", map[string]any{"callback_url": "ftp://example.com/x"}, "Invalid callback URL", true},
			{"credentials", "", map[string]any{"callback_url": "https://user:secret@example.com/"}, "Invalid callback URL", true},
			{"no scheme", "", map[string]any{"callback_url": "example.com/hook"}, "Invalid callback URL", true},
			{"e-mail without @", "", map[string]any{"callback_email": "ops.example.com"}, "Invalid callback e-mail", true},
			{"unparsable starttime", "?starttime=yesterday", map[string]any{}, "Invalid starttime", true},
			{"end before start", "?starttime=02/01/2025&endtime=01/01/2025", map[string]any{}, "starttime must be before endtime", true},
			{"empty body", "", "", "Missing JSON body", false},
			{"callback_url not a string", "", `{"callback_url": 5}`, "Invalid value for field 'callback_url'", false},
		} {
			t.Run(c.name, func(t *testing.T) {
				wantError(t, f.alice.do("POST", path+c.query, c.body), http.StatusBadRequest, c.detail)
			})
		}
		entries, err := store.Logs.ListLogs(t.Context(), wharf.LogQuery{Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour),
			AccountID: mustAccount(t, store, "acme").ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var failures []map[string]any
		for _, e := range entries {
			switch e.Kind {
			case "export_logs_failure":
				failures = append(failures, e.Metadata)
			case "export_logs_success":
				t.Errorf("an invalid request was queued: %v", e.Metadata)
			}
		}
		if len(failures) != 6 {
			t.Fatalf("%d export_logs_failure entries, want 6: %v", len(failures), failures)
		}
		// Newest first: the window failures, then the e-mail, then the URLs.
		if m := failures[2]; m["error"] != "Invalid callback e-mail" || m["email"] != "ops.example.com" || m["url"] != nil || m["date/time"] == nil {
			t.Errorf("e-mail failure metadata %v", m)
		}
		if _, err := store.LogExports.NextLogExport(t.Context(), time.Now().Add(time.Hour)); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("an export was queued: %v", err)
		}
	})
}

// callbackRecorder is an httptest callback receiver answering the
// statuses it is given in turn (the last one from then on).
type callbackRecorder struct {
	srv      *httptest.Server
	mu       sync.Mutex
	bodies   []map[string]any
	statuses []int
}

func newCallbackRecorder(t *testing.T, statuses ...int) *callbackRecorder {
	c := &callbackRecorder{statuses: statuses}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Method != http.MethodPost {
			t.Errorf("callback %s: %v", r.Method, err)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.bodies = append(c.bodies, body)
		status := c.statuses[min(len(c.bodies), len(c.statuses))-1]
		w.WriteHeader(status)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *callbackRecorder) calls() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.bodies...)
}

// runExports runs the export job as it runs at offset from now.
func runExports(t *testing.T, e *testEnv, offset time.Duration) {
	t.Helper()
	x := e.app.LogExporter()
	x.Now = func() time.Time { return time.Now().Add(offset) }
	if _, err := x.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestLogExportQueueBound: a namespace may have ten exports waiting for
// their file; the eleventh is 429 and queues nothing, while another
// namespace still queues.
func TestLogExportQueueBound(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newExportFixture(t, store, nil)
		for range 10 {
			mustStatus(t, f.alice.do("POST", "/api/v1/user/exportlogs", map[string]any{}), http.StatusOK)
		}
		r := f.alice.do("POST", "/api/v1/user/exportlogs", map[string]any{})
		if r.Status != http.StatusTooManyRequests || !strings.Contains(string(r.Body), "Too many log exports") {
			t.Fatalf("the eleventh waiting export: %d %s, want 429", r.Status, r.Body)
		}
		mustStatus(t, f.bob.do("POST", "/api/v1/user/exportlogs", map[string]any{}), http.StatusOK)
	})
}
