package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// LogExports stores the log exports requested through the API and what
// the export job made of them.
type LogExports struct{ *base }

const logExportColumns = `id, uuid, file_name, namespace_id, namespace_name, repository_id, repository_name,
	start_at, end_at, callback_url, callback_email, status, delivery, attempts, next_attempt_at, note, file_expires_at, created_at`

// QueueLogExport stores x, due at once (its ID and CreatedAt are set),
// with entries. TooManyRequests when x's namespace already has maxWaiting
// exports whose file is not written yet.
func (db *LogExports) QueueLogExport(ctx context.Context, x *wharf.LogExport, maxWaiting int, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var waiting int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM log_export WHERE namespace_id = $1 AND status IS NULL`,
			x.NamespaceID).Scan(&waiting); err != nil {
			return wharf.Wrap(err, "count waiting log exports")
		}
		if waiting >= maxWaiting {
			return wharf.Errorf(wharf.TooManyRequests, "Too many log exports of this namespace are waiting: try again once they are written.")
		}
		now := db.now().UTC()
		x.CreatedAt, x.NextAttemptAt, x.Delivery = now, now, wharf.DeliveryPending
		err := tx.QueryRowContext(ctx, `INSERT INTO log_export (uuid, file_name, namespace_id, namespace_name,
			repository_id, repository_name, start_at, end_at, callback_url, callback_email, delivery, next_attempt_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			x.UUID, x.FileName, x.NamespaceID, x.NamespaceName, nullID(x.RepositoryID), nullString(x.RepositoryName),
			micros(x.Start), micros(x.End), nullString(x.CallbackURL), nullString(x.CallbackEmail), x.Delivery,
			micros(now), micros(now)).Scan(&x.ID)
		if err != nil {
			return wharf.Wrap(err, "queue log export")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// NextLogExport returns the export that has waited longest among those
// still pending and due at now. NotFound if none is.
func (db *LogExports) NextLogExport(ctx context.Context, now time.Time) (*wharf.LogExport, error) {
	row := db.sql.QueryRowContext(ctx, `SELECT `+logExportColumns+` FROM log_export
		WHERE delivery = $1 AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT 1`, wharf.DeliveryPending, micros(now))
	x, err := scanLogExport(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "no log export is due")
	}
	return x, wharf.Wrap(err, "next log export")
}

// LogExportByUUID returns the export uuid. NotFound if there is none.
func (db *LogExports) LogExportByUUID(ctx context.Context, uuid string) (*wharf.LogExport, error) {
	x, err := scanLogExport(db.sql.QueryRowContext(ctx, `SELECT `+logExportColumns+` FROM log_export WHERE uuid = $1`, uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return x, wharf.Wrap(err, "load log export")
}

// ExpiredLogExportFiles returns up to limit exports whose file expired
// at now, oldest first.
func (db *LogExports) ExpiredLogExportFiles(ctx context.Context, now time.Time, limit int) ([]*wharf.LogExport, error) {
	var out []*wharf.LogExport
	err := db.eachRow(ctx, `SELECT `+logExportColumns+` FROM log_export
		WHERE file_expires_at <= $1 ORDER BY file_expires_at, id LIMIT $2`, []any{micros(now), limit}, func(rows *sql.Rows) error {
		x, err := scanLogExport(rows)
		if err != nil {
			return err
		}
		out = append(out, x)
		return nil
	})
	return out, wharf.Wrap(err, "list expired log exports")
}

// UpdateLogExport stores the progress of x: its status, delivery,
// attempts, next attempt, note and file expiry. NotFound if x is gone.
func (db *LogExports) UpdateLogExport(ctx context.Context, x *wharf.LogExport) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE log_export SET status = $1, delivery = $2, attempts = $3,
		next_attempt_at = $4, note = $5, file_expires_at = $6 WHERE id = $7`,
		nullString(x.Status), x.Delivery, x.Attempts, micros(x.NextAttemptAt), nullString(x.Note), nullMicros(x.FileExpiresAt), x.ID)
	if err != nil {
		return wharf.Wrap(err, "update log export")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return wharf.Errorf(wharf.NotFound, "log export %s is gone", x.UUID)
	}
	return nil
}

func scanLogExport(row rowScanner) (*wharf.LogExport, error) {
	var x wharf.LogExport
	var repoID, fileExpires sql.NullInt64
	var repoName, callbackURL, callbackEmail, status, note sql.NullString
	var start, end, next, created int64
	if err := row.Scan(&x.ID, &x.UUID, &x.FileName, &x.NamespaceID, &x.NamespaceName, &repoID, &repoName,
		&start, &end, &callbackURL, &callbackEmail, &status, &x.Delivery, &x.Attempts, &next, &note, &fileExpires, &created); err != nil {
		return nil, err
	}
	x.RepositoryID, x.RepositoryName = repoID.Int64, repoName.String
	x.CallbackURL, x.CallbackEmail, x.Status, x.Note = callbackURL.String, callbackEmail.String, status.String, note.String
	x.Start, x.End, x.NextAttemptAt, x.CreatedAt = fromMicros(start), fromMicros(end), fromMicros(next), fromMicros(created)
	if fileExpires.Valid {
		x.FileExpiresAt = fromMicros(fileExpires.Int64)
	}
	return &x, nil
}
