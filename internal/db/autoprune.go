package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

const policyColumns = `uuid, namespace_id, COALESCE(repository_id, 0), method, value, tag_pattern, tag_pattern_matches`

func scanPolicy(row rowScanner) (wharf.AutoPrunePolicy, error) {
	var p wharf.AutoPrunePolicy
	var value string
	var pattern sql.NullString
	if err := row.Scan(&p.UUID, &p.NamespaceID, &p.RepositoryID, &p.Method, &value, &pattern, &p.TagPatternMatches); err != nil {
		return p, err
	}
	if pattern.Valid {
		p.TagPattern = &pattern.String
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(value))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return p, err
	}
	if n, ok := v.(json.Number); ok {
		i, err := n.Int64()
		if err != nil {
			return p, err
		}
		v = i
	}
	p.Value = v
	return p, nil
}

// policyScope is the WHERE of a namespace's own policies (repoID 0) or a
// repository's, with $1 and $2.
const policyScope = `namespace_id = $1 AND COALESCE(repository_id, 0) = $2`

// AutoPrunePolicies returns the policies of namespace nsID itself
// (repoID 0) or of its repository repoID, oldest first.
func (db *Registry) AutoPrunePolicies(ctx context.Context, nsID, repoID int64) ([]wharf.AutoPrunePolicy, error) {
	var out []wharf.AutoPrunePolicy
	err := db.eachRow(ctx, `SELECT `+policyColumns+` FROM autoprune_policy WHERE `+policyScope+` ORDER BY created_at, uuid`,
		[]any{nsID, repoID}, func(rows *sql.Rows) error {
			p, err := scanPolicy(rows)
			out = append(out, p)
			return err
		})
	return out, wharf.Wrap(err, "list auto-prune policies")
}

var errPolicyNotFound = wharf.Errorf(wharf.NotFound, "Not Found")

// AutoPrunePolicy returns policy uuid of the namespace or repository
// (see AutoPrunePolicies). NotFound if it is not theirs.
func (db *Registry) AutoPrunePolicy(ctx context.Context, nsID, repoID int64, uuid string) (wharf.AutoPrunePolicy, error) {
	p, err := scanPolicy(db.sql.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM autoprune_policy WHERE `+policyScope+` AND uuid = $3`,
		nsID, repoID, uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errPolicyNotFound
	}
	return p, wharf.Wrap(err, "load auto-prune policy")
}

// SaveAutoPrunePolicy creates p (create) or replaces the stored policy
// with p's uuid in the same namespace or repository (NotFound if none),
// with entries. Invalid, with Quay's message, when an identical policy
// exists there already.
func (db *Registry) SaveAutoPrunePolicy(ctx context.Context, p wharf.AutoPrunePolicy, create bool, entries ...wharf.LogEntry) error {
	value, err := json.Marshal(p.Value)
	if err != nil {
		return wharf.Wrap(err, "encode policy value")
	}
	var repo any
	if p.RepositoryID != 0 {
		repo = p.RepositoryID
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// Serialise saves in the namespace, so two identical policies
		// cannot both pass the duplicate check.
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM account WHERE id = $1`+db.forUpdate(), p.NamespaceID).Scan(&one); err != nil {
			return wharf.Wrap(err, "lock namespace")
		}
		if !create {
			var exists bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM autoprune_policy WHERE `+policyScope+` AND uuid = $3)`,
				p.NamespaceID, p.RepositoryID, p.UUID).Scan(&exists); err != nil {
				return wharf.Wrap(err, "load auto-prune policy")
			}
			if !exists {
				return errPolicyNotFound
			}
		}
		var dup bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM autoprune_policy WHERE `+policyScope+`
			AND uuid <> $3 AND method = $4 AND value = $5 AND COALESCE(tag_pattern, '') = COALESCE($6, '')
			AND tag_pattern_matches = $7)`, p.NamespaceID, p.RepositoryID, p.UUID, p.Method, string(value), p.TagPattern,
			p.TagPatternMatches).Scan(&dup); err != nil {
			return wharf.Wrap(err, "check duplicate policy")
		}
		if dup {
			where := "namespace"
			if p.RepositoryID != 0 {
				where = "repository"
			}
			return wharf.Errorf(wharf.Invalid, "Existing policy with same values for this %s, duplicate policies are not permitted", where)
		}
		if create {
			_, err := tx.ExecContext(ctx, `INSERT INTO autoprune_policy (uuid, namespace_id, repository_id, method, value, tag_pattern,
				tag_pattern_matches, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				p.UUID, p.NamespaceID, repo, p.Method, string(value), p.TagPattern, p.TagPatternMatches, micros(db.now()))
			if err != nil {
				return wharf.Wrap(err, "create auto-prune policy")
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE autoprune_policy SET method = $4, value = $5, tag_pattern = $6, tag_pattern_matches = $7
				WHERE `+policyScope+` AND uuid = $3`, p.NamespaceID, p.RepositoryID, p.UUID, p.Method, string(value), p.TagPattern,
				p.TagPatternMatches)
			if err != nil {
				return wharf.Wrap(err, "update auto-prune policy")
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errPolicyNotFound
			}
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeleteAutoPrunePolicy removes policy uuid of the namespace or
// repository with entries. NotFound if it is not theirs.
func (db *Registry) DeleteAutoPrunePolicy(ctx context.Context, nsID, repoID int64, uuid string, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM autoprune_policy WHERE `+policyScope+` AND uuid = $3`, nsID, repoID, uuid)
		if err != nil {
			return wharf.Wrap(err, "delete auto-prune policy")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errPolicyNotFound
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// AllAutoPrunePolicies returns every policy, by namespace.
func (db *Registry) AllAutoPrunePolicies(ctx context.Context) ([]wharf.AutoPrunePolicy, error) {
	var out []wharf.AutoPrunePolicy
	err := db.eachRow(ctx, `SELECT `+policyColumns+` FROM autoprune_policy ORDER BY namespace_id, created_at, uuid`, nil,
		func(rows *sql.Rows) error {
			p, err := scanPolicy(rows)
			out = append(out, p)
			return err
		})
	return out, wharf.Wrap(err, "list auto-prune policies")
}

// NamespaceRepositories returns the repositories of namespace nsID.
func (db *Registry) NamespaceRepositories(ctx context.Context, nsID int64) ([]*wharf.Repository, error) {
	var out []*wharf.Repository
	err := db.eachRow(ctx, `SELECT `+repositoryColumns+` FROM repository r JOIN account a ON a.id = r.namespace_id
		WHERE r.namespace_id = $1 ORDER BY r.id`, []any{nsID}, func(rows *sql.Rows) error {
		r, err := scanRepository(rows)
		out = append(out, r)
		return err
	})
	return out, wharf.Wrap(err, "list namespace repositories")
}

// AliveTags returns repoID's alive tags (name, manifest, start), newest first.
func (db *Registry) AliveTags(ctx context.Context, repoID int64) ([]wharf.TagLifetime, error) {
	rows, _, err := db.TagHistory(ctx, repoID, wharf.TagQuery{OnlyActive: true, Limit: 100000, Page: 1})
	return rows, err
}
