package db

import (
	"context"
	"database/sql"

	"github.com/wharf-registry/wharf/internal/wharf"
)

const prototypeColumns = `p.id, p.uuid, p.org_id, p.activating_account_id, p.delegate_account_id, p.delegate_team_id, p.role`

// Prototypes returns the organization's default permissions in creation
// order, with their accounts and teams.
func (db *Tenancy) Prototypes(ctx context.Context, orgID int64) ([]*wharf.Prototype, error) {
	return db.prototypes(ctx, `p.org_id = $1 ORDER BY p.id`, orgID)
}

// PrototypeByUUID returns the organization's default permission uuid.
// NotFound if none (or another organization's).
func (db *Tenancy) PrototypeByUUID(ctx context.Context, orgID int64, uuid string) (*wharf.Prototype, error) {
	ps, err := db.prototypes(ctx, `p.org_id = $1 AND p.uuid = $2`, orgID, uuid)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, errPrototypeNotFound
	}
	return ps[0], nil
}

func (db *Tenancy) prototypes(ctx context.Context, where string, args ...any) ([]*wharf.Prototype, error) {
	var out []*wharf.Prototype
	ids := map[*wharf.Prototype][3]sql.NullInt64{}
	err := db.eachRow(ctx, `SELECT `+prototypeColumns+` FROM permission_prototype p WHERE `+where, args, func(rows *sql.Rows) error {
		var p wharf.Prototype
		var refs [3]sql.NullInt64
		if err := rows.Scan(&p.ID, &p.UUID, &p.OrgID, &refs[0], &refs[1], &refs[2], &p.Role); err != nil {
			return err
		}
		out = append(out, &p)
		ids[&p] = refs
		return nil
	})
	if err != nil {
		return nil, wharf.Wrap(err, "list prototypes")
	}
	for _, p := range out {
		refs := ids[p]
		if refs[0].Valid {
			if p.Activating, err = accountBy(ctx, db.sql, `id = $1`, refs[0].Int64); err != nil {
				return nil, err
			}
		}
		if refs[1].Valid {
			if p.DelegateAccount, err = accountBy(ctx, db.sql, `id = $1`, refs[1].Int64); err != nil {
				return nil, err
			}
		}
		if refs[2].Valid {
			t, err := scanTeam(db.sql.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM team t WHERE t.id = $1`, refs[2].Int64))
			if err != nil {
				return nil, notFoundIfNoRows(err, "load team")
			}
			p.DelegateTeam = t
		}
	}
	return out, nil
}

// CreatePrototype stores p (its UUID set by the caller) with entries.
func (db *Tenancy) CreatePrototype(ctx context.Context, p *wharf.Prototype, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var activating, account, team any
		if p.Activating != nil {
			activating = p.Activating.ID
		}
		if p.DelegateAccount != nil {
			account = p.DelegateAccount.ID
		}
		if p.DelegateTeam != nil {
			team = p.DelegateTeam.ID
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO permission_prototype (uuid, org_id, activating_account_id, delegate_account_id,
			delegate_team_id, role) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, p.UUID, p.OrgID, activating, account, team, p.Role).Scan(&p.ID)
		if err != nil {
			return wharf.Wrap(err, "create prototype")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// SetPrototypeRole changes a default permission's role with entries.
// NotFound if it is gone.
func (db *Tenancy) SetPrototypeRole(ctx context.Context, id int64, role string, entries ...wharf.LogEntry) error {
	return db.prototypeChange(ctx, `UPDATE permission_prototype SET role = $2 WHERE id = $1`, []any{id, role}, entries)
}

// DeletePrototype removes a default permission with entries; repositories
// created before keep what it gave them. NotFound if it is gone.
func (db *Tenancy) DeletePrototype(ctx context.Context, id int64, entries ...wharf.LogEntry) error {
	return db.prototypeChange(ctx, `DELETE FROM permission_prototype WHERE id = $1`, []any{id}, entries)
}

func (db *Tenancy) prototypeChange(ctx context.Context, query string, args []any, entries []wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return wharf.Wrap(err, "change prototype")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errPrototypeNotFound
		}
		return db.appendLogs(ctx, tx, entries)
	})
}
