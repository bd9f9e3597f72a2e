package db

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// usageShards is how many rows a namespace's usage is spread over.
const usageShards = 16

// Growth describes how a change grows a namespace's usage, for the log
// entries that accompany it (warnings when a threshold is crossed).
type Growth struct {
	Namespace  string
	Added      int64   // bytes the change adds (0 when nothing new)
	Before     int64   // usage before the change
	QuotaBytes int64   // the quota's limit_bytes, 0 without a quota
	WarnAt     []int64 // byte thresholds of the quota's Warning limits
}

// namespaceLimits returns the quota of nsID: its limit_bytes (0 = none),
// the byte count past which it refuses growth (its lowest Reject
// threshold, never above limit_bytes; defaultReject without a quota; 0 =
// unlimited) and its Warning thresholds in bytes.
func namespaceLimits(ctx context.Context, q querier, nsID, defaultReject int64) (quota, reject int64, warn []int64, err error) {
	var quotaID int64
	err = q.QueryRowContext(ctx, `SELECT id, limit_bytes FROM namespace_quota WHERE namespace_id = $1`, nsID).Scan(&quotaID, &quota)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, defaultReject, nil, nil
	}
	if err != nil {
		return 0, 0, nil, wharf.Wrap(err, "load quota")
	}
	reject = quota
	rows, err := q.QueryContext(ctx, `SELECT kind, threshold_percent FROM quota_limit WHERE quota_id = $1`, quotaID)
	if err != nil {
		return 0, 0, nil, wharf.Wrap(err, "load quota limits")
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var pct int64
		if err := rows.Scan(&kind, &pct); err != nil {
			return 0, 0, nil, wharf.Wrap(err, "scan quota limit")
		}
		at := quota * pct / 100
		if kind == "Reject" {
			reject = min(reject, at)
		} else {
			warn = append(warn, at)
		}
	}
	return quota, reject, warn, wharf.Wrap(rows.Err(), "load quota limits")
}

// lockNamespaceGrowth takes, on PostgreSQL, the namespace's usage lock for
// the rest of the transaction: exclusively for a change that grows a
// namespace with a limit, so that two of them cannot both pass the check
// against the same usage; shared otherwise, so that only a reconcile (which
// takes it exclusively) waits. Uploads never take it, and changes to
// namespaces without a limit never wait for each other. SQLite serialises
// writers anyway.
func (db *DB) lockNamespaceGrowth(ctx context.Context, tx *sql.Tx, nsID int64, exclusive bool) error {
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

// namespaceUsage sums the usage shards of nsID.
func namespaceUsage(ctx context.Context, q querier, nsID int64) (int64, error) {
	var n sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT SUM(bytes) FROM namespace_usage WHERE namespace_id = $1`, nsID).Scan(&n)
	return n.Int64, wharf.Wrap(err, "sum namespace usage")
}

// RejectState returns what a new push into namespace nsID is measured
// against: its usage and the byte count past which it refuses growth (0 =
// unlimited; defaultReject applies without a quota).
func (db *DB) RejectState(ctx context.Context, nsID, defaultReject int64) (usage, reject int64, err error) {
	if _, reject, _, err = namespaceLimits(ctx, db.sql, nsID, defaultReject); err != nil || reject == 0 {
		return 0, reject, err
	}
	usage, err = namespaceUsage(ctx, db.sql, nsID)
	return usage, reject, err
}

// NamespaceUsage returns the bytes namespace nsID uses.
func (db *DB) NamespaceUsage(ctx context.Context, nsID int64) (int64, error) {
	return namespaceUsage(ctx, db.sql, nsID)
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

// referenceBlobs counts one more manifest of nsID referencing each digest
// and returns the bytes of those the namespace did not use before.
func referenceBlobs(ctx context.Context, tx *sql.Tx, nsID int64, digests []string) (int64, error) {
	var added int64
	for _, d := range digests {
		var refs, size int64
		err := tx.QueryRowContext(ctx, `INSERT INTO namespace_blob (namespace_id, digest, refs) VALUES ($1, $2, 1)
			ON CONFLICT (namespace_id, digest) DO UPDATE SET refs = namespace_blob.refs + 1 RETURNING refs`, nsID, d).Scan(&refs)
		if err != nil {
			return 0, wharf.Wrap(err, "reference blob")
		}
		if refs > 1 {
			continue
		}
		if err := tx.QueryRowContext(ctx, `SELECT size FROM blob WHERE digest = $1`, d).Scan(&size); err != nil {
			return 0, wharf.Wrap(err, "load blob size")
		}
		added += size
	}
	return added, nil
}

// releaseBlobs drops count references of nsID's manifests to each digest
// and returns the bytes of those no manifest of the namespace uses any more.
func releaseBlobs(ctx context.Context, tx *sql.Tx, nsID int64, counts map[string]int64) (int64, error) {
	var freed int64
	for d, n := range counts {
		var refs int64
		err := tx.QueryRowContext(ctx, `UPDATE namespace_blob SET refs = refs - $1 WHERE namespace_id = $2 AND digest = $3 RETURNING refs`,
			n, nsID, d).Scan(&refs)
		if errors.Is(err, sql.ErrNoRows) {
			continue // accounted before usage tracking existed; reconcile repairs it
		}
		if err != nil {
			return 0, wharf.Wrap(err, "release blob")
		}
		if refs > 0 {
			continue
		}
		var size int64
		if err := tx.QueryRowContext(ctx, `SELECT size FROM blob WHERE digest = $1`, d).Scan(&size); err != nil {
			return 0, wharf.Wrap(err, "load blob size")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM namespace_blob WHERE namespace_id = $1 AND digest = $2`, nsID, d); err != nil {
			return 0, wharf.Wrap(err, "drop blob reference")
		}
		freed += size
	}
	return freed, nil
}

// releaseManifests drops the references of the manifests query selects
// (their ids, with args) from namespace nsID's usage.
func releaseManifests(ctx context.Context, tx *sql.Tx, nsID int64, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, `SELECT mb.digest, COUNT(*) FROM manifest_blob mb WHERE mb.manifest_id IN (`+query+`)
		GROUP BY mb.digest`, args...)
	if err != nil {
		return wharf.Wrap(err, "count manifest blobs")
	}
	counts := map[string]int64{}
	for rows.Next() {
		var d string
		var n int64
		if err := rows.Scan(&d, &n); err != nil {
			rows.Close()
			return wharf.Wrap(err, "scan manifest blob")
		}
		counts[d] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wharf.Wrap(err, "count manifest blobs")
	}
	freed, err := releaseBlobs(ctx, tx, nsID, counts)
	if err != nil {
		return err
	}
	return addUsage(ctx, tx, nsID, -freed)
}

// repositoryNamespace returns the namespace id of repository repoID.
func repositoryNamespace(ctx context.Context, tx *sql.Tx, repoID int64) (int64, error) {
	var nsID int64
	err := tx.QueryRowContext(ctx, `SELECT namespace_id FROM repository WHERE id = $1`, repoID).Scan(&nsID)
	return nsID, wharf.Wrap(err, "load repository namespace")
}

// ReconcileUsage recomputes namespace nsID's usage from its manifests and
// repairs the stored accounting; it returns the usage before and after.
func (db *DB) ReconcileUsage(ctx context.Context, nsID int64) (before, after int64, err error) {
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
				SELECT r.namespace_id, mb.digest, COUNT(*) FROM manifest_blob mb
				JOIN manifest m ON m.id = mb.manifest_id JOIN repository r ON r.id = m.repository_id
				WHERE r.namespace_id = $1 GROUP BY r.namespace_id, mb.digest`,
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
func (db *DB) NamespaceIDs(ctx context.Context) ([]int64, error) {
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
func (db *DB) RegistrySizeState(ctx context.Context) (wharf.RegistrySize, error) {
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
func (db *DB) QueueRegistrySize(ctx context.Context) (bool, error) {
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
func (db *DB) CalculateRegistrySize(ctx context.Context) (bool, error) {
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
