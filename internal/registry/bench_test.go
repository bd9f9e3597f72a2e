package registry_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// BenchmarkRobotLogin measures /v2/auth with a robot token in a namespace
// of 10 robots and again once it has 10,000: a robot login looks its robot
// up by name, so the two cost about the same (ratio near 1).
func BenchmarkRobotLogin(b *testing.B) {
	const few, many, logins = 10, 10_000, 300
	for _, d := range dbtest.Engines(b) {
		b.Run(string(d), func(b *testing.B) {
			uri := dbtest.URI(b, d)
			store, err := db.Open(context.Background(), uri, db.WithSecretKey(dbtest.SecretKey))
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			e := newEnv(b, store)
			e.createOrg("acme")
			token := e.createRobot("acme", "ci")
			for i := 1; i < few; i++ {
				e.createRobot("acme", "bot"+string(rune('a'+i)))
			}
			robot := e.as("acme+ci", token)
			measure := func() time.Duration {
				start := time.Now()
				for range logins {
					if r := robot.login("repository:acme/app:pull,push"); r.Status != http.StatusOK {
						b.Fatalf("robot login: %s", r)
					}
				}
				return time.Since(start) / logins
			}
			measure() // warm-up
			b.ResetTimer()
			var atFew, atMany time.Duration
			for range b.N {
				atFew = measure()
			}
			seedRobots(b, uri, "acme", many-few)
			for range b.N {
				atMany = measure()
			}
			b.ReportMetric(float64(atFew.Nanoseconds()), "ns/login@10")
			b.ReportMetric(float64(atMany.Nanoseconds()), "ns/login@10k")
			b.ReportMetric(float64(atMany)/float64(atFew), "ratio@10k/10")
		})
	}
}

// seedRobots adds n robots to namespace ns in one statement each for the
// accounts and the robot rows, straight through database/sql (their tokens
// are never used).
func seedRobots(b *testing.B, uri, ns string, n int) {
	b.Helper()
	if n == 0 {
		return
	}
	_, driver, dsn, err := db.SQLDriver(uri)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	now := time.Now().UnixMicro()
	for _, q := range []string{
		`INSERT INTO account (name, kind, enabled, verified, tag_expiration_s, created_at)
			WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)
			SELECT $2 || '+seeded' || i, 'robot', TRUE, TRUE, 0, $3 FROM seq`,
		`INSERT INTO robot (account_id, namespace_id, token, description, created_at)
			SELECT a.id, ns.id, 'unused', '', $3 FROM account a, account ns
			WHERE a.name LIKE $2 || '+seeded%' AND ns.name = $2 AND $1 > 0`,
	} {
		if _, err := raw.Exec(q, n, ns, now); err != nil {
			b.Fatal(err)
		}
	}
}
