package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestPostgresOutage cuts the store off from PostgreSQL (a proxy, not the
// shared server) and back: while it is cut, reads, transactions and pings
// fail with Unavailable, not Internal; once it is back the same store
// works again without being reopened.
func TestPostgresOutage(t *testing.T) {
	if !hasPostgres(t) {
		return
	}
	ctx := context.Background()
	outage, uri := dbtest.NewOutage(t, dbtest.URI(t, db.Postgres))
	store, err := db.Open(ctx, uri, db.WithSecretKey(dbtest.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"ping", store.Ping},
		{"read", func(ctx context.Context) error {
			_, err := store.Accounts.AccountByName(ctx, "nobody")
			if wharf.IsCode(err, wharf.NotFound) {
				return nil
			}
			return err
		}},
		{"transaction", func(ctx context.Context) error {
			_, err := store.Leases.AcquireLease(ctx, "outage-test", "me", time.Minute)
			return err
		}},
	}
	for _, c := range calls {
		if err := c.call(ctx); err != nil {
			t.Fatalf("%s before the outage: %v", c.name, err)
		}
	}

	outage.Cut()
	for _, c := range calls {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.call(ctx)
		cancel()
		if !wharf.IsCode(err, wharf.Unavailable) {
			t.Errorf("%s during the outage: %v (code %s), want Unavailable", c.name, err, wharf.ErrorCode(err))
		}
	}

	outage.Restore()
	for _, c := range calls {
		if err := c.call(ctx); err != nil {
			t.Errorf("%s after the outage: %v", c.name, err)
		}
	}
}

// hasPostgres reports whether the PostgreSQL suite runs (dbtest.Engines
// fails the test when it must and does not).
func hasPostgres(t *testing.T) bool {
	for _, d := range dbtest.Engines(t) {
		if d == db.Postgres {
			return true
		}
	}
	return false
}
