package api_test

import (
	"net/http"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// taggedRepo makes the cell's repository (see callerRepo) with an image
// tagged latest, and returns the repository's API path and the digest.
func (x *accessCellCtx) taggedRepo() (string, string) {
	x.t.Helper()
	path := "/api/v1/repository/" + x.callerRepo()
	d := storeImage(x.t, x.f.store, repoOf(x.t, x.f.store, path), "latest", x.f.nextName("img"), 10)
	return path, d
}

// labelled is taggedRepo with a label on the image; it returns the
// label's path.
func (x *accessCellCtx) labelled() string {
	x.t.Helper()
	path, d := x.taggedRepo()
	m, err := x.f.store.Registry.ManifestByDigest(x.t.Context(), repoOf(x.t, x.f.store, path).ID, d)
	if err != nil {
		x.t.Fatal(err)
	}
	n := strings.TrimPrefix(x.f.nextName("l"), "l")
	id := "00000000-0000-4000-8000-" + strings.Repeat("0", 12-len(n)) + n
	if err := x.f.store.Registry.AddLabel(x.t.Context(), wharf.Label{ID: id, ManifestID: m.ID, Key: "k", Value: "v",
		MediaType: "text/plain", SourceType: "api"}); err != nil {
		x.t.Fatal(err)
	}
	return path + "/manifest/" + d + "/labels/" + id
}

// accessTagRead: somebody else's public repository's tags are anyone's to
// read; a private one does not exist for the caller. (The global read-only
// superuser's reads of private repositories are internal/access's to
// grant; its cells join when it does.)
var accessTagRead = []accessVariant{
	{suffix: "-other-public-repo", target: tgtOtherPublicRepo, want: http.StatusOK,
		callers: []accessCaller{callerAnonymous, callerNormalToken, callerNormalSession, callerAdminSession, callerAdminTokenSuper}},
	{suffix: "-other-private-repo", target: tgtOtherPrivateRepo, want: http.StatusNotFound,
		callers: []accessCaller{callerAnonymous, callerNormalToken, callerNormalSession, callerAdminSession, callerAdminTokenSuper}},
}

// tagsAccessMatrix: reads for whoever may read the repository, writes for
// whoever may write it, as internal/access decides (spec §6, §15).
func tagsAccessMatrix() []accessEndpoint {
	const GET, PUT, POST, DELETE = http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete
	const repo = "/api/v1/repository/{namespace}/{repository}"
	readAll := wantAll(http.StatusOK)
	return []accessEndpoint{
		{method: GET, route: repo + "/tag/{$}", class: clsRepo, want: readAll, variants: accessTagRead,
			build: func(x *accessCellCtx) accessRequest {
				path, _ := x.taggedRepo()
				return accessRequest{path: path + "/tag/"}
			}},
		slashRedirectCell(GET, repo+"/tag"),
		{method: PUT, route: repo + "/tag/{tag}", class: clsRepo, want: wantUsers(http.StatusCreated), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				path, d := x.taggedRepo()
				return accessRequest{path: path + "/tag/moved", body: map[string]any{"manifest_digest": d}}
			}},
		{method: DELETE, route: repo + "/tag/{tag}", class: clsRepo, want: wantUsers(http.StatusNoContent), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				path, _ := x.taggedRepo()
				return accessRequest{path: path + "/tag/latest"}
			}},
		{method: POST, route: repo + "/tag/{tag}/restore", class: clsRepo, want: wantUsers(http.StatusOK), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				path, d := x.taggedRepo()
				return accessRequest{path: path + "/tag/back/restore", body: map[string]any{"manifest_digest": d}}
			}},
		{method: GET, route: repo + "/manifest/{manifestref}", class: clsRepo, want: readAll, variants: accessTagRead,
			build: func(x *accessCellCtx) accessRequest {
				path, d := x.taggedRepo()
				return accessRequest{path: path + "/manifest/" + d}
			}},
		{method: GET, route: repo + "/manifest/{manifestref}/labels", class: clsRepo, want: readAll, variants: accessTagRead,
			build: func(x *accessCellCtx) accessRequest {
				path, d := x.taggedRepo()
				return accessRequest{path: path + "/manifest/" + d + "/labels"}
			}},
		{method: POST, route: repo + "/manifest/{manifestref}/labels", class: clsRepo, want: wantUsers(http.StatusCreated), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				path, d := x.taggedRepo()
				return accessRequest{path: path + "/manifest/" + d + "/labels", body: map[string]any{"key": "k", "value": "v", "media_type": "text/plain"}}
			}},
		{method: GET, route: repo + "/manifest/{manifestref}/labels/{labelid}", class: clsRepo, want: readAll, variants: accessTagRead,
			build: func(x *accessCellCtx) accessRequest { return accessRequest{path: x.labelled()} }},
		{method: DELETE, route: repo + "/manifest/{manifestref}/labels/{labelid}", class: clsRepo, want: wantUsers(http.StatusNoContent),
			variants: accessOtherRepo,
			build:    func(x *accessCellCtx) accessRequest { return accessRequest{path: x.labelled()} }},
	}
}
