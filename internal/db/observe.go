package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// What operators read about the store: health checks and metrics.

// Ping makes a round trip to the database; Unavailable when it cannot be
// reached.
func (db *DB) Ping(ctx context.Context) error {
	// A pooled connection the server dropped fails its ping with
	// ErrBadConn, which database/sql does not retry for pings: the
	// connection is discarded, so try again, at most once per connection
	// the pool may hold, before saying the database is gone.
	var err error
	for range db.sql.Stats().MaxOpenConnections + 1 {
		if err = db.sql.PingContext(ctx); !errors.Is(err, driver.ErrBadConn) {
			return wharf.Wrap(err, "ping the database")
		}
	}
	return &wharf.Error{Code: wharf.Unavailable, Message: errUnreachable, Err: err}
}

// Stats are the connection pool's statistics.
func (db *DB) Stats() sql.DBStats { return db.sql.Stats() }
