package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestDockerLoginLogged: a /v2/auth request without a scope (what docker
// login sends) writes Quay's login_success under the user, or under the
// robot's namespace, with type v2auth and the kind of credential; a
// request for a scope (every pull and push) writes none, nor (by default)
// a refused login.
func TestDockerLoginLogged(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newServer(t, store, nil)
		admin := "Bearer " + s.admin
		must(t, s.do("POST", "/api/v1/organization/", admin, map[string]any{"name": "acme"}), http.StatusCreated)
		var robot struct{ Token string }
		json.Unmarshal(must(t, s.do("PUT", "/api/v1/organization/acme/robots/ci", admin, map[string]any{}), http.StatusCreated).body, &robot)
		var app struct {
			Token struct {
				Code  string `json:"token_code"`
				Title string `json:"title"`
			} `json:"token"`
		}
		json.Unmarshal(must(t, s.do("POST", "/api/v1/user/apptoken", admin, map[string]any{"title": "laptop"}), http.StatusOK).body, &app)

		logins := func() []wharf.LogEntry { return v2authLogs(t, store, "login_success") }
		cases := []struct {
			name, user, secret   string
			namespace, performer string
			meta                 map[string]any
		}{
			{"password", "admin", adminPassword, "admin", "admin", map[string]any{"kind": "user"}},
			{"robot", "acme+ci", robot.Token, "acme", "acme+ci", map[string]any{"kind": "robot", "robot": "acme+ci"}},
			{"app token", "$app", app.Token.Code, "admin", "admin", map[string]any{"kind": "app_specific_token", "app_specific_token_title": "laptop"}},
			{"OAuth token", "$oauthtoken", s.admin, "admin", "admin", map[string]any{}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := len(logins())
				must(t, s.do("GET", "/v2/auth?service="+s.host, "Basic "+basicAuth(tc.user, tc.secret), nil), http.StatusOK)
				got := logins()
				if len(got) != before+1 {
					t.Fatalf("%d login_success entries after the login, want %d", len(got), before+1)
				}
				e := got[0]
				if e.Account.Name != tc.namespace || e.Performer.Name != tc.performer || e.Metadata["useragent"] == "" {
					t.Errorf("entry under %q by %q, useragent %v; want under %q by %q", e.Account.Name, e.Performer.Name, e.Metadata["useragent"], tc.namespace, tc.performer)
				}
				for k, v := range tc.meta {
					if e.Metadata[k] != v {
						t.Errorf("metadata %s = %v, want %v (%v)", k, e.Metadata[k], v, e.Metadata)
					}
				}
				if _, ok := tc.meta["kind"]; !ok && e.Metadata["kind"] != nil {
					t.Errorf("an OAuth token's login has kind %v", e.Metadata["kind"])
				}
			})
		}

		before := len(logins())
		must(t, s.do("GET", "/v2/auth?service="+s.host+"&scope=repository:admin/app:pull,push", "Basic "+basicAuth("admin", adminPassword), nil), http.StatusOK)
		if n := len(logins()); n != before {
			t.Errorf("a token request for a scope wrote %d login_success entries", n-before)
		}
		must(t, s.do("GET", "/v2/auth?service="+s.host, "Basic "+basicAuth("admin", "wrong-password"), nil), http.StatusUnauthorized)
		if got := v2authLogs(t, store, "login_failure"); len(got) != 0 {
			t.Errorf("ACTION_LOG_AUDIT_LOGIN_FAILURES is off by default, yet %d login_failure entries", len(got))
		}
	})
}

// v2authLogs returns the entries of kind that /v2/auth wrote, newest first.
func v2authLogs(t *testing.T, store *db.DB, kind string) []wharf.LogEntry {
	t.Helper()
	entries, err := store.Logs.ListLogs(context.Background(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []wharf.LogEntry
	for _, e := range entries {
		if e.Kind == kind && e.Metadata["type"] == "v2auth" {
			out = append(out, e)
		}
	}
	return out
}

// TestDockerLoginAuditSwitches: ACTION_LOG_AUDIT_LOGINS off logs no
// login; ACTION_LOG_AUDIT_LOGIN_FAILURES on logs refused credentials as
// Quay's login_failure: a robot's under its namespace, by the robot; a
// user's under none. (TestDockerLoginLogged runs the defaults: logins
// logged, failures not.)
func TestDockerLoginAuditSwitches(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newServer(t, store, func(c *config.Config) { c.ActionLogAuditLogins, c.ActionLogAuditLoginFailures = false, true })
		admin := "Bearer " + s.admin
		must(t, s.do("POST", "/api/v1/organization/", admin, map[string]any{"name": "acme"}), http.StatusCreated)
		must(t, s.do("PUT", "/api/v1/organization/acme/robots/ci", admin, map[string]any{}), http.StatusCreated)
		must(t, s.do("GET", "/v2/auth?service="+s.host, "Basic "+basicAuth("admin", adminPassword), nil), http.StatusOK)
		if got := v2authLogs(t, store, "login_success"); len(got) != 0 {
			t.Errorf("ACTION_LOG_AUDIT_LOGINS off: %d login_success entries", len(got))
		}
		must(t, s.do("GET", "/v2/auth?service="+s.host, "Basic "+basicAuth("admin", "wrong-password"), nil), http.StatusUnauthorized)
		must(t, s.do("GET", "/v2/auth?service="+s.host, "Basic "+basicAuth("acme+ci", "wrong-token"), nil), http.StatusUnauthorized)
		got := v2authLogs(t, store, "login_failure")
		if len(got) != 2 {
			t.Fatalf("%d login_failure entries, want 2", len(got))
		}
		robot, user := got[0], got[1]
		if robot.Account.Name != "acme" || robot.Performer.Name != "acme+ci" || robot.Metadata["kind"] != "robot" ||
			robot.Metadata["robot"] != "acme+ci" || robot.Metadata["username"] != "acme" || robot.Metadata["message"] == nil {
			t.Errorf("the robot's failure: under %q by %q, %v", robot.Account.Name, robot.Performer.Name, robot.Metadata)
		}
		if user.Account.Name != "" || user.Metadata["kind"] != "user" || user.Metadata["username"] != "admin" {
			t.Errorf("the user's failure: under %q, %v", user.Account.Name, user.Metadata)
		}
	})
}
