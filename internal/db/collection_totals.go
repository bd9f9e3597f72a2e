package db

import (
	"context"
	"database/sql"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// RecordCollection adds one collector run's reclaim, finished at at, to
// the totals (one statement: runs of several processes add up).
func (db *Collection) RecordCollection(ctx context.Context, at time.Time, blobs, bytes, links int64) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE blob_collection_total SET runs = runs + 1,
		blobs = blobs + $1, bytes = bytes + $2, links = links + $3,
		last_run_at = $4, last_blobs = $1, last_bytes = $2, last_links = $3 WHERE id = 1`,
		blobs, bytes, links, micros(at))
	return wharf.Wrap(err, "record blob collection")
}

// CollectionTotals returns what the collector reclaimed so far.
func (db *Collection) CollectionTotals(ctx context.Context) (wharf.CollectionTotals, error) {
	var t wharf.CollectionTotals
	var last sql.NullInt64
	err := db.sql.QueryRowContext(ctx, `SELECT runs, blobs, bytes, links, last_run_at, last_blobs, last_bytes, last_links
		FROM blob_collection_total WHERE id = 1`).Scan(&t.Runs, &t.Blobs, &t.Bytes, &t.Links, &last, &t.LastBlobs, &t.LastBytes, &t.LastLinks)
	if err != nil {
		return t, wharf.Wrap(err, "blob collection totals")
	}
	if last.Valid {
		at := fromMicros(last.Int64)
		t.LastRun = &at
	}
	return t, nil
}
