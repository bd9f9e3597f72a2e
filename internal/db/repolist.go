package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// visibleRepositories is the set of repositories account $1 may read:
// its own namespace's, every repository of the organizations it
// administers, and those it or one of its teams holds a grant on. The sets of its
// own grants and administered organizations are built once per query from
// the account's rows; so is, on PostgreSQL, the set of its teams' grants
// (through index repository_permission_team), while SQLite probes each
// candidate repository's grants for the account's memberships instead
// (PostgreSQL turns that probe into a hash of every team grant of the
// instance; SQLite builds the set ten times slower than it probes). Either
// way a page costs the same wherever the keyset cursor stands.
func (db *Tenancy) visibleRepositories() string {
	teams := `r.id IN (SELECT p.repository_id FROM team_member m JOIN repository_permission p ON p.team_id = m.team_id WHERE m.account_id = $1)`
	if db.dialect == SQLite {
		teams = `EXISTS (SELECT 1 FROM repository_permission p WHERE p.repository_id = r.id AND p.team_id IS NOT NULL
		AND EXISTS (SELECT 1 FROM team_member m WHERE m.team_id = p.team_id AND m.account_id = $1))`
	}
	// The walk of team grants comes last: SQLite evaluates an OR left to
	// right, and the sets before it are built once per query, so a
	// repository of an organization the account administers (every row of
	// an admin's organization page) is decided without it.
	return `(r.namespace_id = $1
	OR r.namespace_id IN (SELECT t.org_id FROM team t JOIN team_member m ON m.team_id = t.id WHERE m.account_id = $1 AND t.role = 'admin')
	OR r.id IN (SELECT repository_id FROM repository_permission WHERE account_id = $1)
	OR ` + teams + `)`
}

// ListRepositories returns up to q.Limit repositories after q.AfterID in
// id order that q's caller may see (see wharf.RepositoryListQuery).
func (db *Tenancy) ListRepositories(ctx context.Context, q wharf.RepositoryListQuery) ([]*wharf.Repository, error) {
	where := `r.id > $2`
	args := []any{q.AccountID, q.AfterID, q.Limit, q.NamespaceID}
	if q.NamespaceID != 0 {
		where += ` AND r.namespace_id = $4`
	} else {
		where += ` AND $4 = 0`
	}
	if q.Starred {
		where += ` AND r.id IN (SELECT repository_id FROM repository_star WHERE account_id = $1)`
	}
	switch {
	case q.All:
		where += ` AND $1 >= 0`
	case q.Public && q.AccountID != 0:
		where += ` AND (r.visibility = 'public' OR ` + db.visibleRepositories() + `)`
	case q.Public:
		where += ` AND r.visibility = 'public' AND $1 = 0`
	case q.Starred:
		where += ` AND (r.visibility = 'public' OR ` + db.visibleRepositories() + `)`
	default:
		where += ` AND ` + db.visibleRepositories()
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+repositoryColumns+` FROM repository r JOIN account a ON a.id = r.namespace_id
		WHERE `+where+` ORDER BY r.id LIMIT $3`, args...)
	if err != nil {
		return nil, wharf.Wrap(err, "list repositories")
	}
	defer rows.Close()
	var out []*wharf.Repository
	for rows.Next() {
		r, err := scanRepository(rows)
		if err != nil {
			return nil, wharf.Wrap(err, "scan repository")
		}
		out = append(out, r)
	}
	return out, wharf.Wrap(rows.Err(), "list repositories")
}

// Starred returns which of repoIDs account has starred.
func (db *Tenancy) Starred(ctx context.Context, accountID int64, repoIDs []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if accountID == 0 || len(repoIDs) == 0 {
		return out, nil
	}
	args := []any{accountID}
	for _, id := range repoIDs {
		args = append(args, id)
	}
	err := db.eachRow(ctx, `SELECT repository_id FROM repository_star WHERE account_id = $1 AND repository_id IN (`+
		placeholderList(len(args))[4:]+`)`, args, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		out[id] = true
		return err
	})
	return out, wharf.Wrap(err, "load stars")
}

// LastModified returns, for each of repoIDs that has a tag, when its
// newest tag last moved, in Unix seconds.
func (db *Tenancy) LastModified(ctx context.Context, repoIDs []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(repoIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(repoIDs))
	for i, id := range repoIDs {
		args[i] = id
	}
	err := db.eachRow(ctx, `SELECT repository_id, MAX(updated_at) FROM tag WHERE repository_id IN (`+placeholderList(len(args))+`)
		GROUP BY repository_id`, args, func(rows *sql.Rows) error {
		var id, at int64
		err := rows.Scan(&id, &at)
		out[id] = fromMicros(at).Unix()
		return err
	})
	return out, wharf.Wrap(err, "load last modified")
}

// SetStar stars (or unstars) a repository for account; doing it twice is
// no change. Stars are not logged, as in Quay.
func (db *Tenancy) SetStar(ctx context.Context, accountID, repoID int64, starred bool) error {
	q := `DELETE FROM repository_star WHERE account_id = $1 AND repository_id = $2`
	if starred {
		q = `INSERT INTO repository_star (account_id, repository_id) VALUES ($1, $2) ON CONFLICT (account_id, repository_id) DO NOTHING`
	}
	_, err := db.sql.ExecContext(ctx, q, accountID, repoID)
	return wharf.Wrap(err, "star repository")
}

// SetRepositoryState stores the repository's state with entries; tokens
// granting writes on it stop working. NotFound if it is gone.
func (db *Tenancy) SetRepositoryState(ctx context.Context, repoID int64, state string, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var before string
		err := tx.QueryRowContext(ctx, `SELECT state FROM repository WHERE id = $1`+db.forUpdate(), repoID).Scan(&before)
		if errors.Is(err, sql.ErrNoRows) {
			return errRepoNotFound
		}
		if err != nil {
			return wharf.Wrap(err, "load repository")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE repository SET state = $1 WHERE id = $2`, state, repoID); err != nil {
			return wharf.Wrap(err, "change repository state")
		}
		if before != state {
			if err := db.bumpEpochs(ctx, tx, wharf.RepositorySubject(repoID)); err != nil {
				return err
			}
		}
		return db.appendLogs(ctx, tx, entries)
	})
}
