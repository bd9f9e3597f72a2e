package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// seedServiceKeys inserts n service keys in one statement, straight through
// database/sql (the key server's caps would refuse them, rightly): every
// other one approved by approverID, so that half the views carry the
// approver's user view.
func seedServiceKeys(b *testing.B, uri string, n int, approverID int64) {
	b.Helper()
	_, driver, dsn, err := db.SQLDriver(uri)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	_, err = raw.Exec(`INSERT INTO service_key (kid, service, name, jwk, metadata, created_at, rotation_duration,
			approval_type, approver_id, approved_at, notes, client_addr)
		WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)
		SELECT 'kid' || i, 'svc' || (i % 20), 'key ' || i,
			'{"e":"AQAB","kid":"kid' || i || '","kty":"RSA","n":"' || $2 || '"}',
			'{"created_by":"bench","ip":"10.0.0.1"}', CAST($3 AS BIGINT) + i, 600,
			CASE WHEN i % 2 = 0 THEN 'superuser' END, CASE WHEN i % 2 = 0 THEN CAST($4 AS BIGINT) END,
			CASE WHEN i % 2 = 0 THEN CAST($3 AS BIGINT) END, '', '10.0.0.1'
		FROM seq`, n, b64url(sharedRSAKey(b).N.Bytes()), time.Now().UnixMicro(), approverID)
	if err != nil {
		b.Fatal(err)
	}
}

// keyListEnv is a served API whose store holds n service keys, and its admin.
func keyListEnv(b *testing.B, d db.Dialect, n int) (*testEnv, *client) {
	b.Helper()
	uri := dbtest.URI(b, d)
	store, err := db.Open(context.Background(), uri)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	e := newEnv(b, store, nil)
	admin := e.bootstrap()
	acct, err := store.Accounts.AccountByName(context.Background(), "admin")
	if err != nil {
		b.Fatal(err)
	}
	seedServiceKeys(b, uri, n, acct.ID)
	return e, admin
}

// BenchmarkListServiceKeys measures GET /api/v1/superuser/keys over 10,000
// keys (ns/op) and reports it against two references measured in the same
// run, so that the numbers mean the same on any machine:
//
//   - per-key/100: the cost per key of the same listing over 100 keys; near
//     1 means the listing grows linearly (no per-key queries, nothing worse);
//   - x/json.Marshal: against json.Marshal of the 10,000 keys as the store
//     returns them, the floor any encoding of them costs.
func BenchmarkListServiceKeys(b *testing.B) {
	const large, small = 10000, 100
	for _, d := range dbtest.Engines(b) {
		b.Run(string(d), func(b *testing.B) {
			bigEnv, bigAdmin := keyListEnv(b, d, large)
			_, smallAdmin := keyListEnv(b, d, small)
			list := func(c *client) (time.Duration, []byte) {
				start := time.Now()
				r := c.do("GET", "/api/v1/superuser/keys", nil)
				took := time.Since(start)
				mustStatus(b, r, http.StatusOK)
				return took, r.Body
			}
			// The first listings check the bodies, and warm caches and connections.
			for c, n := range map[*client]int{bigAdmin: large, smallAdmin: small} {
				var body struct{ Keys []json.RawMessage }
				if _, raw := list(c); json.Unmarshal(raw, &body) != nil || len(body.Keys) != n {
					b.Fatalf("listed %d keys, want %d", len(body.Keys), n)
				}
			}
			keys, err := bigEnv.store.ServiceKeys.ListServiceKeys(context.Background(), "", time.Time{})
			if err != nil || len(keys) != large {
				b.Fatalf("store lists %d keys, want %d (%v)", len(keys), large, err)
			}

			var bigTotal, smallTotal, marshalTotal time.Duration
			var size int
			b.ResetTimer()
			for range b.N {
				took, body := list(bigAdmin)
				bigTotal, size = bigTotal+took, len(body)
				b.StopTimer()
				for range 10 {
					took, _ := list(smallAdmin)
					smallTotal += took / 10
				}
				start := time.Now()
				if _, err := json.Marshal(keys); err != nil {
					b.Fatal(err)
				}
				marshalTotal += time.Since(start)
				b.StartTimer()
			}
			perKeyBig := float64(bigTotal) / large
			perKeySmall := float64(smallTotal) / small
			b.ReportMetric(float64(bigTotal.Microseconds())/1000/float64(b.N), "ms/list-10k")
			b.ReportMetric(float64(smallTotal.Microseconds())/1000/float64(b.N), "ms/list-100")
			b.ReportMetric(float64(marshalTotal.Microseconds())/1000/float64(b.N), "ms/marshal-10k")
			b.ReportMetric(perKeyBig/perKeySmall, "per-key/100")
			b.ReportMetric(float64(bigTotal)/float64(marshalTotal), "x/json.Marshal")
			b.ReportMetric(float64(size)/1e6, "MB")
		})
	}
}
