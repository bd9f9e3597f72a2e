package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Throwaway teams, grants and prototypes, written straight to the store.

func (x *accessCellCtx) newTeam(org *wharf.Account, role string, members ...string) *wharf.Team {
	x.t.Helper()
	t := &wharf.Team{OrgID: org.ID, Name: x.f.nextName("team"), Role: role}
	if err := x.f.store.Tenancy.SaveTeam(x.t.Context(), t); err != nil {
		x.t.Fatal(err)
	}
	for _, m := range members {
		if err := x.f.store.Tenancy.AddTeamMember(x.t.Context(), t.ID, x.account(m).ID); err != nil {
			x.t.Fatal(err)
		}
	}
	return t
}

func (x *accessCellCtx) repository(path string) *wharf.Repository {
	x.t.Helper()
	ns, name, _ := strings.Cut(path, "/")
	r, err := x.f.store.Registry.RepositoryByName(x.t.Context(), ns, name)
	if err != nil {
		x.t.Fatal(err)
	}
	return r
}

// grantOn gives a fresh user (or team, when t is set) role on repo path.
func (x *accessCellCtx) grantOn(path string, t *wharf.Team) string {
	x.t.Helper()
	p := wharf.Permission{Repository: x.repository(path), Team: t, Role: wharf.RoleRead}
	name := ""
	if t == nil {
		name = x.newUser()
		p.Account = x.account(name)
	} else {
		name = t.Name
	}
	if err := x.f.store.Tenancy.SetPermission(x.t.Context(), p); err != nil {
		x.t.Fatal(err)
	}
	return name
}

// orgRepo is a fresh organization of owner() with a repository in it
// (visibility as callerRepo's) and a team; it returns "org/repo" and the team.
func (x *accessCellCtx) orgRepo() (string, *wharf.Team) {
	x.t.Helper()
	org := x.callerOrg()
	vis := wharf.Private
	if x.target == tgtOtherPublicRepo || (x.target == tgtOwn && x.p.user == "") {
		vis = wharf.Public
	}
	repo, err := repositories(x.f.store).Create(x.t.Context(), &wharf.Caller{}, org, x.f.nextName("repo"), vis, "")
	if err != nil {
		x.t.Fatal(err)
	}
	return org.Name + "/" + repo.Name, x.newTeam(org, wharf.TeamMember)
}

func (x *accessCellCtx) newPrototype(org *wharf.Account) string {
	x.t.Helper()
	p := &wharf.Prototype{UUID: x.f.nextName("proto-uuid-"), OrgID: org.ID, DelegateTeam: x.newTeam(org, wharf.TeamMember), Role: wharf.RoleRead}
	if err := x.f.store.Tenancy.CreatePrototype(x.t.Context(), p); err != nil {
		x.t.Fatal(err)
	}
	return p.UUID
}

// tenancyAccessMatrix: teams, members, repository permissions, default
// permissions, the repository list, stars and repository states (spec
// §2–§5, §15). Organization rows work on a fresh organization of the
// caller's (variants: somebody else's, 403); repository rows on a fresh
// repository of the caller's (variants: somebody else's public one 403,
// private one 404, as a missing one).
func tenancyAccessMatrix() []accessEndpoint {
	const GET, POST, PUT, DELETE = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	org := func(x *accessCellCtx) (*wharf.Account, string) {
		o := x.callerOrg()
		return o, "/api/v1/organization/" + o.Name
	}
	repo := func(x *accessCellCtx, suffix string) string {
		return "/api/v1/repository/" + x.callerRepo() + suffix
	}
	return []accessEndpoint{
		{method: PUT, route: "/api/v1/organization/{orgname}/team/{teamname}", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				_, p := org(x)
				return accessRequest{path: p + "/team/" + x.f.nextName("team"), body: map[string]any{"role": "member", "description": "d"}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if v := r.JSON(t); v["new_team"] != true || v["role"] != "member" || v["description"] != "d" {
					t.Errorf("team view %s", r.Body)
				}
			}},
		{method: DELETE, route: "/api/v1/organization/{orgname}/team/{teamname}", class: clsOrgAdmin, want: wantUsers(204), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				return accessRequest{path: p + "/team/" + x.newTeam(o, wharf.TeamMember).Name}
			}},
		{method: GET, route: "/api/v1/organization/{orgname}/team/{teamname}/members", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				return accessRequest{path: p + "/team/" + x.newTeam(o, wharf.TeamMember, x.newUser()).Name + "/members?includePending=true"}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if list, _ := bodyField(t, r, "members").([]any); len(list) != 1 {
					t.Errorf("members: %s", r.Body)
				}
			}},
		{method: PUT, route: "/api/v1/organization/{orgname}/team/{teamname}/members/{membername}", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				return accessRequest{path: p + "/team/" + x.newTeam(o, wharf.TeamMember).Name + "/members/" + x.newUser(), body: map[string]any{}}
			}},
		{method: DELETE, route: "/api/v1/organization/{orgname}/team/{teamname}/members/{membername}", class: clsOrgAdmin, want: wantUsers(204), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				u := x.newUser()
				return accessRequest{path: p + "/team/" + x.newTeam(o, wharf.TeamMember, u).Name + "/members/" + u}
			}},
		{method: GET, route: "/api/v1/organization/{orgname}/team/{teamname}/permissions", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				return accessRequest{path: p + "/team/" + x.newTeam(o, wharf.TeamMember).Name + "/permissions"}
			}},
		{method: GET, route: "/api/v1/organization/{orgname}/members", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				_, p := org(x)
				return accessRequest{path: p + "/members"}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if list, _ := bodyField(t, r, "members").([]any); len(list) != 1 {
					t.Errorf("members: %s", r.Body)
				}
			}},
		{method: GET, route: "/api/v1/organization/{orgname}/members/{membername}", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				_, p := org(x)
				return accessRequest{path: p + "/members/" + x.owner()}
			}},
		{method: DELETE, route: "/api/v1/organization/{orgname}/members/{membername}", class: clsOrgAdmin, want: wantUsers(204), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				u := x.newUser()
				x.newTeam(o, wharf.TeamMember, u)
				return accessRequest{path: p + "/members/" + u}
			}},
		{method: GET, route: "/api/v1/organization/{orgname}/prototypes", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				x.newPrototype(o)
				return accessRequest{path: p + "/prototypes"}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if list, _ := bodyField(t, r, "prototypes").([]any); len(list) != 1 {
					t.Errorf("prototypes: %s", r.Body)
				}
			}},
		{method: POST, route: "/api/v1/organization/{orgname}/prototypes", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				return accessRequest{path: p + "/prototypes", body: map[string]any{"role": "write",
					"delegate": map[string]any{"name": x.newTeam(o, wharf.TeamMember).Name, "kind": "team"}}}
			}},
		{method: PUT, route: "/api/v1/organization/{orgname}/prototypes/{prototypeid}", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				return accessRequest{path: p + "/prototypes/" + x.newPrototype(o), body: map[string]any{"role": "admin"}}
			}},
		{method: DELETE, route: "/api/v1/organization/{orgname}/prototypes/{prototypeid}", class: clsOrgAdmin, want: wantUsers(204), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				return accessRequest{path: p + "/prototypes/" + x.newPrototype(o)}
			}},
		{method: GET, route: "/api/v1/organization/{orgname}/robots/{robot_shortname}/permissions", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				o, p := org(x)
				return accessRequest{path: p + "/robots/" + x.newRobot(o) + "/permissions"}
			}},
		{method: GET, route: "/api/v1/user/robots/{robot_shortname}/permissions", class: clsSignedIn, want: wantUsers(200),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/user/robots/" + x.newRobot(x.f.accounts[x.owner()]) + "/permissions"}
			}},

		// Repository permissions, for the repository's administrators.
		{method: GET, route: "/api/v1/repository/{namespace}/{repository}/permissions/user/{$}", class: clsRepo, want: wantUsers(200), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				p := x.callerRepo()
				x.grantOn(p, nil)
				return accessRequest{path: "/api/v1/repository/" + p + "/permissions/user/"}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if m, _ := bodyField(t, r, "permissions").(map[string]any); len(m) != 1 {
					t.Errorf("permissions: %s", r.Body)
				}
			}},
		slashRedirectCell(GET, "/api/v1/repository/{namespace}/{repository}/permissions/user"),
		{method: GET, route: "/api/v1/repository/{namespace}/{repository}/permissions/user/{username}", class: clsRepo, want: wantUsers(200), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				p := x.callerRepo()
				return accessRequest{path: "/api/v1/repository/" + p + "/permissions/user/" + x.grantOn(p, nil)}
			}},
		{method: PUT, route: "/api/v1/repository/{namespace}/{repository}/permissions/user/{username}", class: clsRepo, want: wantUsers(200), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: repo(x, "/permissions/user/"+x.newUser()), body: map[string]any{"role": "write"}}
			}},
		{method: DELETE, route: "/api/v1/repository/{namespace}/{repository}/permissions/user/{username}", class: clsRepo, want: wantUsers(204), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				p := x.callerRepo()
				return accessRequest{path: "/api/v1/repository/" + p + "/permissions/user/" + x.grantOn(p, nil)}
			}},
		{method: GET, route: "/api/v1/repository/{namespace}/{repository}/permissions/user/{username}/transitive", class: clsRepo, want: wantUsers(200), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				p := x.callerRepo()
				return accessRequest{path: "/api/v1/repository/" + p + "/permissions/user/" + x.grantOn(p, nil) + "/transitive"}
			}},
		{method: GET, route: "/api/v1/repository/{namespace}/{repository}/permissions/team/{$}", class: clsRepo, want: wantUsers(200), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				p, t := x.orgRepo()
				x.grantOn(p, t)
				return accessRequest{path: "/api/v1/repository/" + p + "/permissions/team/"}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if m, _ := bodyField(t, r, "permissions").(map[string]any); len(m) != 1 {
					t.Errorf("permissions: %s", r.Body)
				}
			}},
		slashRedirectCell(GET, "/api/v1/repository/{namespace}/{repository}/permissions/team"),
		{method: GET, route: "/api/v1/repository/{namespace}/{repository}/permissions/team/{teamname}", class: clsRepo, want: wantUsers(200), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				p, t := x.orgRepo()
				return accessRequest{path: "/api/v1/repository/" + p + "/permissions/team/" + x.grantOn(p, t)}
			}},
		{method: PUT, route: "/api/v1/repository/{namespace}/{repository}/permissions/team/{teamname}", class: clsRepo, want: wantUsers(200), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				p, t := x.orgRepo()
				return accessRequest{path: "/api/v1/repository/" + p + "/permissions/team/" + t.Name, body: map[string]any{"role": "read"}}
			}},
		{method: DELETE, route: "/api/v1/repository/{namespace}/{repository}/permissions/team/{teamname}", class: clsRepo, want: wantUsers(204), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				p, t := x.orgRepo()
				return accessRequest{path: "/api/v1/repository/" + p + "/permissions/team/" + x.grantOn(p, t)}
			}},
		{method: PUT, route: "/api/v1/repository/{namespace}/{repository}/changestate", class: clsRepo, want: wantUsers(200), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: repo(x, "/changestate"), body: map[string]any{"state": "READ_ONLY"}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				p := strings.TrimSuffix(strings.TrimPrefix(rq.path, "/api/v1/repository/"), "/changestate")
				if st := x.repository(p).State; st != wharf.StateReadOnly {
					t.Errorf("state %q after changestate", st)
				}
			}},

		// The repository list and stars.
		{method: GET, route: "/api/v1/repository", class: clsPublicRead, want: wantAll(200),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/repository?public=true&namespace=" + x.owner()}
			}},
		{method: GET, route: "/api/v1/user/starred", class: clsSignedIn, want: wantUsers(200), build: fixedPath("/api/v1/user/starred")},
		{method: POST, route: "/api/v1/user/starred", class: clsSignedIn, want: wantUsers(201),
			variants: []accessVariant{{suffix: "-other-private-repo", target: tgtOtherPrivateRepo, want: http.StatusNotFound, callers: accessRepoCallers}},
			build: func(x *accessCellCtx) accessRequest {
				ns, name, _ := strings.Cut(x.callerRepo(), "/")
				return accessRequest{path: "/api/v1/user/starred", body: map[string]any{"namespace": ns, "repository": name}}
			}},
		{method: DELETE, route: "/api/v1/user/starred/{namespace}/{repository}", class: clsSignedIn, want: wantUsers(204),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/user/starred/" + x.callerRepo()}
			}},
	}
}
