package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// logKinds returns the kinds of a log page, newest first.
func logKinds(t *testing.T, r *response) []string {
	t.Helper()
	var out []string
	for _, l := range r.JSON(t)["logs"].([]any) {
		out = append(out, l.(map[string]any)["kind"].(string))
	}
	return out
}

// TestNamespaceLogs: spec §7 — each family lists only its namespace's or
// repository's entries, with the superuser logs' window, paging and
// errors; a repository's logs are its own, not those of an earlier
// repository of the same name; ?performer narrows, an unknown one is 400.
func TestNamespaceLogs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		alicePass := e.createUser(admin, "alice")
		alice := e.login("alice", alicePass)
		bobPass := e.createUser(admin, "bob")
		for _, org := range []string{"acme", "other"} {
			mustStatus(t, alice.do("POST", "/api/v1/organization/", map[string]any{"name": org}), http.StatusCreated)
		}
		ctx := t.Context()
		acct := func(name string) *wharf.Account {
			a, err := store.Accounts.AccountByName(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		as := &wharf.Caller{Account: acct("alice")}
		repos := repositories(store)
		first, err := repos.Create(ctx, as, acct("acme"), "app", wharf.Private, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := repos.SetDescription(ctx, as, first, "the first app"); err != nil {
			t.Fatal(err)
		}
		if err := repos.Delete(ctx, as, first); err != nil {
			t.Fatal(err)
		}
		app, err := repos.Create(ctx, as, acct("acme"), "app", wharf.Private, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := repos.SetVisibility(ctx, &wharf.Caller{Account: acct("admin")}, app, wharf.Public); err != nil {
			t.Fatal(err)
		}
		if _, err := repos.Create(ctx, as, acct("other"), "app", wharf.Private, ""); err != nil {
			t.Fatal(err)
		}

		// The repository: its own two entries, not its predecessor's.
		r := alice.do("GET", "/api/v1/repository/acme/app/logs", nil)
		mustStatus(t, r, http.StatusOK)
		if got := fmt.Sprint(logKinds(t, r)); got != "[change_repo_visibility create_repo]" {
			t.Errorf("acme/app logs %s, want [change_repo_visibility create_repo]", got)
		}
		// The organization: everything filed under it, nothing of "other".
		r = alice.do("GET", "/api/v1/organization/acme/logs", nil)
		mustStatus(t, r, http.StatusOK)
		if got := fmt.Sprint(logKinds(t, r)); got != "[change_repo_visibility create_repo delete_repo set_repo_description create_repo org_create]" {
			t.Errorf("acme logs %s", got)
		}
		r = alice.do("GET", "/api/v1/organization/acme/logs?performer=admin", nil)
		if got := fmt.Sprint(logKinds(t, r)); got != "[change_repo_visibility]" {
			t.Errorf("acme logs by admin %s", got)
		}
		r = alice.do("GET", "/api/v1/organization/acme/aggregatelogs?performer=alice", nil)
		mustStatus(t, r, http.StatusOK)
		counts := map[string]float64{}
		for _, a := range r.JSON(t)["aggregated"].([]any) {
			m := a.(map[string]any)
			counts[m["kind"].(string)] += m["count"].(float64)
		}
		if counts["create_repo"] != 2 || counts["change_repo_visibility"] != 0 {
			t.Errorf("acme counts by alice %v", counts)
		}
		// The user's own namespace only.
		r = alice.do("GET", "/api/v1/user/logs", nil)
		mustStatus(t, r, http.StatusOK)
		for _, k := range logKinds(t, r) {
			if k == "create_repo" || k == "change_repo_visibility" {
				t.Errorf("alice's own logs list acme's %s", k)
			}
		}

		// Errors after access: a bad performer, window or page token.
		for _, path := range []string{
			"/api/v1/organization/acme/logs?performer=nobody",
			"/api/v1/organization/acme/aggregatelogs?performer=nobody",
			"/api/v1/user/logs?performer=nobody",
			"/api/v1/organization/acme/logs?starttime=yesterday",
			"/api/v1/repository/acme/app/logs?starttime=02/01/2025&endtime=01/01/2025",
			"/api/v1/repository/acme/app/aggregatelogs?starttime=01/01/2025&endtime=03/01/2025",
			"/api/v1/repository/acme/app/logs?next_page=forged",
		} {
			if r := alice.do("GET", path, nil); r.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %s, want 400", path, r.Status, r.Body)
			}
		}
		// Access comes first: bob, a stranger, learns nothing, bad
		// parameters or not; a superuser without read-only rights neither.
		bob := e.login("bob", bobPass)
		for path, want := range map[string]int{
			"/api/v1/organization/acme/logs?performer=nobody":         http.StatusForbidden,
			"/api/v1/organization/acme/aggregatelogs?starttime=bad":   http.StatusForbidden,
			"/api/v1/repository/acme/app/logs?next_page=forged":       http.StatusForbidden, // public: visible, not his
			"/api/v1/repository/other/app/aggregatelogs?starttime=no": http.StatusNotFound,  // private: not there for him
			"/api/v1/organization/nosuchorg/logs":                     http.StatusNotFound,
		} {
			if r := bob.do("GET", path, nil); r.Status != want {
				t.Errorf("bob %s: %d %s, want %d", path, r.Status, r.Body, want)
			}
		}
		if r := e.login("admin", "adminpass1").do("GET", "/api/v1/organization/acme/logs", nil); r.Status != http.StatusForbidden {
			t.Errorf("superuser on acme's logs: %d, want 403 (Quay without FEATURE_SUPERUSERS_FULL_ACCESS)", r.Status)
		}
	})
}

// TestNamespaceLogPaging: 20 a page, newest first, next_page absent on
// the last page, and a page token of one namespace's logs is only a
// position: it shows nothing of another namespace.
func TestNamespaceLogPaging(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		mustStatus(t, admin.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
		acme, err := store.Accounts.AccountByName(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		base := time.Now().Add(-time.Hour)
		var entries []wharf.LogEntry
		for i := range 45 {
			entries = append(entries, wharf.LogEntry{Kind: "push_repo", Account: wharf.PartyOf(acme), Time: base.Add(time.Duration(i) * time.Second),
				Metadata: map[string]any{"n": i}})
		}
		if err := store.Logs.AppendLogs(t.Context(), entries...); err != nil {
			t.Fatal(err)
		}
		var seen []float64
		next := ""
		for page := 0; page < 5; page++ {
			path := "/api/v1/organization/acme/logs"
			if next != "" {
				path += "?next_page=" + url.QueryEscape(next)
			}
			r := admin.do("GET", path, nil)
			mustStatus(t, r, http.StatusOK)
			body := r.JSON(t)
			for _, l := range body["logs"].([]any) {
				if n, ok := l.(map[string]any)["metadata"].(map[string]any)["n"].(float64); ok {
					seen = append(seen, n)
				}
			}
			next, _ = body["next_page"].(string)
			if next == "" {
				break
			}
		}
		if len(seen) != 45 || seen[0] != 44 || seen[44] != 0 {
			t.Errorf("paged %d entries %v, want 45 newest first", len(seen), seen)
		}
	})
}

// TestRepositoryLogsOfTagChanges: what the tag API and a push change in a
// repository is listed in that repository's logs (each writer names the
// repository its entry is about).
func TestRepositoryLogsOfTagChanges(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		repo, err := repositories(store).Create(t.Context(), &wharf.Caller{}, mustAccount(t, store, "admin"), "tagged", wharf.Private, "")
		if err != nil {
			t.Fatal(err)
		}
		const base = "/api/v1/repository/admin/tagged"
		m1 := storeImage(t, store, repo, "latest", "one", 10)
		storeImage(t, store, repo, "", "two", 7)
		mustStatus(t, admin.do("PUT", base+"/tag/latest", map[string]any{"expiration": time.Now().Add(48 * time.Hour).Unix()}), http.StatusCreated)
		mustStatus(t, admin.do("PUT", base+"/tag/copy", map[string]any{"manifest_digest": m1}), http.StatusCreated)
		mustStatus(t, admin.do("DELETE", base+"/tag/copy", nil), http.StatusNoContent)
		r := admin.do("GET", base+"/logs", nil)
		mustStatus(t, r, http.StatusOK)
		got := map[string]bool{}
		for _, k := range logKinds(t, r) {
			got[k] = true
		}
		for _, want := range []string{"create_repo", "push_repo", "create_tag", "change_tag_expiration", "delete_tag"} {
			if !got[want] {
				t.Errorf("repository logs %v lack %s", logKinds(t, r), want)
			}
		}
	})
}
