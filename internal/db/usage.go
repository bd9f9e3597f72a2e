package db

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Usage reports and repairs what namespaces are charged for, and
// calculates the size of the whole registry.
type Usage struct{ *base }

// usageShards is how many rows a namespace's usage is spread over.
const usageShards = 16

// namespaceLimits returns what nsID's growth is judged by (see
// wharf.QuotaLimits); defaultReject applies without a quota.
func namespaceLimits(ctx context.Context, q querier, nsID, defaultReject int64) (wharf.QuotaLimits, error) {
	quota, err := loadQuota(ctx, q, `namespace_id = $1`, nsID)
	if wharf.IsCode(err, wharf.NotFound) {
		return wharf.QuotaLimitsOf(nil, defaultReject), nil
	}
	if err != nil {
		return wharf.QuotaLimits{}, err
	}
	return wharf.QuotaLimitsOf(quota, defaultReject), nil
}

// lockNamespaceGrowth takes, on PostgreSQL, the namespace's usage lock for
// the rest of the transaction: exclusively for whatever changes what a
// namespace with a limit is charged (a link, a reservation) and for
// whatever removes links (so that a manifest being pushed never references
// a link being removed); shared for the rest (a manifest push, a link in a
// namespace without a limit), which then never wait for each other. SQLite
// serialises writers anyway.
func (db *base) lockNamespaceGrowth(ctx context.Context, tx *sql.Tx, nsID int64, exclusive bool) error {
	if db.dialect != Postgres {
		return nil
	}
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	_, err := tx.ExecContext(ctx, `SELECT `+fn+`($1)`, int64(7401100)<<32^nsID)
	return wharf.Wrap(err, "lock namespace usage")
}

// namespaceUsage sums the usage shards of nsID: the bytes of the unique
// blobs linked to its repositories.
func namespaceUsage(ctx context.Context, q querier, nsID int64) (int64, error) {
	var n sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT SUM(bytes) FROM namespace_usage WHERE namespace_id = $1`, nsID).Scan(&n)
	return n.Int64, wharf.Wrap(err, "sum namespace usage")
}

// namespaceCharge is what nsID is charged for now: its usage plus the bytes
// its uploads in progress have reserved, read in one statement so that
// both halves come from one snapshot (a blob moving from a reservation to
// a link is never counted twice or not at all).
func namespaceCharge(ctx context.Context, q querier, nsID int64) (usage, charged int64, err error) {
	var used, reserved sql.NullInt64
	err = q.QueryRowContext(ctx, `SELECT (SELECT SUM(bytes) FROM namespace_usage WHERE namespace_id = $1),
		(SELECT SUM(u.reserved) FROM upload u JOIN repository r ON r.id = u.repository_id WHERE r.namespace_id = $1)`,
		nsID).Scan(&used, &reserved)
	return used.Int64, used.Int64 + reserved.Int64, wharf.Wrap(err, "sum namespace charge")
}

// NamespaceUsage returns the bytes namespace nsID uses.
func (db *Usage) NamespaceUsage(ctx context.Context, nsID int64) (int64, error) {
	return namespaceUsage(ctx, db.sql, nsID)
}

// NamespaceCharge returns what namespace nsID is charged for: its usage
// plus the reservations of its uploads in progress.
func (db *Usage) NamespaceCharge(ctx context.Context, nsID int64) (int64, error) {
	_, charged, err := namespaceCharge(ctx, db.sql, nsID)
	return charged, err
}

// addUsage adds delta to one randomly chosen shard of nsID's usage.
func addUsage(ctx context.Context, tx *sql.Tx, nsID, delta int64) error {
	if delta == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO namespace_usage (namespace_id, shard, bytes) VALUES ($1, $2, $3)
		ON CONFLICT (namespace_id, shard) DO UPDATE SET bytes = namespace_usage.bytes + excluded.bytes`,
		nsID, rand.IntN(usageShards), delta)
	return wharf.Wrap(err, "update namespace usage")
}

// linkBlob links digest (already recorded in blob) to repoID in namespace
// nsID and returns the bytes the namespace did not hold before (0 when the
// link existed or another repository of the namespace has the blob).
func linkBlob(ctx context.Context, tx *sql.Tx, nsID, repoID int64, digest string, size, now int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO repository_blob (repository_id, digest, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (repository_id, digest) DO NOTHING`, repoID, digest, now)
	if err != nil {
		return 0, wharf.Wrap(err, "link blob")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, nil
	}
	var refs int64
	err = tx.QueryRowContext(ctx, `INSERT INTO namespace_blob (namespace_id, digest, refs) VALUES ($1, $2, 1)
		ON CONFLICT (namespace_id, digest) DO UPDATE SET refs = namespace_blob.refs + 1 RETURNING refs`, nsID, digest).Scan(&refs)
	if err != nil {
		return 0, wharf.Wrap(err, "count blob link")
	}
	if refs > 1 {
		return 0, nil
	}
	return size, nil
}

// unlinkBlobs removes repoID's links to digests and releases the bytes of
// those no repository of namespace nsID links any more; those become
// collection candidates (the collector checks the other namespaces).
func (db *base) unlinkBlobs(ctx context.Context, tx *sql.Tx, nsID, repoID int64, digests []string) error {
	if len(digests) > 0 {
		// Counted before the commit, as bumpEpochs: a cache of links
		// (the registry's served blobs) drops entries at once.
		db.linkChanges.Add(1)
	}
	var freed int64
	now := micros(db.now())
	for _, d := range digests {
		res, err := tx.ExecContext(ctx, `DELETE FROM repository_blob WHERE repository_id = $1 AND digest = $2`, repoID, d)
		if err != nil {
			return wharf.Wrap(err, "unlink blob")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		var refs int64
		err = tx.QueryRowContext(ctx, `UPDATE namespace_blob SET refs = refs - 1 WHERE namespace_id = $1 AND digest = $2 RETURNING refs`,
			nsID, d).Scan(&refs)
		if errors.Is(err, sql.ErrNoRows) {
			// Linked before usage was counted by links; reconcile repairs it.
			if err := enqueueCandidates(ctx, tx, now, d); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return wharf.Wrap(err, "count blob unlink")
		}
		if refs > 0 {
			continue
		}
		var size int64
		if err := tx.QueryRowContext(ctx, `SELECT size FROM blob WHERE digest = $1`, d).Scan(&size); err != nil {
			return wharf.Wrap(err, "load blob size")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM namespace_blob WHERE namespace_id = $1 AND digest = $2`, nsID, d); err != nil {
			return wharf.Wrap(err, "drop blob reference")
		}
		if err := enqueueCandidates(ctx, tx, now, d); err != nil {
			return err
		}
		freed += size
	}
	return addUsage(ctx, tx, nsID, -freed)
}

// unreferencedBlobs returns the blobs manifest id references that no other
// manifest of repoID does and that no push in progress may still
// reference: deleting the manifest unlinks them. A push in progress is an
// upload or mount of the blob into repoID that no manifest PUT has
// consumed yet (pending_link.uploads > 0): another client may be about to
// PUT a manifest referencing the blob, so its link stays, and expires
// after PUSH_TEMP_TAG_EXPIRATION_SEC as every pending link does. The
// caller holds the namespace's lock exclusively, which LinkBlob and
// PutManifest take too, so an upload made concurrently is counted here or
// links after the unlink.
func unreferencedBlobs(ctx context.Context, tx *sql.Tx, repoID, id int64) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT mb.digest FROM manifest_blob mb WHERE mb.manifest_id = $1
		AND NOT EXISTS (SELECT 1 FROM manifest_blob o JOIN manifest m ON m.id = o.manifest_id
			WHERE m.repository_id = $2 AND o.digest = mb.digest AND o.manifest_id <> $1)
		AND NOT EXISTS (SELECT 1 FROM pending_link p WHERE p.repository_id = $2 AND p.digest = mb.digest AND p.uploads > 0)`, id, repoID)
	if err != nil {
		return nil, wharf.Wrap(err, "find unreferenced blobs")
	}
	return scanStrings(rows)
}

// repositoryNamespace returns the namespace id of repository repoID.
func repositoryNamespace(ctx context.Context, tx *sql.Tx, repoID int64) (int64, error) {
	var nsID int64
	err := tx.QueryRowContext(ctx, `SELECT namespace_id FROM repository WHERE id = $1`, repoID).Scan(&nsID)
	return nsID, wharf.Wrap(err, "load repository namespace")
}

// ReconcileUsage recomputes namespace nsID's usage from its blob links and
// repairs the stored accounting; it returns the usage before and after.
func (db *Usage) ReconcileUsage(ctx context.Context, nsID int64) (before, after int64, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockNamespaceGrowth(ctx, tx, nsID, true); err != nil {
			return err
		}
		if before, err = namespaceUsage(ctx, tx, nsID); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM namespace_blob WHERE namespace_id = $1`,
			`INSERT INTO namespace_blob (namespace_id, digest, refs)
				SELECT r.namespace_id, rb.digest, COUNT(*) FROM repository_blob rb
				JOIN repository r ON r.id = rb.repository_id
				WHERE r.namespace_id = $1 GROUP BY r.namespace_id, rb.digest`,
			`DELETE FROM namespace_usage WHERE namespace_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, nsID); err != nil {
				return wharf.Wrap(err, "reconcile usage")
			}
		}
		var total sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT SUM(b.size) FROM namespace_blob nb JOIN blob b ON b.digest = nb.digest
			WHERE nb.namespace_id = $1`, nsID).Scan(&total); err != nil {
			return wharf.Wrap(err, "sum usage")
		}
		after = total.Int64
		return addUsage(ctx, tx, nsID, after)
	})
	return before, after, err
}

// NamespaceIDs returns the ids of every user and organization.
func (db *Usage) NamespaceIDs(ctx context.Context) ([]int64, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id FROM account WHERE kind IN ('user', 'org') ORDER BY id`)
	if err != nil {
		return nil, wharf.Wrap(err, "list namespaces")
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wharf.Wrap(err, "scan namespace")
		}
		ids = append(ids, id)
	}
	return ids, wharf.Wrap(rows.Err(), "list namespaces")
}

// RegistrySizeState returns the calculation's state (zero before any request).
func (db *Usage) RegistrySizeState(ctx context.Context) (wharf.RegistrySize, error) {
	var rs wharf.RegistrySize
	var completed sql.NullInt64
	err := db.sql.QueryRowContext(ctx, `SELECT size_bytes, queued, running, completed_ms FROM registry_size WHERE id = 1`).
		Scan(&rs.Bytes, &rs.Queued, &rs.Running, &completed)
	if errors.Is(err, sql.ErrNoRows) {
		return rs, nil
	}
	if completed.Valid {
		t := time.UnixMilli(completed.Int64).UTC()
		rs.Completed = &t
	}
	return rs, wharf.Wrap(err, "load registry size")
}

// QueueRegistrySize asks for a recalculation. It reports false when one is
// already queued or running.
func (db *Usage) QueueRegistrySize(ctx context.Context) (bool, error) {
	var queued bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO registry_size (id) VALUES (1) ON CONFLICT (id) DO NOTHING`); err != nil {
			return wharf.Wrap(err, "create registry size row")
		}
		res, err := tx.ExecContext(ctx, `UPDATE registry_size SET queued = TRUE WHERE id = 1 AND NOT queued AND NOT running`)
		if err != nil {
			return wharf.Wrap(err, "queue registry size")
		}
		n, err := res.RowsAffected()
		queued = n == 1
		return wharf.Wrap(err, "queue registry size")
	})
	return queued, err
}

// CalculateRegistrySize runs a queued calculation: the sum of every stored
// blob, each counted once. It reports whether one was queued. Callers hold
// the job's lease, so a row still marked running is the leftover of a
// process that died mid-run, and is run again.
func (db *Usage) CalculateRegistrySize(ctx context.Context) (bool, error) {
	res, err := db.sql.ExecContext(ctx, `UPDATE registry_size SET running = TRUE, queued = FALSE WHERE id = 1 AND (queued OR running)`)
	if err != nil {
		return false, wharf.Wrap(err, "start registry size")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	var total sql.NullInt64
	if err := db.sql.QueryRowContext(ctx, `SELECT SUM(size) FROM blob`).Scan(&total); err != nil {
		db.sql.ExecContext(context.WithoutCancel(ctx), `UPDATE registry_size SET running = FALSE, queued = TRUE WHERE id = 1`)
		return false, wharf.Wrap(err, "sum blobs")
	}
	_, err = db.sql.ExecContext(ctx, `UPDATE registry_size SET running = FALSE, size_bytes = $1, completed_ms = $2 WHERE id = 1`,
		total.Int64, db.now().UnixMilli())
	return true, wharf.Wrap(err, "store registry size")
}
