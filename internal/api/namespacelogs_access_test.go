package api_test

import (
	"net/http"
	"testing"
)

// Namespace and repository logs in the access matrix (TestAccessMatrix):
// spec §7.1 and §15 — an organization's administrators, a repository's
// administrators, the user for their own namespace and global read-only
// superusers read them; superusers without read-only rights are refused
// as in Quay without FEATURE_SUPERUSERS_FULL_ACCESS.

// accessReadonlyReads: the read-only superuser's token reads somebody
// else's logs too.
func accessReadonlyReads(target accessTarget) accessVariant {
	return accessVariant{suffix: "-readonly-superuser", target: target, want: http.StatusOK, callers: []accessCaller{callerAuditorToken}}
}

// logsListed checks a namespace log page: no namespace block (the path
// names it) and, with kind, an entry of that kind.
func logsListed(kind string) func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
	return func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
		logs, isList := bodyField(t, r, "logs").([]any)
		if !isList {
			t.Fatalf("logs: %s", r.Body)
		}
		found := kind == ""
		for _, l := range logs {
			e := l.(map[string]any)
			if _, has := e["namespace"]; has {
				t.Errorf("namespace block in %s: %v", rq.path, e)
			}
			found = found || e["kind"] == kind
		}
		if !found {
			t.Errorf("no %s entry in %s: %s", kind, rq.path, r.Body)
		}
	}
}

func aggregated(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
	if _, isList := bodyField(t, r, "aggregated").([]any); !isList {
		t.Errorf("aggregated: %s", r.Body)
	}
}

func namespaceLogsAccessMatrix() []accessEndpoint {
	const GET = http.MethodGet
	orgPath := func(suffix string) func(x *accessCellCtx) accessRequest {
		return func(x *accessCellCtx) accessRequest {
			return accessRequest{path: "/api/v1/organization/" + x.callerOrg().Name + suffix}
		}
	}
	repoPath := func(suffix string) func(x *accessCellCtx) accessRequest {
		return func(x *accessCellCtx) accessRequest {
			return accessRequest{path: "/api/v1/repository/" + x.callerRepo() + suffix}
		}
	}
	orgVariants := append(append([]accessVariant{}, accessNotOrgAdmin...), accessReadonlyReads(tgtOther))
	repoVariants := append(append([]accessVariant{}, accessOtherRepo...), accessReadonlyReads(tgtOtherPrivateRepo))
	return []accessEndpoint{
		{method: GET, route: "/api/v1/organization/{orgname}/logs", class: clsOrgAdmin, want: wantUsers(200), variants: orgVariants,
			build: orgPath("/logs"), ok: logsListed("")},
		{method: GET, route: "/api/v1/organization/{orgname}/aggregatelogs", class: clsOrgAdmin, want: wantUsers(200), variants: orgVariants,
			build: orgPath("/aggregatelogs"), ok: aggregated},
		{method: GET, route: "/api/v1/user/logs", class: clsSignedIn, want: wantUsers(200), build: fixedPath("/api/v1/user/logs"), ok: logsListed("")},
		{method: GET, route: "/api/v1/user/aggregatelogs", class: clsSignedIn, want: wantUsers(200), build: fixedPath("/api/v1/user/aggregatelogs"), ok: aggregated},
		{method: GET, route: "/api/v1/repository/{namespace}/{repository}/logs", class: clsRepo, want: wantUsers(200), variants: repoVariants,
			build: repoPath("/logs"), ok: logsListed("create_repo")},
		{method: GET, route: "/api/v1/repository/{namespace}/{repository}/aggregatelogs", class: clsRepo, want: wantUsers(200), variants: repoVariants,
			build: repoPath("/aggregatelogs"), ok: aggregated},
	}
}
