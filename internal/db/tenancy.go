package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Tenancy stores who may do what inside an organization and to a
// repository: teams and their members, repository permissions, default
// permissions (prototypes) and stars (see tenancy.go, permissions.go,
// prototypes.go, repolist.go). Every change that can take a right away
// moves the credential epoch of the accounts (or repository) it affects,
// so registry tokens issued before stop working within the revocation
// bound.
type Tenancy struct{ *base }

// inTx is base's for every write of the tenancy store (teams, members,
// grants, default permissions, repository states): each counts as a
// change of grants (DB.GrantChanges) before it commits — more than the
// grants change, which costs a cache entry, never a stale one.
func (db *Tenancy) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.base.inTx(ctx, func(tx *sql.Tx) error {
		db.grantChanges.Add(1)
		return fn(tx)
	})
}

const teamColumns = `t.id, t.org_id, t.name, t.role, t.description,
	(SELECT COUNT(*) FROM team_member m WHERE m.team_id = t.id)`

func scanTeam(row rowScanner) (*wharf.Team, error) {
	var t wharf.Team
	err := row.Scan(&t.ID, &t.OrgID, &t.Name, &t.Role, &t.Description, &t.MemberCount)
	return &t, err
}

// TeamByName returns the organization's team name. NotFound if none.
func (db *Tenancy) TeamByName(ctx context.Context, orgID int64, name string) (*wharf.Team, error) {
	t, err := scanTeam(db.sql.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM team t WHERE t.org_id = $1 AND t.name = $2`, orgID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return t, wharf.Wrap(err, "load team")
}

// SaveTeam creates t (ID 0) or stores its role and description, with
// entries. Invalid (wharf.ErrLastAdmin) when the organization would be
// left without an administrator.
func (db *Tenancy) SaveTeam(ctx context.Context, t *wharf.Team, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if t.ID == 0 {
			err := tx.QueryRowContext(ctx, `INSERT INTO team (org_id, name, role, description) VALUES ($1, $2, $3, $4)
				ON CONFLICT (org_id, name) DO NOTHING RETURNING id`, t.OrgID, t.Name, t.Role, t.Description).Scan(&t.ID)
			if errors.Is(err, sql.ErrNoRows) {
				return wharf.Changed("The team")
			}
			if err != nil {
				return wharf.Wrap(err, "create team")
			}
			return db.appendLogs(ctx, tx, entries)
		}
		var before string
		err := tx.QueryRowContext(ctx, `SELECT role FROM team WHERE id = $1`+db.forUpdate(), t.ID).Scan(&before)
		if errors.Is(err, sql.ErrNoRows) {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		if err != nil {
			return wharf.Wrap(err, "load team")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE team SET role = $1, description = $2 WHERE id = $3`, t.Role, t.Description, t.ID); err != nil {
			return wharf.Wrap(err, "update team")
		}
		if wharf.RoleRank(t.Role) < wharf.RoleRank(before) {
			if err := db.revokeTeam(ctx, tx, t.ID); err != nil {
				return err
			}
			if err := keepsAdmin(ctx, tx, t.OrgID); err != nil {
				return err
			}
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeleteTeam removes the team with its memberships, permissions and the
// prototypes delegating to it. NotFound if missing; Invalid
// (wharf.ErrLastAdmin) when the organization would be left without an
// administrator.
func (db *Tenancy) DeleteTeam(ctx context.Context, t *wharf.Team, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.revokeTeam(ctx, tx, t.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM team WHERE id = $1`, t.ID)
		if err != nil {
			return wharf.Wrap(err, "delete team")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		if err := keepsAdmin(ctx, tx, t.OrgID); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// revokeTeam moves the epoch of every member of team: what they held
// through it may be going away.
func (db *Tenancy) revokeTeam(ctx context.Context, tx *sql.Tx, teamID int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT account_id FROM team_member WHERE team_id = $1`, teamID)
	if err != nil {
		return wharf.Wrap(err, "list team members")
	}
	var subjects []string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return wharf.Wrap(err, "list team members")
		}
		subjects = append(subjects, wharf.AccountSubject(id))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wharf.Wrap(err, "list team members")
	}
	if len(subjects) == 0 {
		return nil
	}
	return db.bumpEpochs(ctx, tx, subjects...)
}

// keepsAdmin fails the transaction when the organization has no user left
// in an admin team.
func keepsAdmin(ctx context.Context, tx *sql.Tx, orgID int64) error {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM team t JOIN team_member m ON m.team_id = t.id
		JOIN account a ON a.id = m.account_id WHERE t.org_id = $1 AND t.role = 'admin' AND a.kind = 'user'`, orgID).Scan(&n)
	if err != nil {
		return wharf.Wrap(err, "count organization admins")
	}
	if n == 0 {
		return &wharf.Error{Code: wharf.Invalid, Message: "The organization must keep at least one admin", Err: wharf.ErrLastAdmin}
	}
	return nil
}

// TeamMembers returns the team's members (users and robots) by name.
func (db *Tenancy) TeamMembers(ctx context.Context, teamID int64) ([]*wharf.Account, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+prefixed("a.", accountColumns)+` FROM team_member m
		JOIN account a ON a.id = m.account_id WHERE m.team_id = $1 ORDER BY a.name`, teamID)
	if err != nil {
		return nil, wharf.Wrap(err, "list team members")
	}
	return scanAccounts(rows)
}

func scanAccounts(rows *sql.Rows) ([]*wharf.Account, error) {
	defer rows.Close()
	var out []*wharf.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, wharf.Wrap(err, "scan account")
		}
		out = append(out, a)
	}
	return out, wharf.Wrap(rows.Err(), "scan account")
}

// AddTeamMember adds account to team with entries. Invalid
// (wharf.ErrAlreadyMember) if it is a member already.
func (db *Tenancy) AddTeamMember(ctx context.Context, teamID, accountID int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO team_member (team_id, account_id) VALUES ($1, $2)
			ON CONFLICT (team_id, account_id) DO NOTHING`, teamID, accountID)
		if err != nil {
			return wharf.Wrap(err, "add team member")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &wharf.Error{Code: wharf.Invalid, Message: "Already a member", Err: wharf.ErrAlreadyMember}
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// RemoveTeamMember removes account from team t with entries. NotFound if
// it is not a member; Invalid (wharf.ErrLastAdmin) when the organization
// would be left without an administrator.
func (db *Tenancy) RemoveTeamMember(ctx context.Context, t *wharf.Team, accountID int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM team_member WHERE team_id = $1 AND account_id = $2`, t.ID, accountID)
		if err != nil {
			return wharf.Wrap(err, "remove team member")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "Not a member")
		}
		if err := db.bumpEpochs(ctx, tx, wharf.AccountSubject(accountID)); err != nil {
			return err
		}
		if err := keepsAdmin(ctx, tx, t.OrgID); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// MemberTeams returns the names of the organization's teams account
// belongs to, in creation order.
func (db *Tenancy) MemberTeams(ctx context.Context, orgID, accountID int64) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT t.name FROM team t JOIN team_member m ON m.team_id = t.id
		WHERE t.org_id = $1 AND m.account_id = $2 ORDER BY t.id`, orgID, accountID)
	if err != nil {
		return nil, wharf.Wrap(err, "list member teams")
	}
	return scanStrings(rows)
}

// OrgMembers returns the users in at least one team of the organization,
// by name, with their teams and the repositories they hold direct grants on.
func (db *Tenancy) OrgMembers(ctx context.Context, orgID int64) ([]wharf.OrgMember, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+accountColumns+` FROM account WHERE kind = 'user' AND id IN (
		SELECT m.account_id FROM team_member m JOIN team t ON t.id = m.team_id WHERE t.org_id = $1) ORDER BY name`, orgID)
	if err != nil {
		return nil, wharf.Wrap(err, "list organization members")
	}
	accounts, err := scanAccounts(rows)
	if err != nil {
		return nil, err
	}
	out := make([]wharf.OrgMember, 0, len(accounts))
	for _, a := range accounts {
		m, err := db.orgMember(ctx, orgID, a)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// OrgMember returns account's teams in the organization and the
// organization's repositories it holds direct grants on.
func (db *Tenancy) OrgMember(ctx context.Context, orgID int64, a *wharf.Account) (wharf.OrgMember, error) {
	return db.orgMember(ctx, orgID, a)
}

func (db *Tenancy) orgMember(ctx context.Context, orgID int64, a *wharf.Account) (wharf.OrgMember, error) {
	m := wharf.OrgMember{Account: a}
	var err error
	if m.Teams, err = db.MemberTeams(ctx, orgID, a.ID); err != nil {
		return m, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT r.name FROM repository_permission p JOIN repository r ON r.id = p.repository_id
		WHERE p.account_id = $1 AND r.namespace_id = $2 ORDER BY r.name`, a.ID, orgID)
	if err != nil {
		return m, wharf.Wrap(err, "list member repositories")
	}
	m.Repositories, err = scanStrings(rows)
	return m, err
}

// RemoveOrgMember removes account from every team of the organization and
// its direct grants on the organization's repositories, with entries.
// Invalid (wharf.ErrLastAdmin) when the organization would be left
// without an administrator.
func (db *Tenancy) RemoveOrgMember(ctx context.Context, orgID, accountID int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM team_member WHERE account_id = $1 AND team_id IN (SELECT id FROM team WHERE org_id = $2)`,
			`DELETE FROM repository_permission WHERE account_id = $1 AND repository_id IN (SELECT id FROM repository WHERE namespace_id = $2)`,
		} {
			if _, err := tx.ExecContext(ctx, q, accountID, orgID); err != nil {
				return wharf.Wrap(err, "remove organization member")
			}
		}
		if err := db.bumpEpochs(ctx, tx, wharf.AccountSubject(accountID)); err != nil {
			return err
		}
		if err := keepsAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}
