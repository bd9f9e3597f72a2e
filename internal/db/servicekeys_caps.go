package db

import (
	"context"
	"database/sql"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// unapprovedLock is the PostgreSQL advisory lock that serialises inserts of
// keys awaiting approval, so that two submissions cannot both count the
// same backlog under READ COMMITTED and overshoot a cap. One lock for all
// of them: the key server sees few legitimate submissions, and a single
// lock cannot deadlock. SQLite serialises writers with BEGIN IMMEDIATE.
const unapprovedLock = 7401003

// CreateUnapprovedServiceKey stores k, a key awaiting approval that a client
// counted as clientAddr submitted, with entries, unless k's service already
// has perService live keys awaiting approval or clientAddr has perAddress
// (live: not stale by gc; gc's Service must be k's). Like CreateServiceKey
// it first removes the stale keys of the service; the counts and the insert
// happen in one transaction, serialised with every other such insert.
//
// Past a cap it writes nothing and returns TooManyRequests with the
// creation time of the oldest key counted against that cap: a slot frees at
// the latest when that key goes stale. The service's cap is checked first
// (another address would not help). Conflict when k's kid exists.
func (db *ServiceKeys) CreateUnapprovedServiceKey(ctx context.Context, k *wharf.ServiceKey, clientAddr string, perService, perAddress int,
	gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) (oldest time.Time, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if db.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, unapprovedLock); err != nil {
				return wharf.Wrap(err, "lock unapproved service keys")
			}
		}
		if _, err := deleteStaleServiceKeys(ctx, tx, gc); err != nil {
			return err
		}
		n, first, err := countUnapproved(ctx, tx, `service = $1`, k.Service, gc)
		if err != nil {
			return err
		}
		if n >= perService {
			oldest = first
			return wharf.Errorf(wharf.TooManyRequests, "Too many keys of service %s are awaiting approval (at most %d)", k.Service, perService)
		}
		n, first, err = countUnapproved(ctx, tx, `client_addr = $1`, clientAddr, gc)
		if err != nil {
			return err
		}
		if n >= perAddress {
			oldest = first
			return wharf.Errorf(wharf.TooManyRequests, "Too many keys submitted from this client address are awaiting approval (at most %d)", perAddress)
		}
		return db.insertServiceKeyLogged(ctx, tx, k, clientAddr, entries)
	})
	return oldest, err
}

// countUnapproved counts the live keys awaiting approval that match where
// (one condition on $1) and finds the oldest one's creation time.
func countUnapproved(ctx context.Context, tx *sql.Tx, where string, arg any, gc wharf.ServiceKeyGC) (int, time.Time, error) {
	var n int
	var first sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_at) FROM service_key
		WHERE `+where+` AND approval_type IS NULL AND created_at > $2 AND (expiration_at IS NULL OR expiration_at > $3)`,
		arg, micros(gc.UnapprovedBefore), micros(gc.ExpiredBefore)).Scan(&n, &first)
	if err != nil {
		return 0, time.Time{}, wharf.Wrap(err, "count unapproved service keys")
	}
	return n, fromMicros(first.Int64), nil
}
