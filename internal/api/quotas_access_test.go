package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Quotas and registry size in the access matrix (TestAccessMatrix).

// newQuota gives ns a 1 GiB quota with a Warning limit at 80%, straight
// through the store, and returns their ids.
func (x *accessCellCtx) newQuota(ns *wharf.Account) (quotaID, limitID int64) {
	x.t.Helper()
	q := &wharf.Quota{NamespaceID: ns.ID, LimitBytes: 1 << 30}
	if err := x.f.store.Quotas.CreateQuota(x.t.Context(), q, "exists"); err != nil {
		x.t.Fatal(err)
	}
	l := &wharf.QuotaLimit{Kind: "Warning", Percent: 80}
	if err := x.f.store.Quotas.CreateQuotaLimit(x.t.Context(), q.ID, l); err != nil {
		x.t.Fatal(err)
	}
	return q.ID, l.ID
}

// ownQuota returns the quota of the shared account name (one of the
// matrix's users), creating it on first use.
func (x *accessCellCtx) ownQuota(name string) (quotaID, limitID int64) {
	x.t.Helper()
	ns := x.f.accounts[name]
	q, err := x.f.store.Quotas.NamespaceQuota(x.t.Context(), ns.ID)
	if wharf.IsCode(err, wharf.NotFound) {
		return x.newQuota(ns)
	}
	if err != nil {
		x.t.Fatal(err)
	}
	return q.ID, q.Limits[0].ID
}

// account loads the account named name.
func (x *accessCellCtx) account(name string) *wharf.Account {
	x.t.Helper()
	a, err := x.f.store.Accounts.AccountByName(x.t.Context(), name)
	if err != nil {
		x.t.Fatal(err)
	}
	return a
}

// pathSegment returns segment i of path ("/api/v1/x" has "api" at 1).
func pathSegment(path string, i int) string {
	path, _, _ = strings.Cut(path, "?")
	return strings.Split(path, "/")[i]
}

// quotaOfPath returns the stored quota of the namespace at segment i of
// path (nil when it has none).
func quotaOfPath(t *testing.T, x *accessCellCtx, path string, i int) *wharf.Quota {
	t.Helper()
	q, err := x.f.store.Quotas.NamespaceQuota(t.Context(), x.account(pathSegment(path, i)).ID)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func checkCreated(t *testing.T, r *response) {
	t.Helper()
	if got := string(bytes.TrimSpace(r.Body)); got != `"Created"` {
		t.Errorf("body %s, want \"Created\"", got)
	}
}

// checkQuotaList asserts a list of one full quota view with id.
func checkQuotaList(t *testing.T, r *response, id int64) {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list) != 1 || list[0]["id"] != float64(id) ||
		list[0]["limit"] != "1.0 GiB" || list[0]["default_config"] != false {
		t.Errorf("quota list %s, want the quota %d (err %v)", r.Body, id, err)
	}
}

// accessOrgQuotaRead: another's organization's quota is for its members
// and superusers (whose credential carries super:user).
var accessOrgQuotaRead = []accessVariant{
	{suffix: "-other-org", target: tgtOther, want: http.StatusForbidden,
		callers: []accessCaller{callerNormalToken, callerNormalSession, callerAdminTokenNoSuper}},
	{suffix: "-other-org-superuser", target: tgtOther, want: http.StatusOK,
		callers: []accessCaller{callerAuditorToken, callerAdminSession, callerAdminTokenSuper}},
}

// accessOrgQuotaWrite: changing an organization's quota is for full
// superusers on any organization; its administrators may not.
func accessOrgQuotaWrite(status int) []accessVariant {
	return []accessVariant{
		{suffix: "-other-org", target: tgtOther, want: http.StatusForbidden,
			callers: []accessCaller{callerNormalToken, callerNormalSession, callerAuditorToken, callerAdminTokenNoSuper}},
		{suffix: "-other-org-superuser", target: tgtOther, want: status,
			callers: []accessCaller{callerAdminSession, callerAdminTokenSuper}},
	}
}

// accessOtherUserQuota: the user quota endpoints show the caller's own
// quota only; another user's quota id is not found.
var accessOtherUserQuota = []accessVariant{{suffix: "-other-namespace", target: tgtOther, want: http.StatusNotFound,
	callers: []accessCaller{callerNormalToken, callerNormalSession, callerAuditorToken, callerAdminSession, callerAdminTokenSuper}}}

func quotaAccessMatrix() []accessEndpoint {
	const GET, POST, PUT, DELETE = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	var eps []accessEndpoint

	// The superuser family (spec §1.11 #8–#15): both path families, any
	// namespace; here a fresh user for users/, a fresh organization of
	// alice's for organization/.
	families := []struct {
		route string
		ns    func(x *accessCellCtx) *wharf.Account
	}{
		{"/api/v1/superuser/users/{namespace}/quota", func(x *accessCellCtx) *wharf.Account { return x.account(x.newUser()) }},
		{"/api/v1/superuser/organization/{namespace}/quota", func(x *accessCellCtx) *wharf.Account { return x.newOrg("alice") }},
	}
	for _, fam := range families {
		path := func(ns *wharf.Account) string { return strings.Replace(fam.route, "{namespace}", ns.Name, 1) }
		eps = append(eps,
			accessEndpoint{method: GET, route: fam.route, class: clsInspect, want: wantInspect,
				build: func(x *accessCellCtx) accessRequest {
					ns := fam.ns(x)
					x.newQuota(ns)
					return accessRequest{path: path(ns)}
				},
				ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
					checkQuotaList(t, r, quotaOfPath(t, x, rq.path, 5).ID)
				}},
			accessEndpoint{method: POST, route: fam.route, class: clsAdmin, want: wantAdminister(http.StatusCreated),
				build: func(x *accessCellCtx) accessRequest {
					return accessRequest{path: path(fam.ns(x)), body: map[string]any{"limit_bytes": 10737418240}}
				},
				ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
					checkCreated(t, r)
					if q := quotaOfPath(t, x, rq.path, 5); q == nil || q.LimitBytes != 10737418240 {
						t.Errorf("stored quota %+v", q)
					}
				}},
			accessEndpoint{method: PUT, route: fam.route + "/{quota_id}", class: clsAdmin, want: wantAdminister(http.StatusOK),
				build: func(x *accessCellCtx) accessRequest {
					ns := fam.ns(x)
					id, _ := x.newQuota(ns)
					return accessRequest{path: fmt.Sprintf("%s/%d", path(ns), id), body: map[string]any{"limit": "5 GiB"}}
				},
				ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
					// An integer, not Quay's 5368709120.0 (README).
					if !bytes.Contains(r.Body, []byte(`"limit_bytes":5368709120,`)) {
						t.Errorf("body %s, want the integer limit_bytes 5368709120", r.Body)
					}
				}},
			accessEndpoint{method: DELETE, route: fam.route + "/{quota_id}", class: clsSuperWrite, want: wantAdminister(http.StatusNoContent),
				build: func(x *accessCellCtx) accessRequest {
					ns := fam.ns(x)
					id, _ := x.newQuota(ns)
					return accessRequest{path: fmt.Sprintf("%s/%d", path(ns), id)}
				},
				ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
					if q := quotaOfPath(t, x, rq.path, 5); q != nil {
						t.Errorf("quota %+v still there", q)
					}
				}})
	}

	// The organization endpoints (§3.12): reads for members and
	// superusers, writes for full superusers only. The caller's own target
	// is a fresh organization it administers.
	orgQuota := func(x *accessCellCtx) (org *wharf.Account, quotaID, limitID int64) {
		org = x.callerOrg()
		quotaID, limitID = x.newQuota(org)
		return org, quotaID, limitID
	}
	orgPath := func(org *wharf.Account, rest ...any) string {
		p := "/api/v1/organization/" + org.Name + "/quota"
		for _, r := range rest {
			p += fmt.Sprintf("/%v", r)
		}
		return p
	}
	eps = append(eps,
		accessEndpoint{method: GET, route: "/api/v1/organization/{orgname}/quota", class: clsOrgMember, want: wantUsers(200), variants: accessOrgQuotaRead,
			build: func(x *accessCellCtx) accessRequest {
				org, _, _ := orgQuota(x)
				return accessRequest{path: orgPath(org)}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				checkQuotaList(t, r, quotaOfPath(t, x, rq.path, 4).ID)
			}},
		accessEndpoint{method: POST, route: "/api/v1/organization/{orgname}/quota", class: clsSuperWrite, want: wantAdminister(201),
			variants: accessOrgQuotaWrite(201),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: orgPath(x.callerOrg()), body: map[string]any{"limit_bytes": 1 << 30}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				checkCreated(t, r)
				if q := quotaOfPath(t, x, rq.path, 4); q == nil || q.LimitBytes != 1<<30 {
					t.Errorf("stored quota %+v", q)
				}
			}},
		accessEndpoint{method: GET, route: "/api/v1/organization/{orgname}/quota/{quota_id}", class: clsOrgMember, want: wantUsers(200), variants: accessOrgQuotaRead,
			build: func(x *accessCellCtx) accessRequest {
				org, id, _ := orgQuota(x)
				return accessRequest{path: orgPath(org, id)}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if got := bodyField(t, r, "limit_bytes"); got != float64(1<<30) {
					t.Errorf("limit_bytes %v", got)
				}
			}},
		accessEndpoint{method: PUT, route: "/api/v1/organization/{orgname}/quota/{quota_id}", class: clsSuperWrite, want: wantAdminister(200),
			variants: accessOrgQuotaWrite(200),
			build: func(x *accessCellCtx) accessRequest {
				org, id, _ := orgQuota(x)
				return accessRequest{path: orgPath(org, id), body: map[string]any{"limit_bytes": 2 << 30}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if q := quotaOfPath(t, x, rq.path, 4); q == nil || q.LimitBytes != 2<<30 {
					t.Errorf("stored quota %+v", q)
				}
			}},
		accessEndpoint{method: DELETE, route: "/api/v1/organization/{orgname}/quota/{quota_id}", class: clsSuperWrite, want: wantAdminister(204),
			variants: accessOrgQuotaWrite(204),
			build: func(x *accessCellCtx) accessRequest {
				org, id, _ := orgQuota(x)
				return accessRequest{path: orgPath(org, id)}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if q := quotaOfPath(t, x, rq.path, 4); q != nil {
					t.Errorf("quota %+v still there", q)
				}
			}},
		accessEndpoint{method: GET, route: "/api/v1/organization/{orgname}/quota/{quota_id}/limit", class: clsOrgMember, want: wantUsers(200), variants: accessOrgQuotaRead,
			build: func(x *accessCellCtx) accessRequest {
				org, id, _ := orgQuota(x)
				return accessRequest{path: orgPath(org, id, "limit")}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if !bytes.Contains(r.Body, []byte(`"limit_percent":80,"type":"Warning"`)) {
					t.Errorf("limits %s", r.Body)
				}
			}},
		accessEndpoint{method: POST, route: "/api/v1/organization/{orgname}/quota/{quota_id}/limit", class: clsSuperWrite, want: wantAdminister(201),
			variants: accessOrgQuotaWrite(201),
			build: func(x *accessCellCtx) accessRequest {
				org, id, _ := orgQuota(x)
				return accessRequest{path: orgPath(org, id, "limit"), body: map[string]any{"type": "Reject", "threshold_percent": 95}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				checkCreated(t, r)
				if q := quotaOfPath(t, x, rq.path, 4); q == nil || len(q.Limits) != 2 {
					t.Errorf("stored quota %+v", q)
				}
			}},
		accessEndpoint{method: GET, route: "/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}", class: clsOrgMember, want: wantUsers(200), variants: accessOrgQuotaRead,
			build: func(x *accessCellCtx) accessRequest {
				org, id, lid := orgQuota(x)
				return accessRequest{path: orgPath(org, id, "limit", lid)}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if got := bodyField(t, r, "limit_percent"); got != float64(80) {
					t.Errorf("limit %s", r.Body)
				}
			}},
		accessEndpoint{method: PUT, route: "/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}", class: clsSuperWrite, want: wantAdminister(200),
			variants: accessOrgQuotaWrite(200),
			build: func(x *accessCellCtx) accessRequest {
				org, id, lid := orgQuota(x)
				return accessRequest{path: orgPath(org, id, "limit", lid), body: map[string]any{"threshold_percent": 70}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if q := quotaOfPath(t, x, rq.path, 4); q == nil || q.Limits[0].Percent != 70 {
					t.Errorf("stored quota %+v", q)
				}
			}},
		accessEndpoint{method: DELETE, route: "/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}", class: clsSuperWrite, want: wantAdminister(204),
			variants: accessOrgQuotaWrite(204),
			build: func(x *accessCellCtx) accessRequest {
				org, id, lid := orgQuota(x)
				return accessRequest{path: orgPath(org, id, "limit", lid)}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if q := quotaOfPath(t, x, rq.path, 4); q == nil || len(q.Limits) != 0 {
					t.Errorf("stored quota %+v", q)
				}
			}},
	)

	// The caller's own quota, read-only (a token needs user:admin; every
	// token of the matrix has it). Variants ask for somebody else's.
	eps = append(eps,
		accessEndpoint{method: GET, route: "/api/v1/user/quota", class: clsSignedIn, want: wantUsers(200),
			build: func(x *accessCellCtx) accessRequest {
				x.ownQuota(x.owner())
				return accessRequest{path: "/api/v1/user/quota"}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				id, _ := x.ownQuota(x.p.user)
				checkQuotaList(t, r, id)
			}},
		accessEndpoint{method: GET, route: "/api/v1/user/quota/{quota_id}", class: clsSignedIn, want: wantUsers(200), variants: accessOtherUserQuota,
			build: func(x *accessCellCtx) accessRequest {
				id, _ := x.ownQuota(x.owner())
				return accessRequest{path: fmt.Sprintf("/api/v1/user/quota/%d", id)}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if got := bodyField(t, r, "id"); fmt.Sprint(got) != pathSegment(rq.path, 5) {
					t.Errorf("id %v for %s", got, rq.path)
				}
			}},
		accessEndpoint{method: GET, route: "/api/v1/user/quota/{quota_id}/limit", class: clsSignedIn, want: wantUsers(200), variants: accessOtherUserQuota,
			build: func(x *accessCellCtx) accessRequest {
				id, _ := x.ownQuota(x.owner())
				return accessRequest{path: fmt.Sprintf("/api/v1/user/quota/%d/limit", id)}
			}},
		accessEndpoint{method: GET, route: "/api/v1/user/quota/{quota_id}/limit/{limit_id}", class: clsSignedIn, want: wantUsers(200), variants: accessOtherUserQuota,
			build: func(x *accessCellCtx) accessRequest {
				id, lid := x.ownQuota(x.owner())
				return accessRequest{path: fmt.Sprintf("/api/v1/user/quota/%d/limit/%d", id, lid)}
			}},
	)

	// Registry size (§1.11 #25, #26). POST answers 201 only when it queued
	// a run: each cell first runs whatever is queued, as the job would.
	eps = append(eps,
		accessEndpoint{method: GET, route: "/api/v1/superuser/registrysize/{$}", class: clsInspect, want: wantInspect,
			build: fixedPath("/api/v1/superuser/registrysize/"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				m := r.JSON(t)
				for _, k := range []string{"size_bytes", "last_ran", "queued", "running"} {
					if _, ok := m[k]; !ok {
						t.Errorf("no %q: %s", k, r.Body)
					}
				}
			}},
		accessEndpoint{method: POST, route: "/api/v1/superuser/registrysize/{$}", class: clsAdmin, want: wantAdminister(201),
			build: func(x *accessCellCtx) accessRequest {
				if _, err := x.f.store.Usage.CalculateRegistrySize(x.t.Context()); err != nil {
					x.t.Fatal(err)
				}
				return accessRequest{path: "/api/v1/superuser/registrysize/", body: map[string]any{"queued": true}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if got := string(bytes.TrimSpace(r.Body)); got != `""` {
					t.Errorf("body %s, want \"\"", got)
				}
			}},
		slashRedirectCell(GET, "/api/v1/superuser/registrysize"),
		slashRedirectCell(POST, "/api/v1/superuser/registrysize"),
	)
	return eps
}
