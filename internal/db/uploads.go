package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Uploads stores blob upload sessions and the bytes they reserve against
// their namespace's quota before the bytes are written.
type Uploads struct{ *base }

// CheckQuota reports, without reserving anything, whether n more bytes
// could arrive in namespace nsID now: QuotaExceeded when not.
func (db *Uploads) CheckQuota(ctx context.Context, nsID, n, defaultReject int64) error {
	ns, err := accountBy(ctx, db.sql, `id = $1`, nsID)
	if err != nil {
		return err
	}
	limits, err := namespaceLimits(ctx, db.sql, nsID, defaultReject)
	if err != nil || !limits.Limited() {
		return err
	}
	_, charged, err := namespaceCharge(ctx, db.sql, nsID)
	if err != nil {
		return err
	}
	return limits.Admit(ns.Name, charged, n)
}

// Reserve sets n more bytes aside for upload id against its namespace's
// quota, before they are written: QuotaExceeded when the namespace's charge
// would pass its Reject limit, and then nothing changes. Namespaces
// without a limit reserve nothing: limited is false, and later chunks
// need not ask.
func (db *Uploads) Reserve(ctx context.Context, id string, n, defaultReject int64) (limited bool, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var repoID int64
		err := tx.QueryRowContext(ctx, `SELECT repository_id FROM upload WHERE id = $1`, id).Scan(&repoID)
		if errors.Is(err, sql.ErrNoRows) {
			return wharf.Errorf(wharf.NotFound, "upload unknown")
		}
		if err != nil {
			return wharf.Wrap(err, "load upload")
		}
		ns, err := repositoryNamespaceAccount(ctx, tx, repoID)
		if err != nil {
			return err
		}
		limits, err := namespaceLimits(ctx, tx, ns.ID, defaultReject)
		if limited = limits.Limited(); err != nil || !limited {
			return err
		}
		if err := db.lockNamespaceGrowth(ctx, tx, ns.ID, true); err != nil {
			return err
		}
		_, charged, err := namespaceCharge(ctx, tx, ns.ID)
		if err != nil {
			return err
		}
		if err := limits.Admit(ns.Name, charged, n); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE upload SET reserved = reserved + $1 WHERE id = $2`, n, id)
		return wharf.Wrap(err, "reserve upload bytes")
	})
	return limited, err
}

// CreateUpload records a new upload session.
func (db *Uploads) CreateUpload(ctx context.Context, u *wharf.Upload) error {
	now := db.now().UTC()
	u.StartedAt, u.UpdatedAt = now, now
	_, err := db.sql.ExecContext(ctx, `INSERT INTO upload (id, repository_id, account_id, algorithm, size, hash_state, started_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, u.ID, u.RepositoryID, u.AccountID, u.Algorithm, u.Size, u.HashState, micros(now), micros(now))
	return wharf.Wrap(err, "create upload")
}

// UploadByID returns the upload. NotFound if none.
func (db *Uploads) UploadByID(ctx context.Context, id string) (*wharf.Upload, error) {
	var u wharf.Upload
	var started, updated int64
	err := db.sql.QueryRowContext(ctx, `SELECT id, repository_id, account_id, algorithm, size, hash_state, started_at, updated_at
		FROM upload WHERE id = $1`, id).Scan(&u.ID, &u.RepositoryID, &u.AccountID, &u.Algorithm, &u.Size, &u.HashState, &started, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "upload unknown")
	}
	if err != nil {
		return nil, wharf.Wrap(err, "load upload")
	}
	u.StartedAt, u.UpdatedAt = fromMicros(started), fromMicros(updated)
	return &u, nil
}

// ClaimUpload makes the caller the only writer of upload u until until,
// provided nobody else holds it and it still holds exactly u.Size bytes.
// It reports false otherwise: concurrent requests on one upload would
// interleave data and digest state.
func (db *Uploads) ClaimUpload(ctx context.Context, u *wharf.Upload, until time.Time) (bool, error) {
	res, err := db.sql.ExecContext(ctx, `UPDATE upload SET writer_until = $1
		WHERE id = $2 AND size = $3 AND (writer_until IS NULL OR writer_until < $4)`,
		micros(until), u.ID, u.Size, micros(db.now()))
	if err != nil {
		return false, wharf.Wrap(err, "claim upload")
	}
	n, err := res.RowsAffected()
	return n == 1, wharf.Wrap(err, "claim upload")
}

// RenewUploadClaim moves the end of the claim on upload id from held to
// until. It reports false when the claim is no longer the one that ends at
// held: it lapsed and another writer took the upload, or it was released.
func (db *Uploads) RenewUploadClaim(ctx context.Context, id string, held, until time.Time) (bool, error) {
	res, err := db.sql.ExecContext(ctx, `UPDATE upload SET writer_until = $1 WHERE id = $2 AND writer_until = $3`,
		micros(until), id, micros(held))
	if err != nil {
		return false, wharf.Wrap(err, "renew upload claim")
	}
	n, err := res.RowsAffected()
	return n == 1, wharf.Wrap(err, "renew upload claim")
}

// ReleaseUpload ends a writer's claim on an upload without changing it.
func (db *Uploads) ReleaseUpload(ctx context.Context, id string) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE upload SET writer_until = NULL WHERE id = $1`, id)
	return wharf.Wrap(err, "release upload")
}

// UpdateUpload stores an upload's progress (its size and hash state) and
// releases the writer's claim; a reservation larger than what arrived
// shrinks to it.
func (db *Uploads) UpdateUpload(ctx context.Context, u *wharf.Upload) error {
	u.UpdatedAt = db.now().UTC()
	_, err := db.sql.ExecContext(ctx, `UPDATE upload SET size = $1, hash_state = $2, updated_at = $3, writer_until = NULL,
		reserved = CASE WHEN reserved > $1 THEN $1 ELSE reserved END WHERE id = $4`,
		u.Size, u.HashState, micros(u.UpdatedAt), u.ID)
	return wharf.Wrap(err, "update upload")
}

// DeleteUpload forgets an upload session. The blob it pinned, if any,
// becomes a collection candidate.
func (db *Uploads) DeleteUpload(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var pinned sql.NullString
		err := tx.QueryRowContext(ctx, `DELETE FROM upload WHERE id = $1 RETURNING digest`, id).Scan(&pinned)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return wharf.Wrap(err, "delete upload")
		}
		if !pinned.Valid {
			return nil
		}
		return enqueueCandidates(ctx, tx, micros(db.now()), pinned.String)
	})
}

// StaleUploads returns the ids of uploads not touched since before.
func (db *Uploads) StaleUploads(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id FROM upload WHERE updated_at < $1 ORDER BY updated_at LIMIT $2`, micros(before), limit)
	if err != nil {
		return nil, wharf.Wrap(err, "list stale uploads")
	}
	return scanStrings(rows)
}
