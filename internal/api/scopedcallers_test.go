package api_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestLogsMessagesTokensNarrowCallers covers the callers TestAccessMatrix
// has no column for, on the log, message and app-token routes: OAuth
// tokens without the scope the route needs (refused 403 even where their
// user may), and robots, which cannot authenticate to /api/v1 at all (their
// token, sent as a bearer token or as Basic credentials, leaves the call
// anonymous).
func TestLogsMessagesTokensNarrowCallers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		alice := e.login("alice", e.createUser(admin, "alice"))
		mustStatus(t, alice.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
		acme, err := store.Accounts.AccountByName(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		aliceAcct, err := store.Accounts.AccountByName(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repositories(store).Create(t.Context(), &wharf.Caller{Account: aliceAcct}, acme, "app", wharf.Private, ""); err != nil {
			t.Fatal(err)
		}
		robot, err := repositories(store).CreateRobot(t.Context(), &wharf.Caller{}, acme, "ci", "")
		if err != nil {
			t.Fatal(err)
		}
		clientID := e.createApp(alice, "acme")

		cases := []struct {
			name, scope, method, path string
			body                      any
			want                      int
		}{
			{"org logs without org:admin", "repo:admin user:admin", "GET", "/api/v1/organization/acme/logs", nil, 403},
			{"org counts without org:admin", "repo:admin user:admin", "GET", "/api/v1/organization/acme/aggregatelogs", nil, 403},
			{"org logs with org:admin", "org:admin", "GET", "/api/v1/organization/acme/logs", nil, 200},
			{"user logs without user:admin", "user:read org:admin", "GET", "/api/v1/user/logs", nil, 403},
			{"repo logs with repo:write only", "repo:read repo:write", "GET", "/api/v1/repository/acme/app/logs", nil, 403},
			{"repo logs with repo:admin", "repo:admin", "GET", "/api/v1/repository/acme/app/logs", nil, 200},
			{"app tokens without user:admin", "user:read", "GET", "/api/v1/user/apptoken", nil, 403},
			{"app token create without user:admin", "user:read repo:admin", "POST", "/api/v1/user/apptoken", map[string]any{"title": "x"}, 403},
			{"app token create with user:admin", "user:admin", "POST", "/api/v1/user/apptoken", map[string]any{"title": "x"}, 200},
			{"messages read by any token", "user:read", "GET", "/api/v1/messages", nil, 200},
			{"message post by a user", "user:admin", "POST", "/api/v1/messages",
				map[string]any{"message": map[string]any{"content": "x", "media_type": "text/plain", "severity": "info"}}, 403},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := e.mintToken(alice, clientID, tc.scope)
				r := c.do(tc.method, tc.path, tc.body)
				checkAccessResponse(t, tc.path, r, tc.want, "", "")
			})
		}

		// A robot's token is no /api/v1 credential, however it is sent.
		robotName := robot.Account.Name
		for _, path := range []string{"/api/v1/user/logs", "/api/v1/user/apptoken", "/api/v1/organization/acme/logs", "/api/v1/repository/acme/app/logs"} {
			r := e.withToken(robot.Token).do("GET", path, nil)
			checkAccessResponse(t, path, r, http.StatusUnauthorized, "", "")
			r = e.anonymous().do("GET", path, nil, "Authorization", basicAuth(robotName, robot.Token))
			checkAccessResponse(t, path, r, http.StatusUnauthorized, "", "")
		}
		r := e.anonymous().do("POST", "/api/v1/messages", map[string]any{"message": map[string]any{"content": "x", "media_type": "text/plain", "severity": "info"}},
			"Authorization", basicAuth(robotName, robot.Token))
		checkAccessResponse(t, "/api/v1/messages", r, http.StatusUnauthorized, "", "")
	})
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestLogsOfTeamMembers: who reads an organization's and a repository's
// logs among its members, by the core's access model: members, creators
// and holders of read or write grants never; an admin grant on the
// repository reads its logs (not the organization's); an admin team
// member reads both.
func TestLogsOfTeamMembers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		owner := e.login("owner", e.createUser(admin, "owner"))
		mustStatus(t, owner.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
		mustStatus(t, owner.do("POST", "/api/v1/repository", map[string]any{"namespace": "acme", "repository": "app",
			"visibility": "private", "description": ""}), http.StatusCreated)
		member := func(name, team, role, grant string) *client {
			pass := e.createUser(admin, name)
			mustStatus(t, owner.do("PUT", "/api/v1/organization/acme/team/"+team, map[string]any{"role": role}), http.StatusOK)
			mustStatus(t, owner.do("PUT", "/api/v1/organization/acme/team/"+team+"/members/"+name, nil), http.StatusOK)
			if grant != "" {
				mustStatus(t, owner.do("PUT", "/api/v1/repository/acme/app/permissions/team/"+team, map[string]any{"role": grant}), http.StatusOK)
			}
			return e.login(name, pass)
		}
		callers := map[string]*client{
			"member":       member("mia", "readers", "member", ""),
			"creator":      member("cole", "creators", "creator", ""),
			"read grant":   member("rita", "pullers", "member", "read"),
			"write grant":  member("walt", "pushers", "member", "write"),
			"admin grant":  member("ada", "keepers", "member", "admin"),
			"admin team":   member("otto", "admins", "admin", ""),
			"unrelated":    e.login("nina", e.createUser(admin, "nina")),
			"organization": owner,
		}
		want := map[string][2]int{ // org logs, repo logs
			"member":       {403, 404},
			"creator":      {403, 404},
			"read grant":   {403, 403},
			"write grant":  {403, 403},
			"admin grant":  {403, 200},
			"admin team":   {200, 200},
			"unrelated":    {403, 404},
			"organization": {200, 200},
		}
		for who, c := range callers {
			for i, path := range []string{"/api/v1/organization/acme/logs", "/api/v1/repository/acme/app/logs"} {
				for _, p := range []string{path, strings.Replace(path, "/logs", "/aggregatelogs", 1)} {
					t.Run(who+p, func(t *testing.T) { checkAccessResponse(t, p, c.do("GET", p, nil), want[who][i], "", "") })
				}
			}
		}
	})
}
