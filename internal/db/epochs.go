package db

import (
	"context"
	"database/sql"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// bumpEpochs moves each subject to a new epoch inside tx: every registry
// token issued with its old epoch stops working once the processes
// sharing the database have polled the change (see EpochChanges).
func (db *base) bumpEpochs(ctx context.Context, tx *sql.Tx, subjects ...string) error {
	// Counted before the commit: a cache may drop an entry for a change
	// that then rolls back, never keep one past a change that commits.
	db.changes.Add(1)
	now, err := db.leaseNow(ctx, tx)
	if err != nil {
		return err
	}
	for _, s := range subjects {
		if _, err := tx.ExecContext(ctx, `INSERT INTO credential_epoch (subject, epoch, changed_at) VALUES ($1, 1, $2)
			ON CONFLICT (subject) DO UPDATE SET epoch = credential_epoch.epoch + 1, changed_at = excluded.changed_at`,
			s, now.UnixMicro()); err != nil {
			return wharf.Wrap(err, "bump credential epoch")
		}
	}
	return nil
}

// Epochs returns the current epoch of each subject that has one; a
// subject never changed is absent (epoch 0).
func (db *Accounts) Epochs(ctx context.Context, subjects []string) (map[string]int64, error) {
	out := make(map[string]int64, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	args := make([]any, len(subjects))
	for i, s := range subjects {
		args[i] = s
	}
	err := db.eachRow(ctx, `SELECT subject, epoch FROM credential_epoch WHERE subject IN (`+placeholderList(len(subjects))+`)`, args,
		func(rows *sql.Rows) error {
			var s string
			var e int64
			if err := rows.Scan(&s, &e); err != nil {
				return err
			}
			out[s] = e
			return nil
		})
	return out, wharf.Wrap(err, "load credential epochs")
}

// EpochChanges returns the subjects changed after since (microseconds;
// 0 = within the last window) and the store's clock now, in the same
// clock the changes are stamped with, so pollers never compare two clocks.
func (db *Accounts) EpochChanges(ctx context.Context, since int64, window int64) ([]wharf.EpochChange, int64, error) {
	now, err := db.leaseNow(ctx, db.sql)
	if err != nil {
		return nil, 0, err
	}
	if since == 0 {
		since = now.UnixMicro() - window
	}
	var out []wharf.EpochChange
	err = db.eachRow(ctx, `SELECT subject, epoch, changed_at FROM credential_epoch WHERE changed_at > $1`, []any{since},
		func(rows *sql.Rows) error {
			var c wharf.EpochChange
			if err := rows.Scan(&c.Subject, &c.Epoch, &c.ChangedAt); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	return out, now.UnixMicro(), wharf.Wrap(err, "poll credential epochs")
}

// Changes returns how many credential-epoch bumps (rights taken away: an
// account deleted, disabled or renamed, a repository deleted or made
// private, an OAuth application deleted) and account updates this process
// has made so far. A cache of repositories or
// accounts that records it when it fills an entry knows the entry may be
// stale once it moved; other processes' changes reach it through the
// polled epochs (auth.Revocations).
func (db *DB) Changes() uint64 { return db.changes.Load() }

// GrantChanges returns how many transactions this process made that
// changed teams, team members or repository grants, those that give
// rights as well as those that take them away (which also move epochs).
// A cache of grants that records it when it fills an entry knows the
// entry may be stale once it moved; other processes' grants that give
// rights move no epoch, so such a cache also bounds an entry's age.
func (db *DB) GrantChanges() uint64 { return db.grantChanges.Load() }

// LinkChanges returns how many times this process removed blob links (a
// manifest, repository or namespace delete, a collection). A cache of
// which repositories link which blobs drops its entries once it moved.
func (db *DB) LinkChanges() uint64 { return db.linkChanges.Load() }
