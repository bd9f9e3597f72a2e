package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// storedLogKinds returns the kinds of the action log, oldest first.
func storedLogKinds(t *testing.T, store *db.DB) []string {
	t.Helper()
	entries, err := store.Logs.ListLogs(context.Background(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i := len(entries) - 1; i >= 0; i-- {
		kinds = append(kinds, entries[i].Kind)
	}
	return kinds
}

// wantError checks an error answer's status and that its detail says want.
func wantError(t *testing.T, r *response, status int, want string) {
	t.Helper()
	mustStatus(t, r, status)
	if d, _ := r.JSON(t)["detail"].(string); !strings.Contains(d, want) {
		t.Errorf("detail %q, want it to say %q", d, want)
	}
}

// TestTeamsAndPermissions walks an organization administrator through
// teams, members, grants and default permissions as Quay's clients do,
// checking Quay's views, refusals and action-log kinds; another
// organization's teams and prototypes are 404 and unchanged.
func TestTeamsAndPermissions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		e.createUser(adm, "dev")
		for _, org := range []string{"acme", "other"} {
			mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": org}), http.StatusCreated)
		}
		mustStatus(t, adm.do("PUT", "/api/v1/organization/acme/robots/ci", map[string]any{}), http.StatusCreated)
		mustStatus(t, adm.do("PUT", "/api/v1/organization/other/robots/ci", map[string]any{}), http.StatusCreated)
		mustStatus(t, adm.do("PUT", "/api/v1/organization/other/team/secret", map[string]any{"role": "member"}), http.StatusOK)
		mustStatus(t, adm.do("POST", "/api/v1/repository", map[string]any{"namespace": "acme", "repository": "app",
			"visibility": "private", "description": ""}), http.StatusCreated)
		base := "/api/v1/organization/acme"
		before := len(storedLogKinds(t, store))

		r := adm.do("PUT", base+"/team/devs", map[string]any{"role": "member", "description": "developers"})
		mustStatus(t, r, http.StatusOK)
		if v := r.JSON(t); v["new_team"] != true || v["role"] != "member" || v["description"] != "developers" || v["can_view"] != true {
			t.Errorf("created team %s", r.Body)
		}
		r = adm.do("PUT", base+"/team/devs", map[string]any{"role": "creator", "description": "builders"})
		mustStatus(t, r, http.StatusOK)
		if v := r.JSON(t); v["new_team"] != false || v["role"] != "creator" {
			t.Errorf("updated team %s", r.Body)
		}
		wantError(t, adm.do("PUT", base+"/team/Bad!", map[string]any{"role": "member"}), http.StatusBadRequest, "Invalid team name")
		wantError(t, adm.do("PUT", base+"/team/devs", map[string]any{"role": "boss"}), http.StatusBadRequest, "role")
		wantError(t, adm.do("PUT", base+"/team/devs", map[string]any{}), http.StatusBadRequest, "role")

		mustStatus(t, adm.do("PUT", base+"/team/devs/members/dev", map[string]any{}), http.StatusOK)
		wantError(t, adm.do("PUT", base+"/team/devs/members/dev", map[string]any{}), http.StatusBadRequest, "already a member")
		r = adm.do("PUT", base+"/team/devs/members/acme+ci", map[string]any{})
		mustStatus(t, r, http.StatusOK)
		if v := r.JSON(t); v["is_robot"] != true || v["kind"] != "user" || v["invited"] != false {
			t.Errorf("robot member view %s", r.Body)
		}
		wantError(t, adm.do("PUT", base+"/team/devs/members/other+ci", map[string]any{}), http.StatusBadRequest, "not a member of the organization")
		wantError(t, adm.do("PUT", base+"/team/devs/members/nobody", map[string]any{}), http.StatusBadRequest, "Unknown user")
		r = adm.do("GET", base+"/team/devs/members?includePending=True", nil)
		mustStatus(t, r, http.StatusOK)
		if members, _ := r.JSON(t)["members"].([]any); len(members) != 2 {
			t.Errorf("members %s", r.Body)
		}

		// The owners team keeps the organization's only admin.
		wantError(t, adm.do("PUT", base+"/team/owners", map[string]any{"role": "member"}), http.StatusBadRequest, "Cannot remove admin")
		wantError(t, adm.do("DELETE", base+"/team/owners", nil), http.StatusBadRequest, "would remove admin ability")
		wantError(t, adm.do("DELETE", base+"/team/owners/members/admin", nil), http.StatusBadRequest, "only admin team")
		wantError(t, adm.do("DELETE", base+"/members/admin", nil), http.StatusBadRequest, "only organization admin")

		// Grants.
		repo := "/api/v1/repository/acme/app/permissions"
		r = adm.do("PUT", repo+"/user/dev", map[string]any{"role": "write"})
		mustStatus(t, r, http.StatusOK)
		if v := r.JSON(t); v["role"] != "write" || v["name"] != "dev" || v["is_robot"] != false || v["is_org_member"] != true {
			t.Errorf("user permission view %s", r.Body)
		}
		mustStatus(t, adm.do("PUT", repo+"/team/devs", map[string]any{"role": "read"}), http.StatusOK)
		wantError(t, adm.do("PUT", repo+"/user/acme", map[string]any{"role": "read"}), http.StatusBadRequest, "Namespace owner must always be admin")
		wantError(t, adm.do("PUT", repo+"/user/other+ci", map[string]any{"role": "read"}), http.StatusBadRequest, "Cannot add robot")
		wantError(t, adm.do("PUT", repo+"/user/other", map[string]any{"role": "read"}), http.StatusBadRequest, "Invalid username")
		wantError(t, adm.do("PUT", repo+"/team/secret", map[string]any{"role": "read"}), http.StatusBadRequest, "No team secret")
		wantError(t, adm.do("GET", repo+"/user/acme+ci", nil), http.StatusBadRequest, "User does not have permission")
		r = adm.do("GET", repo+"/user/", nil)
		mustStatus(t, r, http.StatusOK)
		perms, _ := r.JSON(t)["permissions"].(map[string]any)
		if _, ok := perms["dev"]; !ok || len(perms) != 2 { // dev and admin, the creator
			t.Errorf("user permissions %s", r.Body)
		}
		r = adm.do("GET", repo+"/user/dev/transitive", nil)
		mustStatus(t, r, http.StatusOK)
		if got, _ := r.JSON(t)["permissions"].([]any); len(got) != 2 {
			t.Errorf("transitive %s, want write and the team's read", r.Body)
		}
		mustStatus(t, adm.do("GET", repo+"/user/acme+ci/transitive", nil), http.StatusOK) // through devs
		mustStatus(t, adm.do("DELETE", repo+"/user/dev", nil), http.StatusNoContent)
		wantError(t, adm.do("DELETE", repo+"/user/dev", nil), http.StatusBadRequest, "User does not have permission")
		r = adm.do("GET", base+"/team/devs/permissions", nil)
		mustStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), `"name":"app"`) {
			t.Errorf("team permissions %s", r.Body)
		}

		// Default permissions.
		wantError(t, adm.do("POST", base+"/prototypes", map[string]any{"role": "read",
			"delegate": map[string]any{"name": "secret", "kind": "team"}}), http.StatusBadRequest, "Unknown team secret")
		wantError(t, adm.do("POST", base+"/prototypes", map[string]any{"role": "read",
			"delegate": map[string]any{"name": "other+ci", "kind": "user"}}), http.StatusBadRequest, "Missing delegate")
		r = adm.do("POST", base+"/prototypes", map[string]any{"role": "write",
			"delegate": map[string]any{"name": "devs", "kind": "team"}, "activating_user": map[string]any{"name": "dev"}})
		mustStatus(t, r, http.StatusOK)
		v := r.JSON(t)
		id, _ := v["id"].(string)
		if act, _ := v["activating_user"].(map[string]any); act["name"] != "dev" || act["is_org_member"] != true {
			t.Errorf("prototype view %s", r.Body)
		}
		mustStatus(t, adm.do("PUT", base+"/prototypes/"+id, map[string]any{"role": "admin"}), http.StatusOK)
		r = adm.do("POST", "/api/v1/organization/other/prototypes", map[string]any{"role": "read",
			"delegate": map[string]any{"name": "secret", "kind": "team"}})
		mustStatus(t, r, http.StatusOK)
		otherID, _ := r.JSON(t)["id"].(string)

		// Another organization's team and prototype do not exist here.
		mustStatus(t, adm.do("DELETE", base+"/team/secret", nil), http.StatusNotFound)
		mustStatus(t, adm.do("GET", base+"/team/secret/members", nil), http.StatusNotFound)
		mustStatus(t, adm.do("PUT", base+"/prototypes/"+otherID, map[string]any{"role": "admin"}), http.StatusNotFound)
		mustStatus(t, adm.do("DELETE", base+"/prototypes/"+otherID, nil), http.StatusNotFound)
		r = adm.do("GET", "/api/v1/organization/other/prototypes", nil)
		if !strings.Contains(string(r.Body), `"role":"read"`) || !strings.Contains(string(r.Body), `"name":"secret"`) {
			t.Errorf("the other organization's prototype changed: %s", r.Body)
		}

		mustStatus(t, adm.do("DELETE", base+"/prototypes/"+id, nil), http.StatusNoContent)
		mustStatus(t, adm.do("DELETE", base+"/team/devs/members/dev", nil), http.StatusNoContent)
		wantError(t, adm.do("DELETE", base+"/team/devs/members/dev", nil), http.StatusBadRequest, "does not belong")
		mustStatus(t, adm.do("DELETE", base+"/team/devs", nil), http.StatusNoContent)

		want := []string{"org_create_team", "org_set_team_description", "org_set_team_role", "org_add_team_member",
			"org_add_team_member", "change_repo_permission", "change_repo_permission", "delete_repo_permission",
			"create_prototype_permission", "modify_prototype_permission", "create_prototype_permission",
			"delete_prototype_permission", "org_remove_team_member", "org_delete_team"}
		if got := storedLogKinds(t, store)[before:]; !slices.Equal(got, want) {
			t.Errorf("log kinds\n got %v\nwant %v", got, want)
		}
	})
}

// TestRepositoryViews: the repository list pages with a sealed cursor,
// stars show in the views, and changestate moves can_write.
func TestRepositoryViews(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		for i := range 105 {
			name := "r" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26))
			mustStatus(t, adm.do("POST", "/api/v1/repository", map[string]any{"namespace": "admin", "repository": name,
				"visibility": "private", "description": ""}), http.StatusCreated)
		}
		wantError(t, adm.do("GET", "/api/v1/repository", nil), http.StatusBadRequest, "namespace, starred or public")
		r := adm.do("GET", "/api/v1/repository?namespace=admin&last_modified=true", nil)
		mustStatus(t, r, http.StatusOK)
		v := r.JSON(t)
		page, _ := v["repositories"].([]any)
		next, _ := v["next_page"].(string)
		if len(page) != 100 || next == "" {
			t.Fatalf("first page: %d repositories, next_page %q", len(page), next)
		}
		first, _ := page[0].(map[string]any)
		if first["state"] != "NORMAL" || first["is_starred"] != false || first["kind"] != "image" || first["last_modified"] != nil {
			t.Errorf("list item %v", first)
		}
		r = adm.do("GET", "/api/v1/repository?namespace=admin&next_page="+next, nil)
		mustStatus(t, r, http.StatusOK)
		if rest, _ := r.JSON(t)["repositories"].([]any); len(rest) != 5 || r.JSON(t)["next_page"] != nil {
			t.Errorf("last page %s", r.Body)
		}
		mustStatus(t, adm.do("GET", "/api/v1/repository?namespace=admin&next_page=garbage", nil), http.StatusBadRequest)
		mustStatus(t, e.anonymous().do("GET", "/api/v1/repository?namespace=admin", nil), http.StatusOK)

		name := first["name"].(string)
		mustStatus(t, adm.do("POST", "/api/v1/user/starred", map[string]any{"namespace": "admin", "repository": name}), http.StatusCreated)
		mustStatus(t, adm.do("POST", "/api/v1/user/starred", map[string]any{"namespace": "admin", "repository": "missing"}), http.StatusNotFound)
		r = adm.do("GET", "/api/v1/user/starred", nil)
		mustStatus(t, r, http.StatusOK)
		if got, _ := r.JSON(t)["repositories"].([]any); len(got) != 1 {
			t.Errorf("starred %s", r.Body)
		}
		if got := adm.do("GET", "/api/v1/repository/admin/"+name, nil).JSON(t); got["is_starred"] != true || got["can_write"] != true {
			t.Errorf("repository view %v", got)
		}
		mustStatus(t, adm.do("PUT", "/api/v1/repository/admin/"+name+"/changestate", map[string]any{"state": "READ_ONLY"}), http.StatusOK)
		wantError(t, adm.do("PUT", "/api/v1/repository/admin/"+name+"/changestate", map[string]any{"state": "ORG_MIRROR"}), http.StatusBadRequest, "state")
		wantError(t, adm.do("DELETE", "/api/v1/repository/admin/"+name+"/tag/latest", nil), http.StatusServiceUnavailable, "read only or mirror mode: READ_ONLY")
		if got := adm.do("GET", "/api/v1/repository/admin/"+name, nil).JSON(t); got["state"] != "READ_ONLY" || got["can_write"] != false || got["can_admin"] != true {
			t.Errorf("read-only repository view %v", got)
		}
		mustStatus(t, adm.do("DELETE", "/api/v1/user/starred/admin/"+name, nil), http.StatusNoContent)
		if kinds := storedLogKinds(t, store); kinds[len(kinds)-1] != "change_repo_state" {
			t.Errorf("last log kind %s, want change_repo_state", kinds[len(kinds)-1])
		}
	})
}
