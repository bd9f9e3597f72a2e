package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// seedUsers inserts n users named user1..userN in one statement, straight
// through database/sql: seeding 100,000 accounts through the API would
// measure bcrypt, not the list.
func seedUsers(b *testing.B, uri string, n int) {
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
	_, err = raw.Exec(`INSERT INTO account (name, kind, email, enabled, verified, tag_expiration_s, created_at)
		WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)
		SELECT 'user' || i, 'user', 'user' || i || '@example.com', TRUE, TRUE, 1209600, $2 FROM seq`, n, time.Now().UnixMicro())
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkListAllUsersPages walks every page of listAllUsers (limit 100)
// over 100,000 users and reports the cost of the first and the last pages:
// with keyset pagination page 1000 costs about what page 1 does. The walk
// also checks that every user comes back exactly once.
func BenchmarkListAllUsersPages(b *testing.B) {
	const users, limit = 100000, 100
	for _, d := range dbtest.Engines(b) {
		b.Run(string(d), func(b *testing.B) {
			uri := dbtest.URI(b, d)
			store, err := db.Open(context.Background(), uri)
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			e := newEnv(b, store, nil)
			admin := e.bootstrap()
			seedUsers(b, uri, users)
			// One warm-up call, so that page 1 is not charged for cold caches.
			mustStatus(b, admin.do("GET", fmt.Sprintf("/api/v1/superuser/users/?limit=%d", limit), nil), http.StatusOK)
			b.ResetTimer()
			for range b.N {
				seen := make(map[string]bool, users+1)
				var durations []time.Duration
				next := ""
				for {
					path := fmt.Sprintf("/api/v1/superuser/users/?limit=%d", limit)
					if next != "" {
						path += "&next_page=" + next
					}
					start := time.Now()
					r := admin.do("GET", path, nil)
					durations = append(durations, time.Since(start))
					mustStatus(b, r, http.StatusOK)
					body := r.JSON(b)
					for _, u := range body["users"].([]any) {
						name := u.(map[string]any)["username"].(string)
						if seen[name] {
							b.Fatalf("%s returned twice", name)
						}
						seen[name] = true
					}
					tok, ok := body["next_page"].(string)
					if !ok {
						break
					}
					next = tok
				}
				if len(seen) != users+1 {
					b.Fatalf("walk saw %d users, want %d", len(seen), users+1)
				}
				first, last := mean(durations[:10]), mean(durations[len(durations)-10:])
				b.ReportMetric(float64(len(durations)), "pages")
				b.ReportMetric(float64(first.Microseconds())/1000, "first10-ms/page")
				b.ReportMetric(float64(last.Microseconds())/1000, "last10-ms/page")
				b.ReportMetric(float64(last)/float64(first), "last/first")
			}
		})
	}
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}
