package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wharf-registry/wharf/internal/wharf"
)

func (db *base) addToTeam(ctx context.Context, tx *sql.Tx, orgID int64, team, role string, memberID int64) error {
	db.grantChanges.Add(1) // before the commit, as every change counter
	var teamID int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM team WHERE org_id = $1 AND name = $2`, orgID, team).Scan(&teamID)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.QueryRowContext(ctx, `INSERT INTO team (org_id, name, role) VALUES ($1, $2, $3) RETURNING id`,
			orgID, team, role).Scan(&teamID)
	}
	if err != nil {
		return wharf.Wrap(err, "find team")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO team_member (team_id, account_id) VALUES ($1, $2)
		ON CONFLICT (team_id, account_id) DO NOTHING`, teamID, memberID)
	return wharf.Wrap(err, "add team member")
}

// AddOrgAdmin makes member a member of the organization's owners team (a
// no-op if it already is) and writes entries, in one transaction.
func (db *Accounts) AddOrgAdmin(ctx context.Context, orgID, memberID int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.addToTeam(ctx, tx, orgID, wharf.OwnersTeam, "admin", memberID); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// ConvertToOrg turns the user account userID into an organization: its
// password, sessions and tokens go, and admin becomes its sole owner.
func (db *Accounts) ConvertToOrg(ctx context.Context, userID, adminID int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE account SET kind = 'org', password_hash = '', superuser = FALSE
			WHERE id = $1 AND kind = 'user'`, userID)
		if err != nil {
			return wharf.Wrap(err, "convert account")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		for _, q := range []string{
			`DELETE FROM login_session WHERE account_id = $1`,
			`DELETE FROM oauth_access_token WHERE account_id = $1`,
			`DELETE FROM team_member WHERE account_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return wharf.Wrap(err, "convert account")
			}
		}
		if err := db.addToTeam(ctx, tx, userID, wharf.OwnersTeam, "admin", adminID); err != nil {
			return err
		}
		if err := db.bumpEpochs(ctx, tx, wharf.AccountSubject(userID)); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// OrgTeams returns the organization's teams in creation order (Quay's
// ordered_teams), with member and grant counts.
func (db *Accounts) OrgTeams(ctx context.Context, orgID int64) ([]wharf.Team, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT t.id, t.org_id, t.name, t.role, t.description,
		(SELECT COUNT(*) FROM team_member m WHERE m.team_id = t.id),
		(SELECT COUNT(*) FROM repository_permission p WHERE p.team_id = t.id)
		FROM team t WHERE t.org_id = $1 ORDER BY t.id`, orgID)
	if err != nil {
		return nil, wharf.Wrap(err, "list teams")
	}
	defer rows.Close()
	var out []wharf.Team
	for rows.Next() {
		var t wharf.Team
		if err := rows.Scan(&t.ID, &t.OrgID, &t.Name, &t.Role, &t.Description, &t.MemberCount, &t.RepoCount); err != nil {
			return nil, wharf.Wrap(err, "scan team")
		}
		out = append(out, t)
	}
	return out, wharf.Wrap(rows.Err(), "list teams")
}

// OrgRole returns the strongest team role member holds in the organization
// ("admin", "creator", "member"), or "" when it is not a member.
func (db *Accounts) OrgRole(ctx context.Context, orgID, memberID int64) (string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT t.role FROM team t JOIN team_member m ON m.team_id = t.id
		WHERE t.org_id = $1 AND m.account_id = $2`, orgID, memberID)
	if err != nil {
		return "", wharf.Wrap(err, "load role")
	}
	defer rows.Close()
	rank := map[string]int{"member": 1, "creator": 2, "admin": 3}
	best := ""
	for rows.Next() {
		var role string
		if err := rows.Scan(&role); err != nil {
			return "", wharf.Wrap(err, "scan role")
		}
		if rank[role] > rank[best] {
			best = role
		}
	}
	return best, wharf.Wrap(rows.Err(), "load role")
}

// MemberOrgs returns the organizations in which member belongs to a team.
func (db *Accounts) MemberOrgs(ctx context.Context, memberID int64) ([]*wharf.Account, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+accountColumns+` FROM account WHERE kind = 'org' AND id IN (
		SELECT t.org_id FROM team t JOIN team_member m ON m.team_id = t.id WHERE m.account_id = $1) ORDER BY name`, memberID)
	if err != nil {
		return nil, wharf.Wrap(err, "list member orgs")
	}
	defer rows.Close()
	var out []*wharf.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, wharf.Wrap(err, "scan account")
		}
		out = append(out, a)
	}
	return out, wharf.Wrap(rows.Err(), "list member orgs")
}
