package api_test

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

var updateServiceKeyGolden = flag.Bool("update-servicekey-golden", false, "rewrite testdata/servicekeys_*.golden.json")

// TestServiceKeyViewsGolden pins the bytes of listServiceKeys and
// getServiceKey (§1.9.5, jsonify: compact, keys sorted at every level) for
// every kind of key: approved by a superuser (with the approver's user
// view), approved automatically (approver null), awaiting approval; with
// nested metadata, numbers and characters JSON escapes.
func TestServiceKeyViewsGolden(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		admin, err := store.Accounts.AccountByName(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		base := time.Date(2099, 2, 18, 19, 28, 15, 0, time.UTC)
		exp := base.Add(48 * time.Hour)
		rotation := int64(600)
		for _, k := range []*wharf.ServiceKey{
			{Kid: "k1", Service: "quay", Name: "n<1>", JWK: map[string]any{"kty": "RSA", "n": "bW9kdWx1cw", "e": "AQAB", "kid": "k1"},
				Metadata:  map[string]any{"z": 1, "a": map[string]any{"y": "<b>&", "b": []any{1, 2.5, 1e21, nil, true}}, "u": "é\u2028x"},
				CreatedAt: base, ExpiresAt: &exp, RotationDuration: &rotation,
				Approval: &wharf.ServiceKeyApproval{Type: wharf.ApprovalSuperuser, ApproverID: admin.ID, ApprovedAt: base, Notes: `ok "q"`}},
			{Kid: "k2", Service: "clair", JWK: map[string]any{"kty": "RSA", "n": "bW9kdWx1cw", "e": "AQAB", "kid": "k2"},
				CreatedAt: base.Add(time.Second)},
			{Kid: "k3", Service: "wharf", JWK: map[string]any{"kty": "RSA", "n": "bW9kdWx1cw", "e": "AQAB", "kid": "k3"},
				Metadata: map[string]any{}, CreatedAt: base.Add(2 * time.Second),
				Approval: &wharf.ServiceKeyApproval{Type: wharf.ApprovalAutomatic, ApprovedAt: base}},
		} {
			if err := store.ServiceKeys.CreateServiceKey(ctx, k, wharf.ServiceKeyGC{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct{ name, path string }{
			{"list", "/api/v1/superuser/keys"},
			{"get", "/api/v1/superuser/keys/k1"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := adm.boundTo(t).do("GET", tt.path, nil)
				mustStatus(t, r, http.StatusOK)
				checkSortedJSON(t, r.Body)
				golden := filepath.Join("testdata", "servicekeys_"+tt.name+".golden.json")
				if *updateServiceKeyGolden {
					if err := os.WriteFile(golden, r.Body, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(r.Body, want) {
					t.Errorf("%s differs from %s (-update-servicekey-golden rewrites it):\ngot  %s\nwant %s", tt.path, golden, r.Body, want)
				}
			})
		}
	})
}
