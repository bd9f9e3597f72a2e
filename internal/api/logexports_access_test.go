package api_test

import (
	"net/http"
	"testing"
)

// Log exports in the access matrix (TestAccessMatrix): spec §7.1 — an
// organization's administrators and read-only superusers export the
// organization's logs, every user their own namespace's, a repository's
// administrators the repository's (read-only superusers not: Quay's
// require_repo_admin does not admit them); superusers without read-only
// rights are refused as on the log lists. A refused caller gets 401/403
// before the body is read.
func logExportsAccessMatrix() []accessEndpoint {
	const POST = http.MethodPost
	body := map[string]any{"callback_email": "ops@example.com"}
	orgVariants := append(append([]accessVariant{}, accessNotOrgAdmin...), accessReadonlyReads(tgtOther))
	repoVariants := append(append([]accessVariant{}, accessOtherRepo...),
		accessVariant{suffix: "-readonly-superuser", target: tgtOtherPrivateRepo, want: http.StatusForbidden, callers: []accessCaller{callerAuditorToken}})
	return []accessEndpoint{
		{method: POST, route: "/api/v1/organization/{orgname}/exportlogs", class: clsOrgAdmin, want: wantUsers(200), variants: orgVariants,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/organization/" + x.callerOrg().Name + "/exportlogs", body: body}
			}, ok: exportQueued},
		{method: POST, route: "/api/v1/user/exportlogs", class: clsSignedIn, want: wantUsers(200),
			build: func(*accessCellCtx) accessRequest { return accessRequest{path: "/api/v1/user/exportlogs", body: body} }, ok: exportQueued},
		{method: POST, route: "/api/v1/repository/{namespace}/{repository}/exportlogs", class: clsRepo, want: wantUsers(200), variants: repoVariants,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/repository/" + x.callerRepo() + "/exportlogs", body: body}
			}, ok: exportQueued},
	}
}

// exportQueued checks an export's answer: an export_id that is a UUID.
func exportQueued(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
	if id, _ := bodyField(t, r, "export_id").(string); !uuidForm.MatchString(id) {
		t.Errorf("%s: export_id %q is not a UUID: %s", rq.path, id, r.Body)
	}
}
