package api_test

import (
	"net/http"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// newPolicy stores a number_of_tags policy on namespace ns (and
// repository repo, when not nil) and returns its uuid.
func (x *accessCellCtx) newPolicy(ns *wharf.Account, repo *wharf.Repository) string {
	x.t.Helper()
	n := strings.TrimPrefix(x.f.nextName("p"), "p")
	p := wharf.AutoPrunePolicy{UUID: "10000000-0000-4000-8000-" + strings.Repeat("0", 12-len(n)) + n, NamespaceID: ns.ID,
		Method: "number_of_tags", Value: int64(uniqueCount(x)), TagPatternMatches: true}
	if repo != nil {
		p.RepositoryID = repo.ID
	}
	if err := x.f.store.Registry.SaveAutoPrunePolicy(x.t.Context(), p, true); err != nil {
		x.t.Fatal(err)
	}
	return p.UUID
}

// uniqueCount is a number_of_tags value no other cell uses, so that no
// policy a cell writes duplicates another in the same namespace.
func uniqueCount(x *accessCellCtx) int {
	x.f.nextName("n")
	return 100000 + x.f.seq
}

// autoPruneAccessMatrix: organization policies are their administrators',
// a user's own are theirs, a repository's are its administrators' (spec
// §11.1; the read-only superuser's reads are internal/access's to grant).
func autoPruneAccessMatrix() []accessEndpoint {
	const GET, POST, PUT, DELETE = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	body := map[string]any{"method": "creation_date", "value": "2w", "tagPattern": "^rc"}
	orgPolicy := func(x *accessCellCtx) string {
		org := x.callerOrg()
		return "/api/v1/organization/" + org.Name + "/autoprunepolicy/" + x.newPolicy(org, nil)
	}
	userPolicy := func(x *accessCellCtx) string {
		return "/api/v1/user/autoprunepolicy/" + x.newPolicy(x.f.accounts[x.owner()], nil)
	}
	repoPolicy := func(x *accessCellCtx) string {
		path := "/api/v1/repository/" + x.callerRepo()
		repo := repoOf(x.t, x.f.store, path)
		return path + "/autoprunepolicy/" + x.newPolicy(x.f.accounts[x.owner()], repo)
	}
	eps := []accessEndpoint{
		slashRedirectCell(GET, "/api/v1/organization/{orgname}/autoprunepolicy"),
		slashRedirectCell(POST, "/api/v1/organization/{orgname}/autoprunepolicy"),
		slashRedirectCell(GET, "/api/v1/user/autoprunepolicy"),
		slashRedirectCell(POST, "/api/v1/user/autoprunepolicy"),
		slashRedirectCell(GET, "/api/v1/repository/{namespace}/{repository}/autoprunepolicy"),
		slashRedirectCell(POST, "/api/v1/repository/{namespace}/{repository}/autoprunepolicy"),
		{method: GET, route: "/api/v1/organization/{orgname}/autoprunepolicy/{$}", class: clsOrgAdmin, want: wantUsers(200),
			variants: accessNotOrgAdmin, build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/organization/" + x.callerOrg().Name + "/autoprunepolicy/"}
			}},
		{method: POST, route: "/api/v1/organization/{orgname}/autoprunepolicy/{$}", class: clsOrgAdmin, want: wantUsers(201),
			variants: accessNotOrgAdmin, build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/organization/" + x.callerOrg().Name + "/autoprunepolicy/", body: body}
			}},
		{method: GET, route: "/api/v1/user/autoprunepolicy/{$}", class: clsSignedIn, want: wantUsers(200),
			build: fixedPath("/api/v1/user/autoprunepolicy/")},
		{method: POST, route: "/api/v1/user/autoprunepolicy/{$}", class: clsSignedIn, want: wantUsers(201),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/user/autoprunepolicy/",
					body: map[string]any{"method": "number_of_tags", "value": uniqueCount(x)}}
			}},
		{method: GET, route: "/api/v1/repository/{namespace}/{repository}/autoprunepolicy/{$}", class: clsRepo, want: wantUsers(200),
			variants: accessOtherRepo, build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/repository/" + x.callerRepo() + "/autoprunepolicy/"}
			}},
		{method: POST, route: "/api/v1/repository/{namespace}/{repository}/autoprunepolicy/{$}", class: clsRepo, want: wantUsers(201),
			variants: accessOtherRepo, build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/repository/" + x.callerRepo() + "/autoprunepolicy/", body: body}
			}},
	}
	for _, one := range []struct {
		route    string
		class    accessClass
		variants []accessVariant
		path     func(x *accessCellCtx) string
	}{
		{"/api/v1/organization/{orgname}/autoprunepolicy/{policy_uuid}", clsOrgAdmin, accessNotOrgAdmin, orgPolicy},
		{"/api/v1/user/autoprunepolicy/{policy_uuid}", clsSignedIn, nil, userPolicy},
		{"/api/v1/repository/{namespace}/{repository}/autoprunepolicy/{policy_uuid}", clsRepo, accessOtherRepo, repoPolicy},
	} {
		eps = append(eps,
			accessEndpoint{method: GET, route: one.route, class: one.class, want: wantUsers(200), variants: one.variants,
				build: func(x *accessCellCtx) accessRequest { return accessRequest{path: one.path(x)} }},
			accessEndpoint{method: PUT, route: one.route, class: one.class, want: wantUsers(204), variants: one.variants,
				build: func(x *accessCellCtx) accessRequest {
					path := one.path(x)
					return accessRequest{path: path, body: map[string]any{"method": "number_of_tags", "value": uniqueCount(x)}}
				}},
			accessEndpoint{method: DELETE, route: one.route, class: one.class, want: wantUsers(200), variants: one.variants,
				build: func(x *accessCellCtx) accessRequest { return accessRequest{path: one.path(x)} }},
		)
	}
	return eps
}
