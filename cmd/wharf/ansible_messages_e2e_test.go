package main

import (
	"net/http"
	"strings"
	"testing"
)

// quay_message and quay_docker_token of TestAnsibleModules: each task is
// replayed call by call as the module makes it (quay-clients.md §3), and
// every second run must change nothing.

// messageTask is one quay_message run: select the messages whose content
// contains search (or equals content when search is ""), then make the
// state present with the fields given, or absent. It reports whether the
// module would say "changed".
func messageTask(t *testing.T, c *client, content, search, severity, mediaType string, present bool) bool {
	t.Helper()
	r := c.call("GET", "messages", nil)
	expect(t, r, 200)
	var matches []map[string]any
	for _, m := range objects(t, r.object(t)["messages"], "messages") {
		got, _ := m["content"].(string)
		if (search != "" && strings.Contains(got, search)) || (search == "" && got == content) {
			matches = append(matches, m)
		}
	}
	deleteAll := func() {
		for _, m := range matches {
			expect(t, c.call("DELETE", "message/"+m["uuid"].(string), nil), append(okDelete, 400, 404)...)
		}
	}
	if !present {
		deleteAll()
		return len(matches) > 0
	}
	want := map[string]any{"content": content, "severity": severity, "media_type": mediaType}
	for _, m := range matches {
		if len(differences(m, want)) == 0 {
			return false
		}
	}
	deleteAll()
	r = c.call("POST", "messages", map[string]any{"message": want})
	expect(t, r, okCreate...)
	if len(r.Body) != 0 {
		t.Errorf("POST messages answered %q: quay_message json.loads any non-empty body (quay-clients.md §1)", r.Body)
	}
	return true
}

// quayMessage replays quay_message: publish, re-run, change the severity
// (delete + re-create, the API has no update), re-run, remove, re-run.
func (m *modules) quayMessage(t *testing.T) {
	content := "# Maintenance (" + m.mode + ")\n\nRegistry **read-only** Sunday <06:00 UTC>."
	steps := []struct {
		name              string
		search, severity  string
		present, changing bool
	}{
		{"create", "", "info", true, true},
		{"create again", "", "info", true, false},
		{"raise severity", "read-only** Sunday", "warning", true, true},
		{"raise severity again", "read-only** Sunday", "warning", true, false},
		{"absent", "", "", false, true},
		{"absent again", "", "", false, false},
	}
	for _, s := range steps {
		m.run(t, func(c *client) {
			if changed := messageTask(t, c, content, s.search, s.severity, "text/markdown", s.present); changed != s.changing {
				t.Errorf("%s: changed=%v, want %v", s.name, changed, s.changing)
			}
			r := c.call("GET", "messages", nil)
			n := strings.Count(string(r.Body), `"uuid"`)
			found := findBy(objects(t, r.object(t)["messages"], "messages"), "content", content)
			switch {
			case s.present && (found == nil || found["severity"] != s.severity || found["media_type"] != "text/markdown"):
				t.Errorf("%s: message not stored as given: %s", s.name, r)
			case !s.present && found != nil:
				t.Errorf("%s: message still published: %s", s.name, r)
			case s.present && n > 2:
				t.Errorf("%s: duplicates published: %s", s.name, r)
			}
		})
	}
}

// quayDockerToken replays quay_docker_token for the module's user: create
// (the code shown once), re-run (found by title: no change, no code),
// the token logs in to the registry as "$app", then absent twice.
func (m *modules) quayDockerToken(t *testing.T) {
	name := "ansible-pull-" + m.suffix
	find := func(c *client) []map[string]any {
		r := c.call("GET", "user/apptoken", nil)
		expect(t, r, 200)
		var out []map[string]any
		for _, tok := range objects(t, r.object(t)["tokens"], "tokens") {
			if tok["title"] == name {
				out = append(out, tok)
			}
		}
		return out
	}
	var code string
	m.run(t, func(c *client) {
		if got := find(c); len(got) != 0 {
			t.Fatalf("token %s exists before the first run: %v", name, got)
		}
		r := c.call("POST", "user/apptoken", map[string]any{"title": name})
		expect(t, r, okCreate...)
		tok := asObject(r.object(t)["token"])
		code, _ = tok["token_code"].(string)
		if len(code) != 120 || tok["title"] != name {
			t.Fatalf("created token: %s", r)
		}
	})
	m.run(t, func(c *client) {
		got := find(c)
		if len(got) != 1 {
			t.Fatalf("second run finds %d tokens named %s, want 1", len(got), name)
		}
		r := c.call("GET", "user/apptoken/"+got[0]["uuid"].(string), nil)
		expect(t, r, 200)
		if tok := asObject(r.object(t)["token"]); tok["title"] != name || tok["uuid"] != got[0]["uuid"] {
			t.Errorf("GET user/apptoken/{uuid}: %s", r)
		}
	})
	// What the module's token_code is for: "$app" at the registry.
	req, err := http.NewRequest("GET", m.srv.URL+"/v2/auth?service="+strings.TrimPrefix(m.srv.URL, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("$app", code)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/v2/auth as $app with the module's token_code: %d, want 200", resp.StatusCode)
	}
	for run, changing := range []bool{true, false} {
		m.run(t, func(c *client) {
			got := find(c)
			for _, tok := range got {
				expect(t, c.call("DELETE", "user/apptoken/"+tok["uuid"].(string), nil), append(okDelete, 400, 404)...)
			}
			if changed := len(got) > 0; changed != changing {
				t.Errorf("absent run %d: changed=%v, want %v", run+1, changed, changing)
			}
		})
	}
	m.run(t, func(c *client) {
		if got := find(c); len(got) != 0 {
			t.Errorf("token still listed after absent: %v", got)
		}
	})
}
