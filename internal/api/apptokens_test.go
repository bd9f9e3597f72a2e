package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// kindsOf returns the metadata of the action-log entries of kind, oldest first.
func kindsOf(t *testing.T, store *db.DB, kind string) []wharf.LogEntry {
	t.Helper()
	all, err := store.Logs.ListLogs(t.Context(), wharf.LogQuery{Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []wharf.LogEntry
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Kind == kind {
			out = append(out, all[i])
		}
	}
	return out
}

// TestAppTokenAPI: spec §9 — the view, the code shown once (wharf keeps
// only its hash), the caller's own tokens only, ?expiring, the log kinds,
// and validation after access.
func TestAppTokenAPI(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, func(c *config.Config) { c.AppSpecificTokenExpiration = 30 * 24 * time.Hour })
		admin := e.bootstrap()
		alice := e.login("alice", e.createUser(admin, "alice"))
		bob := e.login("bob", e.createUser(admin, "bob"))

		r := alice.do("POST", "/api/v1/user/apptoken", map[string]any{"title": "ci <b>pipeline</b>"})
		mustStatus(t, r, http.StatusOK)
		tok := r.JSON(t)["token"].(map[string]any)
		code, _ := tok["token_code"].(string)
		if !regexp.MustCompile(`^[A-Z0-9]{120}$`).MatchString(code) {
			t.Errorf("token_code %q, want 120 of [A-Z0-9]", code)
		}
		if tok["title"] != "ci <b>pipeline</b>" || tok["last_accessed"] != nil || tok["expiration"] == nil || tok["created"] == nil {
			t.Errorf("created view: %s", r.Body)
		}
		exp, err := time.Parse("Mon, 02 Jan 2006 15:04:05 -0700", tok["expiration"].(string))
		if err != nil || exp.Sub(time.Now()) < 29*24*time.Hour || exp.Sub(time.Now()) > 30*24*time.Hour {
			t.Errorf("expiration %v (%v), want in 30 days", tok["expiration"], err)
		}
		id := tok["uuid"].(string)

		// Listed and read without the code.
		r = alice.do("GET", "/api/v1/user/apptoken", nil)
		mustStatus(t, r, http.StatusOK)
		if strings.Contains(string(r.Body), code) || !strings.Contains(string(r.Body), id) || r.JSON(t)["only_expiring"] != nil {
			t.Errorf("list: %s", r.Body)
		}
		r = alice.do("GET", "/api/v1/user/apptoken/"+id, nil)
		mustStatus(t, r, http.StatusOK)
		if strings.Contains(string(r.Body), code) {
			t.Errorf("single GET shows the code: %s", r.Body)
		}
		// Not "expiring soon": that is the last tenth of the 30 days.
		r = alice.do("GET", "/api/v1/user/apptoken?expiring=True", nil)
		mustStatus(t, r, http.StatusOK)
		if body := r.JSON(t); len(body["tokens"].([]any)) != 0 || body["only_expiring"] != true {
			t.Errorf("expiring: %s", r.Body)
		}
		soon := &wharf.AppToken{UUID: wharf.NewUUID(), AccountID: accountID(t, store, "alice"), Title: "soon",
			Name: strings.Repeat("S", 60), SecretHash: make([]byte, 32), ExpiresAt: time.Now().Add(24 * time.Hour)}
		if err := store.Accounts.CreateAppToken(t.Context(), soon); err != nil {
			t.Fatal(err)
		}
		r = alice.do("GET", "/api/v1/user/apptoken?expiring=true", nil)
		if toks := r.JSON(t)["tokens"].([]any); len(toks) != 1 || toks[0].(map[string]any)["uuid"] != soon.UUID {
			t.Errorf("expiring: %s, want only %s", r.Body, soon.UUID)
		}

		// Bob cannot see, read or revoke alice's token: 404, nothing changes.
		mustStatus(t, bob.do("GET", "/api/v1/user/apptoken/"+id, nil), http.StatusNotFound)
		mustStatus(t, bob.do("DELETE", "/api/v1/user/apptoken/"+id, nil), http.StatusNotFound)
		if r := bob.do("GET", "/api/v1/user/apptoken", nil); strings.Contains(string(r.Body), id) {
			t.Errorf("bob lists alice's token: %s", r.Body)
		}
		mustStatus(t, alice.do("GET", "/api/v1/user/apptoken/"+id, nil), http.StatusOK)
		mustStatus(t, admin.do("GET", "/api/v1/user/apptoken/"+id, nil), http.StatusNotFound)

		// Bad bodies, after access.
		for name, body := range map[string]any{"no title": map[string]any{}, "title not a string": map[string]any{"title": 5},
			"title too long": map[string]any{"title": strings.Repeat("x", 256)}, "NUL in title": map[string]any{"title": "a\x00b"}} {
			if r := alice.do("POST", "/api/v1/user/apptoken", body); r.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %s, want 400", name, r.Status, r.Body)
			}
		}

		// Revoked; the log has both kinds with Quay's metadata.
		mustStatus(t, alice.do("DELETE", "/api/v1/user/apptoken/"+id, nil), http.StatusNoContent)
		mustStatus(t, alice.do("GET", "/api/v1/user/apptoken/"+id, nil), http.StatusNotFound)
		mustStatus(t, alice.do("DELETE", "/api/v1/user/apptoken/"+id, nil), http.StatusNotFound)
		for _, kind := range []string{"create_app_specific_token", "revoke_app_specific_token"} {
			got := kindsOf(t, store, kind)
			if len(got) != 1 || got[0].Metadata["app_specific_token"] != id || got[0].Metadata["app_specific_token_title"] != "ci <b>pipeline</b>" ||
				got[0].Account.Name != "alice" || got[0].Performer.Name != "alice" {
				t.Errorf("%s entries: %+v", kind, got)
			}
		}
	})
}

func accountID(t *testing.T, store *db.DB, name string) int64 {
	t.Helper()
	a, err := store.Accounts.AccountByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// TestMessagesAPI: spec §8 — content stored and returned exactly as given
// (untrusted: never rendered or rewritten), media_type and severity from
// Quay's enums, a bounded size, and the withdraw by uuid.
func TestMessagesAPI(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		hostile := "# Title\n<script>alert(1)</script>\n[x](javascript:alert(1)) \u202e ✓"
		post := func(msg map[string]any) *response {
			return admin.do("POST", "/api/v1/messages", map[string]any{"message": msg})
		}
		r := post(map[string]any{"content": hostile, "media_type": "text/markdown", "severity": "warning"})
		mustStatus(t, r, http.StatusCreated)
		if len(r.Body) != 0 {
			t.Errorf("create answered %q, want an empty body", r.Body)
		}
		r = e.anonymous().do("GET", "/api/v1/messages", nil)
		mustStatus(t, r, http.StatusOK)
		list := r.JSON(t)["messages"].([]any)
		if len(list) != 1 {
			t.Fatalf("messages: %s", r.Body)
		}
		m := list[0].(map[string]any)
		if m["content"] != hostile || m["media_type"] != "text/markdown" || m["severity"] != "warning" || len(m) != 4 {
			t.Errorf("message view %v, want the content exactly as posted", m)
		}

		for name, body := range map[string]any{
			"no message":     map[string]any{},
			"message null":   map[string]any{"message": nil},
			"no content":     map[string]any{"message": map[string]any{"media_type": "text/plain", "severity": "info"}},
			"html":           map[string]any{"message": map[string]any{"content": "x", "media_type": "text/html", "severity": "info"}},
			"severity":       map[string]any{"message": map[string]any{"content": "x", "media_type": "text/plain", "severity": "critical"}},
			"too long":       map[string]any{"message": map[string]any{"content": strings.Repeat("x", 64<<10+1), "media_type": "text/plain", "severity": "info"}},
			"NUL in content": map[string]any{"message": map[string]any{"content": "a\x00b", "media_type": "text/plain", "severity": "info"}},
		} {
			if r := admin.do("POST", "/api/v1/messages", body); r.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %s, want 400", name, r.Status, r.Body)
			}
		}
		// Empty content is what quay_message sends when only a severity is given.
		mustStatus(t, post(map[string]any{"content": "", "media_type": "text/plain", "severity": "info"}), http.StatusCreated)

		id := m["uuid"].(string)
		mustStatus(t, admin.do("DELETE", "/api/v1/message/"+wharf.NewUUID(), nil), http.StatusNotFound)
		mustStatus(t, admin.do("DELETE", "/api/v1/message/"+id, nil), http.StatusNoContent)
		mustStatus(t, admin.do("DELETE", "/api/v1/message/"+id, nil), http.StatusNotFound)
		r = e.anonymous().do("GET", "/api/v1/messages", nil)
		if strings.Contains(string(r.Body), id) || len(r.JSON(t)["messages"].([]any)) != 1 {
			t.Errorf("after delete: %s", r.Body)
		}
		created, deleted := kindsOf(t, store, "create_global_message"), kindsOf(t, store, "delete_global_message")
		if len(created) != 2 || len(deleted) != 1 || deleted[0].Metadata["message_uuid"] != id || deleted[0].Performer.Name != "admin" ||
			deleted[0].Account.ID != 0 {
			t.Errorf("log entries: created %+v, deleted %+v", created, deleted)
		}
	})
}
