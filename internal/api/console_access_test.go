package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// consoleAccessMatrix is the access matrix of the web console's own
// endpoints: the session is open (it tells who is signed in), the lists
// need what Quay's superuser lists of the same data need.
func consoleAccessMatrix() []accessEndpoint {
	const GET = http.MethodGet
	hasList := func(key string) func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
		return func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
			if _, ok := bodyField(t, r, key).([]any); !ok {
				t.Errorf("%s: %s", key, r.Body)
			}
		}
	}
	return []accessEndpoint{
		{method: GET, route: "/api/v1/console/session", class: clsOpen, want: wantAll(200), build: fixedPath("/api/v1/console/session"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if tok, _ := bodyField(t, r, "csrf_token").(string); tok == "" {
					t.Errorf("no csrf_token: %s", r.Body)
				}
			}},
		{method: GET, route: "/api/v1/console/users", class: clsInspect, want: wantInspect,
			build: fixedPath("/api/v1/console/users"), ok: hasList("users")},
		{method: GET, route: "/api/v1/console/organizations", class: clsInspect, want: wantInspect,
			build: fixedPath("/api/v1/console/organizations"), ok: hasList("organizations")},
		{method: GET, route: "/api/v1/console/namespaces", class: clsInspect, want: wantInspect,
			build: fixedPath("/api/v1/console/namespaces"), ok: hasList("namespaces")},
		{method: GET, route: "/api/v1/console/collection", class: clsInspect, want: wantInspect,
			build: fixedPath("/api/v1/console/collection"), ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if _, ok := bodyField(t, r, "bytes").(float64); !ok {
					t.Errorf("no bytes: %s", r.Body)
				}
			}},
		{method: GET, route: "/api/v1/console/logs", class: clsInspect, want: wantInspect,
			build: fixedPath("/api/v1/console/logs"), ok: hasList("logs")},
		{method: GET, route: "/api/v1/console/logs/counts", class: clsInspect, want: wantInspect,
			build: fixedPath("/api/v1/console/logs/counts"), ok: hasList("counts")},
		{method: GET, route: "/api/v1/console/builds", class: clsInspect, want: wantInspect,
			build: fixedPath("/api/v1/console/builds?state=all"), ok: hasList("builds")},
		{method: GET, route: "/export/logs", class: clsInspect, want: wantInspect, build: fixedPath("/export/logs?format=csv"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if !strings.HasPrefix(string(r.Body), "datetime,kind,namespace,performer,ip,metadata\n") {
					t.Errorf("CSV export: %.200s", r.Body)
				}
			}},
	}
}
