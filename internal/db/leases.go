package db

import (
	"context"
	"database/sql"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Leases stores job leases: which process runs a background job until when.
type Leases struct{ *base }

// AcquireLease takes or renews the lease on job name for holder until
// now+ttl. It reports false when another holder's lease is still valid, so
// that among processes sharing the database exactly one runs the job.
func (db *Leases) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now, err := db.leaseNow(ctx, db.sql)
	if err != nil {
		return false, err
	}
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

// FinishRun records holder's run of job name — it took took and failed
// with runErr, "" when it succeeded — and keeps holder's lease until hold
// from now (no longer, if hold is negative), so that no other process
// starts the job before it is due. Conflict when holder no longer holds
// the lease (it lapsed under a slow run and another process took it).
func (db *Leases) FinishRun(ctx context.Context, name, holder string, took, hold time.Duration, runErr string) error {
	now, err := db.leaseNow(ctx, db.sql)
	if err != nil {
		return err
	}
	res, err := db.sql.ExecContext(ctx, `UPDATE job_lease SET expires_at = $1, runs = runs + 1,
		last_started_at = $2, last_finished_at = $3, last_error = $4 WHERE name = $5 AND holder = $6`,
		micros(now.Add(max(hold, 0))), micros(now.Add(-took)), micros(now), nullString(runErr), name, holder)
	if err != nil {
		return wharf.Wrap(err, "record job run")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return wharf.Errorf(wharf.Conflict, "the lease on job %s passed to another process during the run", name)
	}
	return nil
}

// ReleaseLease gives up holder's lease on name, if it still has it: the
// lease expires now, and the row keeps the record of the job's runs.
func (db *Leases) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE job_lease SET expires_at = 0 WHERE name = $1 AND holder = $2`, name, holder)
	return wharf.Wrap(err, "release lease")
}

// leaseNow is the clock lease arithmetic uses: on PostgreSQL the
// database's, which every process sharing it reads alike whatever their
// own clocks say, so a process whose clock runs ahead cannot take a
// healthy holder's lease; on SQLite, whose processes share one machine,
// the process clock.
func (db *base) leaseNow(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (time.Time, error) {
	if db.dialect != Postgres {
		return db.now(), nil
	}
	var us int64
	if err := q.QueryRowContext(ctx, `SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT`).Scan(&us); err != nil {
		return time.Time{}, wharf.Wrap(err, "read the database clock")
	}
	return time.UnixMicro(us), nil
}
