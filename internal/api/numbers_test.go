package api_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestHostileNumbers checks that numbers whose value would take math/big
// hundreds of megabytes or seconds to build (a huge exponent, a
// body-sized run of digits) are refused with Quay's error JSON before any
// such arithmetic: each answer is a 400 that allocates a few megabytes at
// most (a 1 MiB body is read and decoded, nothing more).
func TestHostileNumbers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
		r := adm.do("POST", "/api/v1/organization/acme/quota", map[string]any{"limit_bytes": 1 << 30})
		mustStatus(t, r, http.StatusCreated)
		r = adm.do("GET", "/api/v1/organization/acme/quota", nil)
		mustStatus(t, r, http.StatusOK)
		quotaID := int64(decodeAs[[]map[string]any](t, r)[0]["id"].(float64))
		quota := fmt.Sprintf("/api/v1/organization/acme/quota/%d", quotaID)

		digits := strings.Repeat("9", 1<<20-64) // a body just under MaxBodyBytes
		const outOfRange = "number out of range"
		tests := []struct {
			name, method, path, body, contains string
		}{
			{"huge exponent", "POST", "/api/v1/organization/acme/quota", `{"limit_bytes":1e600000000}`, outOfRange},
			{"huge exponent, superuser", "POST", "/api/v1/superuser/users/admin/quota", `{"limit_bytes":1e600000000}`, outOfRange},
			{"huge negative exponent", "POST", "/api/v1/superuser/users/admin/quota", `{"limit_bytes":1e-600000000}`, outOfRange},
			{"negative with huge exponent", "POST", "/api/v1/superuser/users/admin/quota", `{"limit_bytes":-1E+600000000}`, outOfRange},
			{"zero with huge exponent", "POST", "/api/v1/superuser/users/admin/quota", `{"limit_bytes":0e600000000}`, outOfRange},
			{"exponent beyond int", "POST", "/api/v1/superuser/users/admin/quota", `{"limit_bytes":1e99999999999999999999999}`, outOfRange},
			{"a megabyte of digits", "POST", "/api/v1/superuser/users/admin/quota", `{"limit_bytes":` + digits + `}`, outOfRange},
			{"change with huge exponent", "PUT", quota, `{"limit_bytes":1e600000000}`, outOfRange},
			{"limit string of a megabyte", "POST", "/api/v1/superuser/users/admin/quota", `{"limit":"` + digits + ` GiB"}`, "Invalid limit format"},
			{"threshold with huge exponent", "POST", quota + "/limit", `{"type":"Warning","threshold_percent":1e600000000}`, outOfRange},
			{"threshold of a megabyte", "POST", quota + "/limit", `{"type":"Warning","threshold_percent":` + digits + `}`, outOfRange},
			{"service key expiration of a megabyte", "POST", "/api/v1/superuser/keys", `{"service":"quay","expiration":` + digits + `}`, "Invalid expiration date"},
			{"published key expiration too long", "PUT", "/keys/services/clair/keys/k1?expiration=" + strings.Repeat("1", 65), `{}`, "'expiration'"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				start := time.Now()
				r := adm.do(tt.method, tt.path, tt.body)
				took := time.Since(start)
				runtime.ReadMemStats(&after)
				checkProblem(t, r, http.StatusBadRequest, "", tt.contains)
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
					t.Errorf("the request allocated %d MiB", alloc>>20)
				}
				if took > 5*time.Second {
					t.Errorf("the request took %v", took)
				}
			})
		}
	})
}
