package db

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Quotas stores namespace quotas and their Warning and Reject limits.
type Quotas struct{ *base }

var errQuotaNotFound = wharf.Errorf(wharf.NotFound, "Not Found")

func loadQuota(ctx context.Context, q querier, where string, args ...any) (*wharf.Quota, error) {
	var qu wharf.Quota
	err := q.QueryRowContext(ctx, `SELECT id, namespace_id, limit_bytes FROM namespace_quota WHERE `+where, args...).
		Scan(&qu.ID, &qu.NamespaceID, &qu.LimitBytes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errQuotaNotFound
	}
	if err != nil {
		return nil, wharf.Wrap(err, "load quota")
	}
	rows, err := q.QueryContext(ctx, `SELECT id, kind, threshold_percent FROM quota_limit WHERE quota_id = $1 ORDER BY id`, qu.ID)
	if err != nil {
		return nil, wharf.Wrap(err, "load quota limits")
	}
	defer rows.Close()
	qu.Limits = []wharf.QuotaLimit{}
	for rows.Next() {
		var l wharf.QuotaLimit
		if err := rows.Scan(&l.ID, &l.Kind, &l.Percent); err != nil {
			return nil, wharf.Wrap(err, "scan quota limit")
		}
		qu.Limits = append(qu.Limits, l)
	}
	return &qu, wharf.Wrap(rows.Err(), "load quota limits")
}

// NamespaceQuota returns namespace nsID's quota. NotFound if it has none.
func (db *Quotas) NamespaceQuota(ctx context.Context, nsID int64) (*wharf.Quota, error) {
	return loadQuota(ctx, db.sql, `namespace_id = $1`, nsID)
}

// CreateQuota gives namespace q.NamespaceID a quota. Invalid (with
// exists) when it has one already.
func (db *Quotas) CreateQuota(ctx context.Context, q *wharf.Quota, exists string, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO namespace_quota (namespace_id, limit_bytes, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (namespace_id) DO NOTHING RETURNING id`, q.NamespaceID, q.LimitBytes, micros(db.now())).Scan(&q.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return wharf.Errorf(wharf.Invalid, "%s", exists)
		}
		if err != nil {
			return wharf.Wrap(err, "create quota")
		}
		q.Limits = []wharf.QuotaLimit{}
		return db.appendLogs(ctx, tx, entries)
	})
}

// ChangeQuota sets the limit of quota before.ID to limitBytes and writes
// entries, provided the quota is still as the caller read it (before): of
// before.NamespaceID, limited to before.LimitBytes. Conflict
// (wharf.ErrChanged) when its limit changed since; NotFound when it is
// gone. It returns the quota as changed.
func (db *Quotas) ChangeQuota(ctx context.Context, before *wharf.Quota, limitBytes int64, entries ...wharf.LogEntry) (*wharf.Quota, error) {
	var after *wharf.Quota
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE namespace_quota SET limit_bytes = $1
			WHERE id = $2 AND namespace_id = $3 AND limit_bytes = $4`, limitBytes, before.ID, before.NamespaceID, before.LimitBytes)
		if err != nil {
			return wharf.Wrap(err, "change quota")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := loadQuota(ctx, tx, `id = $1 AND namespace_id = $2`, before.ID, before.NamespaceID); err != nil {
				return err
			}
			return wharf.Changed("The quota")
		}
		if after, err = loadQuota(ctx, tx, `id = $1`, before.ID); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
	return after, err
}

// DeleteQuota removes quota id (with its limits) of namespace nsID.
func (db *Quotas) DeleteQuota(ctx context.Context, nsID, id int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM namespace_quota WHERE id = $1 AND namespace_id = $2`, id, nsID)
		if err != nil {
			return wharf.Wrap(err, "delete quota")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errQuotaNotFound
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// CreateQuotaLimit adds a threshold to quota quotaID. Invalid when the same
// kind and percentage exist already.
func (db *Quotas) CreateQuotaLimit(ctx context.Context, quotaID int64, l *wharf.QuotaLimit, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO quota_limit (quota_id, kind, threshold_percent) VALUES ($1, $2, $3)
			ON CONFLICT (quota_id, kind, threshold_percent) DO NOTHING RETURNING id`, quotaID, l.Kind, l.Percent).Scan(&l.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return wharf.Errorf(wharf.Invalid, "Quota limit already exists")
		}
		if err != nil {
			return wharf.Wrap(err, "create quota limit")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// ChangeQuotaLimit replaces limit limitID of quota quotaID. NotFound if it
// is not that quota's; Invalid when it would duplicate another limit.
func (db *Quotas) ChangeQuotaLimit(ctx context.Context, quotaID int64, l wharf.QuotaLimit, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var dup int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM quota_limit WHERE quota_id = $1 AND kind = $2 AND threshold_percent = $3 AND id <> $4`,
			quotaID, l.Kind, l.Percent, l.ID).Scan(&dup)
		if err == nil {
			return wharf.Errorf(wharf.Invalid, "Quota limit already exists")
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return wharf.Wrap(err, "check quota limit")
		}
		res, err := tx.ExecContext(ctx, `UPDATE quota_limit SET kind = $1, threshold_percent = $2 WHERE id = $3 AND quota_id = $4`,
			l.Kind, l.Percent, l.ID, quotaID)
		if err != nil {
			return wharf.Wrap(err, "change quota limit")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errQuotaNotFound
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeleteQuotaLimit removes limit limitID of quota quotaID. NotFound otherwise.
func (db *Quotas) DeleteQuotaLimit(ctx context.Context, quotaID, limitID int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM quota_limit WHERE id = $1 AND quota_id = $2`, limitID, quotaID)
		if err != nil {
			return wharf.Wrap(err, "delete quota limit")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errQuotaNotFound
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// idSet is a condition on an id column that holds for every id of ids:
// "BETWEEN $1 AND $2" when they are dense (a list page is a run of ids,
// and binding two parameters costs far less than binding one per id; the
// range may take in a few other ids), "IN (…)" otherwise.
func idSet(ids []int64) (string, []any) {
	lo, hi := slices.Min(ids), slices.Max(ids)
	if hi-lo < 2*int64(len(ids)) {
		return "BETWEEN $1 AND $2", []any{lo, hi}
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return "IN (" + placeholderList(len(ids)) + ")", args
}

// QuotaSummaries returns, for the namespaces ids, their quotas (with
// limits; absent = none) and their usage, in a few queries whatever the
// number of namespaces, for list pages. The maps may also hold a few
// namespaces that are not in ids (see idSet): look them up by id.
func (db *Quotas) QuotaSummaries(ctx context.Context, ids []int64) (map[int64]*wharf.Quota, map[int64]int64, error) {
	quotas, usage := map[int64]*wharf.Quota{}, map[int64]int64{}
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		in, args := idSet(batch)
		// Quotas and usage in one query over the two tables, not over the
		// accounts: only namespaces that have a quota or hold bytes give
		// rows (most users of a page have neither). Limits in a second
		// query, only when some namespace of the page has a quota.
		byID := map[int64]*wharf.Quota{}
		// Scanned into once per query, not per row: each destination
		// passed to Scan escapes to the heap.
		var ns int64
		var quotaID, limit, used sql.NullInt64
		err := db.eachRow(ctx, `SELECT namespace_id, id, limit_bytes, NULL FROM namespace_quota WHERE namespace_id `+in+`
			UNION ALL
			SELECT namespace_id, NULL, NULL, SUM(bytes) FROM namespace_usage WHERE namespace_id `+in+` GROUP BY namespace_id`, args,
			func(rows *sql.Rows) error {
				if err := rows.Scan(&ns, &quotaID, &limit, &used); err != nil {
					return err
				}
				if used.Valid {
					usage[ns] = used.Int64
				}
				if quotaID.Valid {
					q := &wharf.Quota{ID: quotaID.Int64, NamespaceID: ns, LimitBytes: limit.Int64, Limits: []wharf.QuotaLimit{}}
					quotas[ns], byID[q.ID] = q, q
				}
				return nil
			})
		if err != nil {
			return nil, nil, wharf.Wrap(err, "load quotas and usage")
		}
		if len(byID) == 0 {
			continue
		}
		err = db.eachRow(ctx, `SELECT l.quota_id, l.id, l.kind, l.threshold_percent FROM quota_limit l
			JOIN namespace_quota q ON q.id = l.quota_id WHERE q.namespace_id `+in+` ORDER BY l.id`, args,
			func(rows *sql.Rows) error {
				var quotaID int64
				var l wharf.QuotaLimit
				if err := rows.Scan(&quotaID, &l.ID, &l.Kind, &l.Percent); err != nil {
					return err
				}
				if q := byID[quotaID]; q != nil {
					q.Limits = append(q.Limits, l)
				}
				return nil
			})
		if err != nil {
			return nil, nil, wharf.Wrap(err, "load quota limits")
		}
	}
	return quotas, usage, nil
}
