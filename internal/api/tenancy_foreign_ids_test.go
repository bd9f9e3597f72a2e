package api_test

import (
	"net/http"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestTenancyForeignIDs: an id that exists only in another organization
// (a team name, a prototype uuid, a tag name, a manifest digest, a label
// id), an app token uuid of another user and a uuid that names no message
// are 404 on the routes of acme, even to the administrator of both
// organizations, and change nothing: neither organization's objects nor
// the audit log. (Quay's one deliberate exception is kept: a repository
// permission of a team that is not the repository's organization's is
// 400, spec §3.4.)
func TestTenancyForeignIDs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		w := newRoleWorld(t, store)
		const acme, globex = "/api/v1/organization/acme", "/api/v1/organization/globex"
		const app, other = "/api/v1/repository/acme/app", "/api/v1/repository/globex/app"
		w.ok("POST", "/api/v1/organization/", map[string]any{"name": "globex"})
		w.ok("PUT", globex+"/team/secret", map[string]any{"role": "member"})
		w.ok("PUT", globex+"/team/secret/members/mia", map[string]any{})
		proto, _ := w.ok("POST", globex+"/prototypes", map[string]any{"role": "read",
			"delegate": map[string]any{"name": "secret", "kind": "team"}}).JSON(t)["id"].(string)
		w.ok("POST", "/api/v1/repository", map[string]any{"namespace": "globex", "repository": "app", "visibility": "private", "description": ""})
		w.ok("PUT", other+"/permissions/team/secret", map[string]any{"role": "read"})
		otherDigest := storeImage(t, store, repoOf(t, store, other), "only-there", "globex", 10)
		label, _ := asMap(w.ok("POST", other+"/manifest/"+otherDigest+"/labels",
			map[string]any{"key": "k", "value": "v", "media_type": "text/plain"}).JSON(t)["label"])["id"].(string)
		acmeLabel := w.label()
		r := w.admin.do("POST", "/api/v1/user/apptoken", map[string]any{"title": "the superuser's"})
		mustStatus(t, r, http.StatusOK)
		adminToken, _ := asMap(r.JSON(t)["token"])["uuid"].(string)

		state := func() map[string]string {
			s := map[string]string{}
			for _, p := range []string{globex + "/team/secret/members", globex + "/team/secret/permissions", globex + "/prototypes",
				acme + "/prototypes", other + "/tag/?onlyActiveTags=false", app + "/tag/?onlyActiveTags=false",
				other + "/manifest/" + otherDigest + "/labels", app + "/manifest/" + w.digest + "/labels",
				other + "/permissions/team/", app + "/permissions/team/", acme + "/members", globex + "/members"} {
				r := w.own.do("GET", p, nil)
				mustStatus(t, r, http.StatusOK)
				s[p] = string(r.Body)
			}
			r := w.admin.do("GET", "/api/v1/user/apptoken", nil)
			mustStatus(t, r, http.StatusOK)
			s["admin's app tokens"] = string(r.Body)
			r = w.admin.do("GET", "/api/v1/messages", nil)
			s["messages"] = string(r.Body)
			return s
		}
		before, logsBefore := state(), len(storedLogKinds(t, store))

		cases := []struct {
			name, method, path string
			body               any
			by                 *client
			want               int
		}{
			{"another organization's team: members", "GET", acme + "/team/secret/members", nil, w.own, 404},
			{"another organization's team: add a member", "PUT", acme + "/team/secret/members/tim", map[string]any{}, w.own, 404},
			{"another organization's team: remove its member", "DELETE", acme + "/team/secret/members/mia", nil, w.own, 404},
			{"another organization's team: its permissions", "GET", acme + "/team/secret/permissions", nil, w.own, 404},
			{"another organization's team: delete", "DELETE", acme + "/team/secret", nil, w.own, 404},
			{"another organization's team: repository grant read", "GET", app + "/permissions/team/secret", nil, w.own, 400},
			{"another organization's team: repository grant", "PUT", app + "/permissions/team/secret", map[string]any{"role": "admin"}, w.own, 400},
			{"another organization's team: repository grant removed", "DELETE", app + "/permissions/team/secret", nil, w.own, 400},
			{"another organization's prototype: change", "PUT", acme + "/prototypes/" + proto, map[string]any{"role": "admin"}, w.own, 404},
			{"another organization's prototype: delete", "DELETE", acme + "/prototypes/" + proto, nil, w.own, 404},
			{"another repository's tag: delete", "DELETE", app + "/tag/only-there", nil, w.own, 404},
			{"another repository's tag: expire", "PUT", app + "/tag/only-there", map[string]any{"expiration": nil}, w.own, 404},
			{"another repository's tag: restore", "POST", app + "/tag/only-there/restore", map[string]any{"manifest_digest": otherDigest}, w.own, 404},
			{"another repository's manifest: tag it", "PUT", app + "/tag/stolen", map[string]any{"manifest_digest": otherDigest}, w.own, 404},
			{"another repository's manifest: view", "GET", app + "/manifest/" + otherDigest, nil, w.own, 404},
			{"another repository's manifest: label it", "POST", app + "/manifest/" + otherDigest + "/labels", map[string]any{"key": "x", "value": "y", "media_type": "text/plain"}, w.own, 404},
			{"another repository's label: read", "GET", app + "/manifest/" + w.digest + "/labels/" + label, nil, w.own, 404},
			{"another repository's label: delete", "DELETE", app + "/manifest/" + w.digest + "/labels/" + label, nil, w.own, 404},
			{"this repository's label under another's manifest", "DELETE", other + "/manifest/" + otherDigest + "/labels/" + acmeLabel, nil, w.own, 404},
			{"no such message", "DELETE", "/api/v1/message/" + proto, nil, w.admin, 404},
			{"another user's app token: read", "GET", "/api/v1/user/apptoken/" + adminToken, nil, w.owner, 404},
			{"another user's app token: revoke", "DELETE", "/api/v1/user/apptoken/" + adminToken, nil, w.owner, 404},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				checkAccessResponse(t, tc.path, tc.by.do(tc.method, tc.path, tc.body), tc.want, "", "")
			})
		}
		after := state()
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s changed:\n before %s\n after  %s", k, v, after[k])
			}
		}
		if n := len(storedLogKinds(t, store)); n != logsBefore {
			t.Errorf("%d audit log entries written by refused requests", n-logsBefore)
		}
	})
}
