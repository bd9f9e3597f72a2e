package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wharf-registry/wharf/internal/wharf"
)

var errLabelNotFound = wharf.Errorf(wharf.NotFound, "Not Found")

// Labels returns manifest manifestID's labels whose key starts with
// prefix ("" = all), oldest first.
func (db *Registry) Labels(ctx context.Context, manifestID int64, prefix string) ([]wharf.Label, error) {
	var out []wharf.Label
	err := db.eachRow(ctx, `SELECT id, manifest_id, label_key, label_value, media_type, source_type FROM manifest_label
		WHERE manifest_id = $1 AND substr(label_key, 1, $2) = $3 ORDER BY created_at, id`,
		[]any{manifestID, len(prefix), prefix}, func(rows *sql.Rows) error {
			var l wharf.Label
			if err := rows.Scan(&l.ID, &l.ManifestID, &l.Key, &l.Value, &l.MediaType, &l.SourceType); err != nil {
				return err
			}
			out = append(out, l)
			return nil
		})
	return out, wharf.Wrap(err, "list labels")
}

// Label returns manifest manifestID's label id. NotFound if none.
func (db *Registry) Label(ctx context.Context, manifestID int64, id string) (wharf.Label, error) {
	var l wharf.Label
	err := db.sql.QueryRowContext(ctx, `SELECT id, manifest_id, label_key, label_value, media_type, source_type FROM manifest_label
		WHERE manifest_id = $1 AND id = $2`, manifestID, id).Scan(&l.ID, &l.ManifestID, &l.Key, &l.Value, &l.MediaType, &l.SourceType)
	if errors.Is(err, sql.ErrNoRows) {
		return l, errLabelNotFound
	}
	return l, wharf.Wrap(err, "load label")
}

// AddLabel stores l (its ID chosen by the caller) with entries. NotFound
// if the manifest went meanwhile.
func (db *Registry) AddLabel(ctx context.Context, l wharf.Label, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM manifest WHERE id = $1`+db.keyShare(), l.ManifestID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errManifestNotFound
		}
		if err != nil {
			return wharf.Wrap(err, "lock manifest")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO manifest_label (id, manifest_id, label_key, label_value, media_type, source_type, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, l.ID, l.ManifestID, l.Key, l.Value, l.MediaType, l.SourceType, micros(db.now())); err != nil {
			return wharf.Wrap(err, "add label")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeleteLabel removes manifest manifestID's label id with entries.
// NotFound if none.
func (db *Registry) DeleteLabel(ctx context.Context, manifestID int64, id string, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM manifest_label WHERE manifest_id = $1 AND id = $2`, manifestID, id)
		if err != nil {
			return wharf.Wrap(err, "delete label")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errLabelNotFound
		}
		return db.appendLogs(ctx, tx, entries)
	})
}
