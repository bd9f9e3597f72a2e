package db

import (
	"context"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// AcquireLease takes or renews the lease on job name for holder until
// now+ttl. It reports false when another holder's lease is still valid, so
// that among processes sharing the database exactly one runs the job.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := db.now()
	res, err := db.sql.ExecContext(ctx, `INSERT INTO job_lease (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE job_lease.holder = excluded.holder OR job_lease.expires_at <= $4`,
		name, holder, micros(now.Add(ttl)), micros(now))
	if err != nil {
		return false, wharf.Wrap(err, "acquire lease")
	}
	n, err := res.RowsAffected()
	return n == 1, wharf.Wrap(err, "acquire lease")
}

// ReleaseLease gives up holder's lease on name, if it still has it.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM job_lease WHERE name = $1 AND holder = $2`, name, holder)
	return wharf.Wrap(err, "release lease")
}
