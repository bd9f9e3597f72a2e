package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// decodeAs decodes r's body into a value of type T, failing the test if it
// is not that JSON.
func decodeAs[T any](t testing.TB, r *response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	return v
}

// quotaLogs returns the action-log entries of the quota kinds, oldest first,
// as kind, namespace and metadata without the oauth_token_* keys (checked
// once, in TestSuperuserQuotaFamily).
func quotaLogs(t testing.TB, store *db.DB) []map[string]any {
	t.Helper()
	entries, err := store.Logs.ListLogs(context.Background(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		switch e.Kind {
		case "org_create_quota", "org_change_quota", "org_delete_quota",
			"org_create_quota_limit", "org_change_quota_limit", "org_delete_quota_limit":
		default:
			continue
		}
		meta := map[string]any{}
		for k, v := range e.Metadata {
			switch k {
			case "oauth_token_id", "oauth_token_application_id", "oauth_token_application":
			default:
				meta[k] = v
			}
		}
		out = append(out, map[string]any{"kind": e.Kind, "account": e.Account.Name, "performer": e.Performer.Name, "metadata": meta})
	}
	// Round-trip so that numbers compare as JSON numbers, whatever the
	// engine's decoding of the stored metadata.
	raw, _ := json.Marshal(out)
	out = nil
	json.Unmarshal(raw, &out)
	return out
}

func logRow(kind, ns string, meta map[string]any) map[string]any {
	return map[string]any{"kind": kind, "account": ns, "performer": "admin", "metadata": meta}
}

// TestSuperuserQuotaFamily drives the eight superuser quota endpoints
// (spec §2.8–2.15) as the seed's curl examples do: both path families run
// the same handlers for any namespace, and every change is in the action
// log with Quay's kind and metadata (the README: unlike Quay, these log).
func TestSuperuserQuotaFamily(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		e.createUser(adm, "alice")
		mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)

		for _, tc := range []struct{ ns, create, other string }{
			// An organization through the users/ paths and a user through
			// the organization/ paths: the word in the path is not checked.
			{"acme", "/api/v1/superuser/users/", "/api/v1/superuser/organization/"},
			{"alice", "/api/v1/superuser/organization/", "/api/v1/superuser/users/"},
		} {
			t.Run(tc.ns, func(t *testing.T) {
				list := tc.create + tc.ns + "/quota"
				r := adm.do("GET", list, nil)
				mustStatus(t, r, http.StatusOK)
				if string(bytes.TrimSpace(r.Body)) != "[]" {
					t.Fatalf("list before: %s", r.Body)
				}
				r = adm.do("POST", list, map[string]any{"limit_bytes": 10737418240})
				mustStatus(t, r, http.StatusCreated)
				if string(bytes.TrimSpace(r.Body)) != `"Created"` {
					t.Errorf("create body %s", r.Body)
				}
				views := decodeAs[[]map[string]any](t, adm.do("GET", tc.other+tc.ns+"/quota", nil))
				if len(views) != 1 {
					t.Fatalf("list after create: %v", views)
				}
				id := int64(views[0]["id"].(float64))
				want := map[string]any{"id": float64(id), "limit_bytes": float64(10737418240), "limit": "10.0 GiB",
					"default_config": false, "limits": []any{}, "default_config_exists": false}
				if diff := cmp.Diff(want, views[0]); diff != "" {
					t.Errorf("full view (-want +got):\n%s", diff)
				}

				// PUT with a decimal "limit": the answer's limit_bytes is an integer.
				item := fmt.Sprintf("%s%s/quota/%d", tc.other, tc.ns, id)
				r = adm.do("PUT", item, map[string]any{"limit": "5G"})
				mustStatus(t, r, http.StatusOK)
				if !bytes.Contains(r.Body, []byte(`"limit_bytes":5000000000,`)) || !bytes.Contains(r.Body, []byte(`"limit":"4.7 GiB"`)) {
					t.Errorf("change answer %s", r.Body)
				}
				// {} and 0 change nothing (and log nothing).
				for _, body := range []string{`{}`, `{"limit_bytes": 0}`, `{"limit": "0"}`} {
					r = adm.do("PUT", fmt.Sprintf("%s%s/quota/%d", tc.create, tc.ns, id), body)
					mustStatus(t, r, http.StatusOK)
					if !bytes.Contains(r.Body, []byte(`"limit_bytes":5000000000,`)) {
						t.Errorf("PUT %s answered %s", body, r.Body)
					}
				}
				// JSON Schema integers: 6e9 and 6000000000.0 are integers.
				r = adm.do("PUT", item, `{"limit_bytes": 6e9}`)
				mustStatus(t, r, http.StatusOK)
				r = adm.do("PUT", item, `{"limit_bytes": 6000000000.0}`)
				mustStatus(t, r, http.StatusOK)

				mustStatus(t, adm.do("DELETE", item, nil), http.StatusNoContent)
				mustStatus(t, adm.do("DELETE", item, nil), http.StatusNotFound)
				if r := adm.do("GET", list, nil); string(bytes.TrimSpace(r.Body)) != "[]" {
					t.Errorf("list after delete: %s", r.Body)
				}

				metaCreate := map[string]any{"namespace": tc.ns, "limit_bytes": float64(10737418240), "limit": "10.0 GiB"}
				change := func(prev, now float64, prevH, nowH string) map[string]any {
					return logRow("org_change_quota", tc.ns, map[string]any{"namespace": tc.ns, "quota_id": float64(id),
						"limit_bytes": now, "limit": nowH, "previous_limit_bytes": prev, "previous_limit": prevH})
				}
				var mine []map[string]any
				for _, l := range quotaLogs(t, store) {
					if l["account"] == tc.ns {
						mine = append(mine, l)
					}
				}
				wantLogs := []map[string]any{
					logRow("org_create_quota", tc.ns, metaCreate),
					change(10737418240, 5e9, "10.0 GiB", "4.7 GiB"),
					change(5e9, 6e9, "4.7 GiB", "5.6 GiB"),
					change(6e9, 6e9, "5.6 GiB", "5.6 GiB"),
					logRow("org_delete_quota", tc.ns, map[string]any{"namespace": tc.ns, "quota_id": float64(id),
						"limit_bytes": float64(6e9), "limit": "5.6 GiB"}),
				}
				if diff := cmp.Diff(wantLogs, mine); diff != "" {
					t.Errorf("action log (-want +got):\n%s", diff)
				}
			})
		}

		// Entries made with a token carry Quay's oauth_token_* keys.
		entries, err := store.Logs.ListLogs(t.Context(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 1})
		if err != nil || len(entries) == 0 {
			t.Fatalf("logs: %v %v", entries, err)
		}
		if e := entries[0]; e.Kind != "org_delete_quota" || e.Metadata["oauth_token_application"] == nil || e.Metadata["oauth_token_id"] == nil {
			t.Errorf("newest entry %+v", e)
		}
	})
}

// TestOrgQuotaAnsibleFlow makes quay_quota's calls (quay-clients.md) with a
// superuser token on an organization the superuser is not a member of.
func TestOrgQuotaAnsibleFlow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		alice := e.login("alice", e.createUser(adm, "alice"))
		bob := e.login("bob", e.createUser(adm, "bob"))
		mustStatus(t, alice.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)

		org := decodeAs[map[string]any](t, adm.do("GET", "/api/v1/organization/acme", nil))
		if qs, ok := org["quotas"].([]any); !ok || len(qs) != 0 || org["is_admin"] != false {
			t.Fatalf("org before: %v", org)
		}
		mustStatus(t, adm.do("POST", "/api/v1/organization/acme/quota", map[string]any{"limit_bytes": 1 << 30}), http.StatusCreated)
		r := adm.do("POST", "/api/v1/organization/acme/quota", map[string]any{"limit_bytes": 1 << 30})
		checkProblem(t, r, http.StatusBadRequest, "Organization quota for 'acme' already exists", "")
		list := decodeAs[[]map[string]any](t, adm.do("GET", "/api/v1/organization/acme/quota", nil))
		if len(list) != 1 {
			t.Fatalf("list: %v", list)
		}
		id := int64(list[0]["id"].(float64))
		base := fmt.Sprintf("/api/v1/organization/acme/quota/%d", id)

		mustStatus(t, adm.do("PUT", base, map[string]any{"limit_bytes": 2 << 30}), http.StatusOK)
		mustStatus(t, adm.do("POST", base+"/limit", map[string]any{"type": "Warning", "threshold_percent": 80}), http.StatusCreated)
		mustStatus(t, adm.do("POST", base+"/limit", map[string]any{"type": "reject", "threshold_percent": 95}), http.StatusCreated)
		r = adm.do("POST", base+"/limit", map[string]any{"type": "WARNING", "threshold_percent": 80})
		checkProblem(t, r, http.StatusBadRequest, "Quota limit already exists", "")

		// What quay_quota reads: quotas[0] of the organization.
		type limit struct {
			ID      int64  `json:"id"`
			Type    string `json:"type"`
			Percent int64  `json:"limit_percent"`
		}
		type short struct {
			ID         int64   `json:"id"`
			LimitBytes int64   `json:"limit_bytes"`
			Limits     []limit `json:"limits"`
		}
		orgView := decodeAs[struct{ Quotas []short }](t, adm.do("GET", "/api/v1/organization/acme", nil))
		if len(orgView.Quotas) != 1 || orgView.Quotas[0].ID != id || orgView.Quotas[0].LimitBytes != 2<<30 ||
			len(orgView.Quotas[0].Limits) != 2 || orgView.Quotas[0].Limits[0].Type != "Warning" || orgView.Quotas[0].Limits[1].Type != "Reject" {
			t.Fatalf("organization view quotas: %+v", orgView.Quotas)
		}
		warn, reject := orgView.Quotas[0].Limits[0], orgView.Quotas[0].Limits[1]

		r = adm.do("PUT", fmt.Sprintf("%s/limit/%d", base, warn.ID), map[string]any{"type": "Warning", "threshold_percent": 85})
		mustStatus(t, r, http.StatusOK)
		if v := decodeAs[map[string]any](t, r); v["id"] != float64(id) || v["limit"] != "2.0 GiB" {
			t.Errorf("change limit answer: %s", r.Body)
		}
		got := decodeAs[limit](t, alice.do("GET", fmt.Sprintf("%s/limit/%d", base, warn.ID), nil))
		if got != (limit{warn.ID, "Warning", 85}) {
			t.Errorf("limit after change: %+v", got)
		}
		mustStatus(t, adm.do("DELETE", fmt.Sprintf("%s/limit/%d", base, reject.ID), nil), http.StatusNoContent)
		mustStatus(t, adm.do("DELETE", fmt.Sprintf("%s/limit/%d", base, reject.ID), nil), http.StatusNotFound)

		// The organization's administrator reads but may not change its
		// quota; a non-member may not read it.
		mustStatus(t, alice.do("GET", "/api/v1/organization/acme/quota", nil), http.StatusOK)
		mustStatus(t, alice.do("GET", base, nil), http.StatusOK)
		mustStatus(t, alice.do("GET", base+"/limit", nil), http.StatusOK)
		aliceOrg := decodeAs[struct{ Quotas []short }](t, alice.do("GET", "/api/v1/organization/acme", nil))
		if len(aliceOrg.Quotas) != 1 {
			t.Errorf("the administrator's organization view: %+v", aliceOrg)
		}
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/api/v1/organization/acme/quota", map[string]any{"limit_bytes": 1}},
			{"PUT", base, map[string]any{"limit_bytes": 1}},
			{"DELETE", base, nil},
			{"POST", base + "/limit", map[string]any{"type": "Reject", "threshold_percent": 50}},
			{"PUT", fmt.Sprintf("%s/limit/%d", base, warn.ID), map[string]any{"threshold_percent": 50}},
			{"DELETE", fmt.Sprintf("%s/limit/%d", base, warn.ID), nil},
		} {
			before := snapshot(t, store)
			checkProblem(t, alice.do(c.method, c.path, c.body), http.StatusForbidden, "Unauthorized", "")
			if after := snapshot(t, store); after != before {
				t.Errorf("%s %s by the org admin changed the store:\n%s", c.method, c.path, snapshotDiff(before, after))
			}
		}
		for _, p := range []string{"/api/v1/organization/acme/quota", base, base + "/limit", fmt.Sprintf("%s/limit/%d", base, warn.ID)} {
			checkProblem(t, bob.do("GET", p, nil), http.StatusForbidden, "Unauthorized", "")
		}
		if v := decodeAs[map[string]any](t, bob.do("GET", "/api/v1/organization/acme", nil)); v["quotas"] != nil || v["quota_report"] != nil {
			t.Errorf("a non-member sees the quota: %v", v)
		}

		mustStatus(t, adm.do("DELETE", base, nil), http.StatusNoContent)
		if r := adm.do("GET", "/api/v1/organization/acme/quota", nil); string(bytes.TrimSpace(r.Body)) != "[]" {
			t.Errorf("list after delete: %s", r.Body)
		}

		wantLogs := []map[string]any{
			logRow("org_create_quota", "acme", map[string]any{"namespace": "acme", "limit_bytes": float64(1 << 30), "limit": "1.0 GiB"}),
			logRow("org_change_quota", "acme", map[string]any{"namespace": "acme", "quota_id": float64(id), "limit_bytes": float64(2 << 30),
				"limit": "2.0 GiB", "previous_limit_bytes": float64(1 << 30), "previous_limit": "1.0 GiB"}),
			logRow("org_create_quota_limit", "acme", map[string]any{"namespace": "acme", "type": "Warning", "threshold_percent": float64(80)}),
			logRow("org_create_quota_limit", "acme", map[string]any{"namespace": "acme", "type": "Reject", "threshold_percent": float64(95)}),
			logRow("org_change_quota_limit", "acme", map[string]any{"namespace": "acme", "type": "Warning", "threshold_percent": float64(85),
				"previous_type": "Warning", "previous_threshold_percent": float64(80)}),
			logRow("org_delete_quota_limit", "acme", map[string]any{"namespace": "acme", "limit_id": float64(reject.ID), "type": "Reject",
				"threshold_percent": float64(95)}),
			logRow("org_delete_quota", "acme", map[string]any{"namespace": "acme", "quota_id": float64(id), "limit_bytes": float64(2 << 30),
				"limit": "2.0 GiB"}),
		}
		if diff := cmp.Diff(wantLogs, quotaLogs(t, store)); diff != "" {
			t.Errorf("action log (-want +got):\n%s", diff)
		}
	})
}

// TestUserOwnQuota: the read-only user endpoints, and a user namespace on
// the organization paths (Quay looks quotas up by namespace name there,
// except for the list and create, which want an organization).
func TestUserOwnQuota(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		alice := e.login("alice", e.createUser(adm, "alice"))
		bob := e.login("bob", e.createUser(adm, "bob"))

		if r := alice.do("GET", "/api/v1/user/quota", nil); string(bytes.TrimSpace(r.Body)) != "[]" {
			t.Fatalf("no quota yet: %d %s", r.Status, r.Body)
		}
		mustStatus(t, adm.do("POST", "/api/v1/superuser/users/alice/quota", map[string]any{"limit": "500 MiB"}), http.StatusCreated)
		list := decodeAs[[]map[string]any](t, alice.do("GET", "/api/v1/user/quota", nil))
		if len(list) != 1 || list[0]["limit_bytes"] != float64(500<<20) || list[0]["limit"] != "500.0 MiB" {
			t.Fatalf("own list: %v", list)
		}
		id := int64(list[0]["id"].(float64))
		base := fmt.Sprintf("/api/v1/user/quota/%d", id)
		// Limits of a user namespace go through the organization path.
		orgPath := fmt.Sprintf("/api/v1/organization/alice/quota/%d", id)
		mustStatus(t, adm.do("POST", orgPath+"/limit", map[string]any{"type": "Reject", "threshold_percent": 90}), http.StatusCreated)
		limits := decodeAs[[]map[string]any](t, alice.do("GET", base+"/limit", nil))
		if len(limits) != 1 || limits[0]["type"] != "Reject" || limits[0]["limit_percent"] != float64(90) {
			t.Fatalf("own limits: %v", limits)
		}
		lid := int64(limits[0]["id"].(float64))
		mustStatus(t, alice.do("GET", base, nil), http.StatusOK)
		// Quay answers the single user limit with the quota's full view.
		if v := decodeAs[map[string]any](t, alice.do("GET", fmt.Sprintf("%s/limit/%d", base, lid), nil)); v["id"] != float64(id) || v["limit_bytes"] != float64(500<<20) {
			t.Errorf("own limit: %v", v)
		}
		checkProblem(t, alice.do("GET", fmt.Sprintf("%s/limit/%d", base, lid+1000), nil), http.StatusNotFound, "Not Found", "")
		checkProblem(t, alice.do("GET", "/api/v1/user/quota/abc", nil), http.StatusNotFound, "Not Found", "")
		// Her own namespace through the organization paths, as in Quay.
		mustStatus(t, alice.do("GET", orgPath, nil), http.StatusOK)
		mustStatus(t, alice.do("GET", orgPath+"/limit", nil), http.StatusOK)
		// Somebody else's quota is not found on the user paths, and refused
		// on the organization paths.
		for _, p := range []string{base, base + "/limit", fmt.Sprintf("%s/limit/%d", base, lid)} {
			checkProblem(t, bob.do("GET", p, nil), http.StatusNotFound, "Not Found", "")
		}
		checkProblem(t, bob.do("GET", orgPath, nil), http.StatusForbidden, "Unauthorized", "")
		// The list and create of the organization paths want an organization.
		checkProblem(t, adm.do("GET", "/api/v1/organization/alice/quota", nil), http.StatusNotFound, "Not Found", "")
		checkProblem(t, adm.do("POST", "/api/v1/organization/bob/quota", map[string]any{"limit_bytes": 1}), http.StatusNotFound, "Not Found", "")
		// A user cannot change their own quota.
		checkProblem(t, alice.do("PUT", orgPath, map[string]any{"limit_bytes": 1}), http.StatusForbidden, "Unauthorized", "")
		checkProblem(t, alice.do("PUT", base, map[string]any{"limit_bytes": 1}), http.StatusMethodNotAllowed, "", "")
	})
}

// TestQuotaInViews: the user and organization views show the namespace's
// real quota and usage (spec §1.9.2, §1.9.3), and the system default where
// Quay shows it.
func TestQuotaInViews(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		const def = 5 << 30
		e := newEnv(t, store, func(c *config.Config) { c.DefaultSystemRejectQuotaBytes = def })
		adm := e.bootstrap()
		alice := e.login("alice", e.createUser(adm, "alice"))
		mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
		mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "beta"}), http.StatusCreated)
		mustStatus(t, adm.do("POST", "/api/v1/superuser/organization/acme/quota", map[string]any{"limit_bytes": 1 << 30}), http.StatusCreated)
		acmeQuota := decodeAs[[]map[string]any](t, adm.do("GET", "/api/v1/superuser/organization/acme/quota", nil))[0]
		qid := acmeQuota["id"].(float64)
		if acmeQuota["default_config_exists"] != true {
			t.Errorf("default_config_exists with DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: %v", acmeQuota)
		}
		mustStatus(t, adm.do("POST", fmt.Sprintf("/api/v1/organization/acme/quota/%d/limit", int64(qid)),
			map[string]any{"type": "Reject", "threshold_percent": 90}), http.StatusCreated)

		report := func(used, configured any) map[string]any {
			return map[string]any{"quota_bytes": used, "configured_quota": configured, "running_backfill": "complete", "backfill_status": "complete"}
		}
		check := func(name string, v map[string]any, quotas []any, rep map[string]any) {
			t.Helper()
			if diff := cmp.Diff(quotas, v["quotas"]); diff != "" {
				t.Errorf("%s quotas (-want +got):\n%s", name, diff)
			}
			if diff := cmp.Diff(rep, v["quota_report"]); diff != "" {
				t.Errorf("%s quota_report (-want +got):\n%s", name, diff)
			}
		}
		q, err := store.Quotas.NamespaceQuota(t.Context(), mustAccount(t, store, "acme").ID)
		if err != nil {
			t.Fatal(err)
		}
		acmeShort := []any{map[string]any{"id": qid, "limit_bytes": float64(1 << 30),
			"limits": []any{map[string]any{"id": float64(q.Limits[0].ID), "type": "Reject", "limit_percent": float64(90)}}}}
		check("organization acme", decodeAs[map[string]any](t, adm.do("GET", "/api/v1/organization/acme", nil)), acmeShort, report(float64(0), float64(1<<30)))
		check("organization beta", decodeAs[map[string]any](t, adm.do("GET", "/api/v1/organization/beta", nil)), []any{}, report(float64(0), float64(def)))
		orgs := decodeAs[struct{ Organizations []map[string]any }](t, adm.do("GET", "/api/v1/superuser/organizations/", nil))
		for _, o := range orgs.Organizations {
			switch o["name"] {
			case "acme":
				check("superuser org acme", o, acmeShort, report(float64(0), float64(1<<30)))
			case "beta":
				check("superuser org beta", o, []any{}, report(float64(0), float64(def)))
			}
		}
		check("superuser user alice", decodeAs[map[string]any](t, adm.do("GET", "/api/v1/superuser/users/alice", nil)), []any{}, report(float64(0), float64(def)))
		check("alice herself", decodeAs[map[string]any](t, alice.do("GET", "/api/v1/user/", nil)), []any{}, report(float64(0), float64(def)))

		// The organization list synthesises the system default; the
		// superuser list never does.
		wantDefault := []any{map[string]any{"id": nil, "limit_bytes": float64(def), "limit": "5.0 GiB", "default_config": true,
			"limits": []any{}, "default_config_exists": true}}
		if diff := cmp.Diff(wantDefault, decodeAs[[]any](t, adm.do("GET", "/api/v1/organization/beta/quota", nil))); diff != "" {
			t.Errorf("organization list with the default (-want +got):\n%s", diff)
		}
		if r := adm.do("GET", "/api/v1/superuser/organization/beta/quota", nil); string(bytes.TrimSpace(r.Body)) != "[]" {
			t.Errorf("superuser list of beta: %s", r.Body)
		}
	})
}

// TestQuotaViewsWithoutDefault: without DEFAULT_SYSTEM_REJECT_QUOTA_BYTES,
// configured_quota is null and no default entry is synthesised.
func TestQuotaViewsWithoutDefault(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		v := decodeAs[map[string]any](t, adm.do("GET", "/api/v1/superuser/users/admin", nil))
		rep, _ := v["quota_report"].(map[string]any)
		if q, ok := rep["configured_quota"]; !ok || q != nil || rep["quota_bytes"] != float64(0) {
			t.Errorf("quota_report %v", v["quota_report"])
		}
		mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
		if r := adm.do("GET", "/api/v1/organization/acme/quota", nil); string(bytes.TrimSpace(r.Body)) != "[]" {
			t.Errorf("organization list without a default: %s", r.Body)
		}
	})
}

func mustAccount(t testing.TB, store *db.DB, name string) *wharf.Account {
	t.Helper()
	a, err := store.Accounts.AccountByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestQuotaFeatureOff: with FEATURE_QUOTA_MANAGEMENT (or FEATURE_EDIT_QUOTA)
// off the quota endpoints do not exist and the views have no quota keys;
// registry size does not depend on them.
func TestQuotaFeatureOff(t *testing.T) {
	for name, tweak := range map[string]func(*config.Config){
		"management": func(c *config.Config) { c.FeatureQuotaManagement = false },
		"edit":       func(c *config.Config) { c.FeatureEditQuota = false },
	} {
		t.Run(name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				e := newEnv(t, store, tweak)
				adm := e.bootstrap()
				mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
				for _, p := range []string{"/api/v1/superuser/users/admin/quota", "/api/v1/organization/acme/quota", "/api/v1/user/quota"} {
					checkProblem(t, adm.do("GET", p, nil), http.StatusNotFound, "Not Found", "")
				}
				for _, p := range []string{"/api/v1/superuser/users/admin", "/api/v1/organization/acme", "/api/v1/user/"} {
					v := decodeAs[map[string]any](t, adm.do("GET", p, nil))
					if _, ok := v["quotas"]; ok {
						t.Errorf("quotas in the view of %s: %v", p, v)
					}
					if _, ok := v["quota_report"]; ok {
						t.Errorf("quota_report in the view of %s: %v", p, v)
					}
				}
				mustStatus(t, adm.do("GET", "/api/v1/superuser/registrysize/", nil), http.StatusOK)
			})
		})
	}
}

// TestQuotaBadInputChangesNothing: every bad quota request gets a 4xx
// error JSON and leaves the store (quotas and action log included) as it was.
func TestQuotaBadInputChangesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		e.createUser(adm, "alice")
		mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
		mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "beta"}), http.StatusCreated)
		if _, err := repositories(store).CreateRobot(t.Context(), &wharf.Caller{}, mustAccount(t, store, "acme"), "bot", ""); err != nil {
			t.Fatal(err)
		}
		mustStatus(t, adm.do("POST", "/api/v1/superuser/organization/acme/quota", map[string]any{"limit_bytes": 1 << 30}), http.StatusCreated)
		mustStatus(t, adm.do("POST", "/api/v1/superuser/organization/beta/quota", map[string]any{"limit_bytes": 1 << 30}), http.StatusCreated)
		acme, err := store.Quotas.NamespaceQuota(t.Context(), mustAccount(t, store, "acme").ID)
		if err != nil {
			t.Fatal(err)
		}
		beta, err := store.Quotas.NamespaceQuota(t.Context(), mustAccount(t, store, "beta").ID)
		if err != nil {
			t.Fatal(err)
		}
		mustStatus(t, adm.do("POST", fmt.Sprintf("/api/v1/organization/acme/quota/%d/limit", acme.ID),
			map[string]any{"type": "Warning", "threshold_percent": 80}), http.StatusCreated)
		mustStatus(t, adm.do("POST", fmt.Sprintf("/api/v1/organization/acme/quota/%d/limit", acme.ID),
			map[string]any{"type": "Reject", "threshold_percent": 95}), http.StatusCreated)
		acme, _ = store.Quotas.NamespaceQuota(t.Context(), acme.NamespaceID)
		warn, betaQuota := acme.Limits[0].ID, beta.ID

		const su, suUsers = "/api/v1/superuser/organization/", "/api/v1/superuser/users/"
		suItem := fmt.Sprintf("%sacme/quota/%d", su, acme.ID)
		org := "/api/v1/organization/acme/quota"
		orgItem := fmt.Sprintf("%s/%d", org, acme.ID)
		limit := orgItem + "/limit"
		limitItem := fmt.Sprintf("%s/%d", limit, warn)
		const bad, notFound = http.StatusBadRequest, http.StatusNotFound
		negative := "Invalid quota size limit value: '-1'"
		exactlyOne := "'limit_bytes' (an integer) or 'limit' (a size such as \"10 GiB\") is required"
		notBoth := "Send either 'limit_bytes' or 'limit', not both"
		threshold := "Quota limit threshold must be between 1 and 100"
		kind := "Quota type must be one of [Warning, Reject]"

		cases := []badInput{
			// Sizes: negative, zero, non-integer, strings, booleans, null, too big.
			{name: "create negative", method: "POST", path: su + "alice/quota", body: `{"limit_bytes": -1}`, status: bad, msg: negative},
			{name: "create zero", method: "POST", path: suUsers + "alice/quota", body: `{"limit_bytes": 0}`, status: bad, msg: "Invalid quota size limit value: '0'"},
			{name: "create zero limit", method: "POST", path: suUsers + "alice/quota", body: `{"limit": "0"}`, status: bad, msg: "Invalid quota size limit value: '0'"},
			{name: "create fraction", method: "POST", path: su + "alice/quota", body: `{"limit_bytes": 10.5}`, status: bad, contains: "'limit_bytes'"},
			{name: "create string bytes", method: "POST", path: su + "alice/quota", body: `{"limit_bytes": "1024"}`, status: bad, contains: "'limit_bytes'"},
			{name: "create boolean", method: "POST", path: su + "alice/quota", body: `{"limit_bytes": true}`, status: bad, contains: "'limit_bytes'"},
			{name: "create null", method: "POST", path: su + "alice/quota", body: `{"limit_bytes": null}`, status: bad, contains: "'limit_bytes'"},
			{name: "create huge", method: "POST", path: su + "alice/quota", body: `{"limit_bytes": 1e30}`, status: bad, msg: "Unsupported quota size limit."},
			{name: "create huge negative", method: "POST", path: su + "alice/quota", body: `{"limit_bytes": -99999999999999999999}`, status: bad, msg: "Invalid quota size limit value: '-99999999999999999999'"},
			{name: "create limit number", method: "POST", path: su + "alice/quota", body: `{"limit": 1024}`, status: bad, contains: "'limit'"},
			{name: "create limit garbage", method: "POST", path: su + "alice/quota", body: `{"limit": "lots"}`, status: bad, contains: "Invalid limit format"},
			{name: "create limit negative", method: "POST", path: su + "alice/quota", body: `{"limit": "-5 GiB"}`, status: bad, contains: "Invalid limit format"},
			{name: "create limit 100B", method: "POST", path: su + "alice/quota", body: `{"limit": "100B"}`, status: bad, msg: "Invalid limit format"},
			{name: "create limit ZiB", method: "POST", path: su + "alice/quota", body: `{"limit": "1 ZiB"}`, status: bad, msg: "Invalid limit format"},
			{name: "create limit too big", method: "POST", path: su + "alice/quota", body: `{"limit": "10 EB"}`, status: bad, msg: "Unsupported quota size limit."},
			{name: "create both", method: "POST", path: su + "alice/quota", body: `{"limit_bytes": 1024, "limit": "1 KiB"}`, status: bad, msg: notBoth},
			{name: "create neither", method: "POST", path: su + "alice/quota", body: `{}`, status: bad, msg: exactlyOne},
			{name: "create LIMIT_BYTES", method: "POST", path: su + "alice/quota", body: `{"LIMIT_BYTES": 1024}`, status: bad, msg: exactlyOne},
			{name: "create org negative", method: "POST", path: "/api/v1/organization/alice/quota", body: `{"limit_bytes": -1}`, status: bad, msg: negative},
			// A second quota.
			{name: "second quota superuser", method: "POST", path: suUsers + "acme/quota", body: `{"limit_bytes": 1024}`, status: bad, msg: "Quota for 'acme' already exists"},
			{name: "second quota org", method: "POST", path: org, body: `{"limit": "1 GiB"}`, status: bad, msg: "Organization quota for 'acme' already exists"},
			// Unknown or wrong namespaces (Quay: 500), unknown and foreign quota ids.
			{name: "create unknown namespace", method: "POST", path: su + "nobody/quota", body: `{"limit_bytes": 1024}`, status: notFound},
			{name: "create robot namespace", method: "POST", path: suUsers + "acme+bot/quota", body: `{"limit_bytes": 1024}`, status: notFound},
			{name: "list unknown namespace", method: "GET", path: suUsers + "nobody/quota", status: notFound},
			{name: "list robot namespace", method: "GET", path: su + "acme+bot/quota", status: notFound},
			{name: "change unknown namespace", method: "PUT", path: fmt.Sprintf("%snobody/quota/%d", su, acme.ID), body: `{"limit_bytes": 1024}`, status: notFound},
			{name: "delete unknown namespace", method: "DELETE", path: fmt.Sprintf("%snobody/quota/%d", suUsers, acme.ID), status: notFound},
			{name: "change unknown quota", method: "PUT", path: su + "acme/quota/99999", body: `{"limit_bytes": 1024}`, status: notFound},
			{name: "change non-numeric quota", method: "PUT", path: su + "acme/quota/abc", body: `{"limit_bytes": 1024}`, status: notFound},
			{name: "change foreign quota", method: "PUT", path: fmt.Sprintf("%sacme/quota/%d", su, betaQuota), body: `{"limit_bytes": 1024}`, status: notFound},
			{name: "delete foreign quota", method: "DELETE", path: fmt.Sprintf("%sacme/quota/%d", suUsers, betaQuota), status: notFound},
			{name: "delete quota of user without one", method: "DELETE", path: fmt.Sprintf("%salice/quota/%d", suUsers, acme.ID), status: notFound},
			{name: "org change foreign quota", method: "PUT", path: fmt.Sprintf("%s/%d", org, betaQuota), body: `{"limit_bytes": 1024}`, status: notFound},
			{name: "org delete foreign quota", method: "DELETE", path: fmt.Sprintf("%s/%d", org, betaQuota), status: notFound},
			{name: "org list unknown org", method: "GET", path: "/api/v1/organization/nobody/quota", status: notFound},
			{name: "org create on a user", method: "POST", path: "/api/v1/organization/alice/quota", body: `{"limit_bytes": 1024}`, status: notFound},
			{name: "org list of a user", method: "GET", path: "/api/v1/organization/alice/quota", status: notFound},
			{name: "org get of a robot", method: "GET", path: fmt.Sprintf("/api/v1/organization/acme+bot/quota/%d", acme.ID), status: notFound},
			// Change bodies are closed objects.
			{name: "change negative", method: "PUT", path: suItem, body: `{"limit_bytes": -1}`, status: bad, msg: negative},
			{name: "change fraction", method: "PUT", path: suItem, body: `{"limit_bytes": 1.5}`, status: bad, contains: "'limit_bytes'"},
			{name: "change string bytes", method: "PUT", path: suItem, body: `{"limit_bytes": "5"}`, status: bad, contains: "'limit_bytes'"},
			{name: "change both", method: "PUT", path: suItem, body: `{"limit_bytes": 1024, "limit": "1 KiB"}`, status: bad, msg: notBoth},
			{name: "change extra key", method: "PUT", path: suItem, body: `{"limit_bytes": 1024, "name": "x"}`, status: bad, msg: "Additional properties are not allowed ('name' was unexpected)"},
			{name: "change only extra key", method: "PUT", path: orgItem, body: `{"limits": []}`, status: bad, msg: "Additional properties are not allowed ('limits' was unexpected)"},
			{name: "change org negative", method: "PUT", path: orgItem, body: `{"limit_bytes": -1}`, status: bad, msg: negative},
			{name: "change limit garbage", method: "PUT", path: orgItem, body: `{"limit": "5 gigs"}`, status: bad, contains: "Invalid limit format"},
			// Malformed bodies.
			{name: "create malformed", method: "POST", path: su + "alice/quota", body: `{"limit_bytes": `, status: bad},
			{name: "create array", method: "POST", path: su + "alice/quota", body: `[{"limit_bytes": 1}]`, status: bad},
			{name: "create no body", method: "POST", path: su + "alice/quota", body: nil, status: http.StatusUnsupportedMediaType, msg: not415},
			{name: "change JSON null", method: "PUT", path: suItem, body: `null`, status: bad, msg: "Missing JSON body"},
			{name: "create text/plain", method: "POST", path: org, body: `{"limit_bytes": 1}`, headers: []string{"Content-Type", "text/plain"}, status: http.StatusUnsupportedMediaType, msg: not415},
			// Limits: thresholds, types, required fields, duplicates, unknown ids.
			{name: "threshold 0", method: "POST", path: limit, body: `{"type": "Warning", "threshold_percent": 0}`, status: bad, msg: threshold},
			{name: "threshold 101", method: "POST", path: limit, body: `{"type": "Warning", "threshold_percent": 101}`, status: bad, msg: threshold},
			{name: "threshold -5", method: "POST", path: limit, body: `{"type": "Reject", "threshold_percent": -5}`, status: bad, msg: threshold},
			{name: "threshold huge", method: "POST", path: limit, body: `{"type": "Reject", "threshold_percent": 1e40}`, status: bad, msg: threshold},
			{name: "threshold abc", method: "POST", path: limit, body: `{"type": "Warning", "threshold_percent": "abc"}`, status: bad, contains: "'threshold_percent'"},
			{name: "threshold string number", method: "POST", path: limit, body: `{"type": "Warning", "threshold_percent": "50"}`, status: bad, contains: "'threshold_percent'"},
			{name: "threshold fraction", method: "POST", path: limit, body: `{"type": "Warning", "threshold_percent": 50.5}`, status: bad, contains: "'threshold_percent'"},
			{name: "type unknown", method: "POST", path: limit, body: `{"type": "Error", "threshold_percent": 50}`, status: bad, msg: kind},
			{name: "type number", method: "POST", path: limit, body: `{"type": 1, "threshold_percent": 50}`, status: bad, contains: "'type'"},
			{name: "type missing", method: "POST", path: limit, body: `{"threshold_percent": 50}`, status: bad, msg: "'type' is a required property"},
			{name: "threshold missing", method: "POST", path: limit, body: `{"type": "Warning"}`, status: bad, msg: "'threshold_percent' is a required property"},
			{name: "limit duplicate", method: "POST", path: limit, body: `{"type": "warning", "threshold_percent": 80}`, status: bad, msg: "Quota limit already exists"},
			{name: "limit on unknown quota", method: "POST", path: org + "/99999/limit", body: `{"type": "Warning", "threshold_percent": 50}`, status: notFound},
			{name: "limit on foreign quota", method: "POST", path: fmt.Sprintf("%s/%d/limit", org, betaQuota), body: `{"type": "Warning", "threshold_percent": 50}`, status: notFound},
			{name: "limit on unknown org", method: "POST", path: fmt.Sprintf("/api/v1/organization/nobody/quota/%d/limit", acme.ID), body: `{"type": "Warning", "threshold_percent": 50}`, status: notFound},
			{name: "change threshold 101", method: "PUT", path: limitItem, body: `{"threshold_percent": 101}`, status: bad, msg: threshold},
			{name: "change threshold 0", method: "PUT", path: limitItem, body: `{"threshold_percent": 0}`, status: bad, msg: threshold},
			{name: "change type unknown", method: "PUT", path: limitItem, body: `{"type": "Soft"}`, status: bad, msg: kind},
			{name: "change to duplicate", method: "PUT", path: limitItem, body: `{"type": "Reject", "threshold_percent": 95}`, status: bad, msg: "Quota limit already exists"},
			{name: "change unknown limit", method: "PUT", path: limit + "/99999", body: `{"threshold_percent": 50}`, status: notFound},
			{name: "get unknown limit", method: "GET", path: limit + "/99999", status: notFound},
			{name: "delete unknown limit", method: "DELETE", path: limit + "/99999", status: notFound},
			{name: "delete limit of foreign quota", method: "DELETE", path: fmt.Sprintf("%s/%d/limit/%d", org, betaQuota, warn), status: notFound},
			// Registry size: the only refusal is a wrong method.
			{name: "registry size PUT", method: "PUT", path: "/api/v1/superuser/registrysize/", body: `{}`, status: http.StatusMethodNotAllowed},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := snapshot(t, store)
				r := adm.boundTo(t).do(c.method, c.path, c.body, c.headers...)
				checkProblem(t, r, c.status, c.msg, c.contains)
				if after := snapshot(t, store); after != before {
					t.Errorf("%s %s changed the store:\n%s", c.method, c.path, snapshotDiff(before, after))
				}
			})
		}

		// Positive controls: the corrected requests succeed and change the
		// snapshot (so quotas are in it), or change nothing when they should not.
		controls := []goodInput{
			{name: "create alice 1e3", method: "POST", path: su + "alice/quota", body: `{"limit_bytes": 1e3}`, status: http.StatusCreated, changes: true},
			{name: "change acme 5 GiB", method: "PUT", path: suItem, body: `{"limit": "5 GiB"}`, status: http.StatusOK, changes: true},
			{name: "change acme {}", method: "PUT", path: suItem, body: `{}`, status: http.StatusOK},
			{name: "change acme 0", method: "PUT", path: orgItem, body: `{"limit_bytes": 0}`, status: http.StatusOK},
			{name: "limit threshold 100", method: "POST", path: limit, body: `{"type": "WARNING", "threshold_percent": 100.0}`, status: http.StatusCreated, changes: true},
			{name: "limit change type", method: "PUT", path: limitItem, body: `{"type": "reject"}`, status: http.StatusOK, changes: true},
			{name: "delete beta quota", method: "DELETE", path: fmt.Sprintf("%sbeta/quota/%d", suUsers, beta.ID), status: http.StatusNoContent, changes: true},
		}
		for _, c := range controls {
			t.Run("control/"+c.name, func(t *testing.T) {
				before := snapshot(t, store)
				r := adm.boundTo(t).do(c.method, c.path, c.body, c.headers...)
				if r.Status != c.status {
					t.Errorf("%s %s: status %d, want %d; body: %.300s", c.method, c.path, r.Status, c.status, r.Body)
				}
				after := snapshot(t, store)
				switch {
				case c.changes && after == before:
					t.Errorf("%s %s succeeded but the snapshot did not change", c.method, c.path)
				case !c.changes && after != before:
					t.Errorf("%s %s changed the store:\n%s", c.method, c.path, snapshotDiff(before, after))
				}
			})
		}
	})
}

// TestRegistrySize: spec §2.25–2.26 and the seed's examples: the state
// before any run, 201 then 202 while queued, a run by the job, the 308 for
// the path without its slash, and the request body ignored.
func TestRegistrySize(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		alice := e.login("alice", e.createUser(adm, "alice"))
		const path = "/api/v1/superuser/registrysize/"
		state := func() map[string]any {
			t.Helper()
			r := adm.do("GET", path, nil)
			mustStatus(t, r, http.StatusOK)
			return r.JSON(t)
		}
		if diff := cmp.Diff(map[string]any{"size_bytes": float64(0), "last_ran": nil, "queued": false, "running": false}, state()); diff != "" {
			t.Errorf("before any request (-want +got):\n%s", diff)
		}
		// The seed's body (with a namespace) is ignored, as is a non-JSON one.
		r := adm.do("POST", path, map[string]any{"namespace": "acme", "last_ran": 1700000000, "queued": true, "running": false})
		mustStatus(t, r, http.StatusCreated)
		if string(bytes.TrimSpace(r.Body)) != `""` {
			t.Errorf("body %s", r.Body)
		}
		r = adm.do("POST", path, "not json", "Content-Type", "text/plain")
		mustStatus(t, r, http.StatusAccepted)
		if diff := cmp.Diff(map[string]any{"size_bytes": float64(0), "last_ran": nil, "queued": true, "running": false}, state()); diff != "" {
			t.Errorf("queued (-want +got):\n%s", diff)
		}
		before := time.Now().UnixMilli()
		if ran, err := store.Usage.CalculateRegistrySize(t.Context()); err != nil || !ran {
			t.Fatalf("calculation: %v %v", ran, err)
		}
		after := state()
		if last, _ := after["last_ran"].(float64); int64(last) < before-1000 || after["queued"] != false || after["running"] != false {
			t.Errorf("after a run: %v", after)
		}
		mustStatus(t, adm.do("POST", path, nil), http.StatusCreated)

		// Without the slash: 308 to the slashed URL, method kept.
		r = adm.do("POST", "/api/v1/superuser/registrysize", map[string]any{})
		mustStatus(t, r, http.StatusPermanentRedirect)
		if loc := r.Header.Get("Location"); loc != e.srv.URL+path {
			t.Errorf("Location %q", loc)
		}
		checkProblem(t, alice.do("GET", path, nil), http.StatusForbidden, "Unauthorized", "")
		checkProblem(t, alice.do("POST", path, nil), http.StatusForbidden, "Unauthorized", "")
	})
}
