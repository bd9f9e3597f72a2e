package api

import (
	"encoding/json"
	"testing"
)

// FuzzQuotaBody feeds quota and quota-limit bodies to the readers of their
// numbers: every refusal must be a client error, every size non-negative,
// and no literal may make math/big build a huge value (the seeds of
// TestHostileNumbers once took 250 MB or minutes each).
func FuzzQuotaBody(f *testing.F) {
	for _, s := range []string{
		`{"limit_bytes": 1024}`, `{"limit": "10 GiB"}`, `{"limit_bytes": 6e9}`, `{"limit_bytes": 6000000000.0}`,
		`{"limit_bytes": 1e30}`, `{"limit_bytes": -99999999999999999999}`, `{"limit_bytes": 0}`, `{}`,
		`{"limit_bytes": 1e600000000}`, `{"limit_bytes": -1E+600000000}`, `{"limit_bytes": 1e-600000000}`,
		`{"limit_bytes": 0e600000000}`, `{"limit_bytes": 1e99999999999999999999999}`,
		`{"limit_bytes": 0.00000000000000000000000000000000000000000000000000000000001e80}`,
		`{"type": "Warning", "threshold_percent": 80}`, `{"type": "Reject", "threshold_percent": 1e600000000}`,
		`{"threshold_percent": 5.0}`, `{"threshold_percent": 1e2}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var fields map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &fields) != nil {
			return
		}
		for _, change := range []bool{false, true} {
			n, err := quotaBytes(fields, change)
			if err != nil {
				checkClientError(t, err)
			} else if n < 0 {
				t.Fatalf("quotaBytes(%s, change %v) = %d", body, change, n)
			}
		}
		if _, _, err := limitFields(fields, false); err != nil {
			checkClientError(t, err)
		}
	})
}
