package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// roleRankSQL ranks a role column as wharf.RoleRank does, so MAX picks the
// strongest.
func roleRankSQL(col string) string {
	return `CASE ` + col + ` WHEN 'admin' THEN 3 WHEN 'write' THEN 2 WHEN 'creator' THEN 2 WHEN 'read' THEN 1 WHEN 'member' THEN 1 ELSE 0 END`
}

var rankRoles = map[int]string{1: wharf.RoleRead, 2: wharf.RoleWrite, 3: wharf.RoleAdmin}
var rankTeamRoles = map[int]string{1: wharf.TeamMember, 2: wharf.TeamCreator, 3: wharf.TeamAdmin}

// grantsQuery is built once: every access decision runs it. Its cost does
// not grow with the number of teams, repositories or grants in the
// instance, nor with the teams the account is in, only with the team
// grants of the one repository: the organization part
// walks the organization's admin and creator teams (index team_org_role)
// probing each for the account (team_member's key); the direct grant is
// one probe of repository_permission's (repository_id, account_id) key;
// the team grants are walked role by role, strongest first (index
// repository_permission_role), probing each team for the account and
// stopping at the first it is in, so a decision that grants costs the
// walk up to that team, one that refuses a walk of the repository's team
// grants. (One OR of the last two walked every grant of the repository,
// users' included, and PostgreSQL hashed all of the account's memberships
// for it.)
var grantsQuery = `SELECT
	CASE WHEN EXISTS (SELECT 1 FROM team t WHERE t.org_id = $1 AND t.role = 'admin'
			AND EXISTS (SELECT 1 FROM team_member m WHERE m.team_id = t.id AND m.account_id = $3)) THEN 3
		WHEN EXISTS (SELECT 1 FROM team t WHERE t.org_id = $1 AND t.role = 'creator'
			AND EXISTS (SELECT 1 FROM team_member m WHERE m.team_id = t.id AND m.account_id = $3)) THEN 2
		ELSE 0 END,
	COALESCE((SELECT ` + roleRankSQL("p.role") + ` FROM repository_permission p
		WHERE p.repository_id = $2 AND p.account_id = $3), 0),
	CASE WHEN ` + teamGrant(wharf.RoleAdmin) + ` THEN 3 WHEN ` + teamGrant(wharf.RoleWrite) + ` THEN 2
		WHEN ` + teamGrant(wharf.RoleRead) + ` THEN 1 ELSE 0 END`

// teamGrant is the condition that a team account $3 is in holds role on
// repository $2.
func teamGrant(role string) string {
	return `EXISTS (SELECT 1 FROM repository_permission p JOIN team_member m ON m.team_id = p.team_id
			WHERE p.repository_id = $2 AND p.role = '` + role + `' AND m.account_id = $3)`
}

// Grants returns the strongest of the admin and creator roles account
// holds through the teams of organization orgID ("" when neither; pass 0
// for a user namespace) and the strongest role it holds on repository
// repoID directly or through a team ("" when none; pass 0 for a repository
// not yet created).
func (db *Tenancy) Grants(ctx context.Context, orgID, repoID, accountID int64) (teamRole, repoRole string, err error) {
	var team, direct, viaTeams int
	if err := db.sql.QueryRowContext(ctx, grantsQuery, orgID, repoID, accountID).Scan(&team, &direct, &viaTeams); err != nil {
		return "", "", wharf.Wrap(err, "load grants")
	}
	return rankTeamRoles[team], rankRoles[max(direct, viaTeams)], nil
}

// RepositoryPermissions returns the explicit grants on a repository: users
// and robots by name, then teams by name.
func (db *Tenancy) RepositoryPermissions(ctx context.Context, repoID int64) ([]wharf.Permission, error) {
	var out []wharf.Permission
	err := db.eachRow(ctx, `SELECT p.role, `+prefixed("a.", accountColumns)+` FROM repository_permission p
		JOIN account a ON a.id = p.account_id WHERE p.repository_id = $1 ORDER BY a.name`, []any{repoID}, func(rows *sql.Rows) error {
		var p wharf.Permission
		a, err := scanAccount(roleThen{rows, &p.Role})
		p.Account = a
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, wharf.Wrap(err, "list repository permissions")
	}
	err = db.eachRow(ctx, `SELECT p.role, `+teamColumns+` FROM repository_permission p
		JOIN team t ON t.id = p.team_id WHERE p.repository_id = $1 ORDER BY t.name`, []any{repoID}, func(rows *sql.Rows) error {
		var p wharf.Permission
		t, err := scanTeam(roleThen{rows, &p.Role})
		p.Team = t
		out = append(out, p)
		return err
	})
	return out, wharf.Wrap(err, "list repository permissions")
}

// roleThen scans a leading role column into role and the rest as row.
type roleThen struct {
	rows *sql.Rows
	role *string
}

func (r roleThen) Scan(dest ...any) error { return r.rows.Scan(append([]any{r.role}, dest...)...) }

// SetPermission grants p.Role on p.Repository to p.Account or p.Team
// (replacing what it held) with entries. A replaced grant may have been
// stronger: the grantee's tokens are revoked.
func (db *Tenancy) SetPermission(ctx context.Context, p wharf.Permission, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		col, id := permissionGrantee(p)
		res, err := tx.ExecContext(ctx, `UPDATE repository_permission SET role = $1 WHERE repository_id = $2 AND `+col+` = $3`,
			p.Role, p.Repository.ID, id)
		if err != nil {
			return wharf.Wrap(err, "set permission")
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if err := db.revokeGrantee(ctx, tx, p); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, `INSERT INTO repository_permission (repository_id, `+col+`, role) VALUES ($1, $2, $3)`,
			p.Repository.ID, id, p.Role); err != nil {
			return wharf.Wrap(err, "set permission")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeletePermission removes p's grantee's grant on p.Repository with
// entries. NotFound if there is none.
func (db *Tenancy) DeletePermission(ctx context.Context, p wharf.Permission, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		col, id := permissionGrantee(p)
		res, err := tx.ExecContext(ctx, `DELETE FROM repository_permission WHERE repository_id = $1 AND `+col+` = $2`, p.Repository.ID, id)
		if err != nil {
			return wharf.Wrap(err, "delete permission")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		if err := db.revokeGrantee(ctx, tx, p); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

func permissionGrantee(p wharf.Permission) (column string, id int64) {
	if p.Team != nil {
		return "team_id", p.Team.ID
	}
	return "account_id", p.Account.ID
}

func (db *Tenancy) revokeGrantee(ctx context.Context, tx *sql.Tx, p wharf.Permission) error {
	if p.Team != nil {
		return db.revokeTeam(ctx, tx, p.Team.ID)
	}
	return db.bumpEpochs(ctx, tx, wharf.AccountSubject(p.Account.ID))
}

// GranteePermissions returns the explicit grants of one account (teamID
// 0) or one team (accountID 0), with their repositories, by repository name.
func (db *Tenancy) GranteePermissions(ctx context.Context, accountID, teamID int64) ([]wharf.Permission, error) {
	col, id := "p.account_id", accountID
	if teamID != 0 {
		col, id = "p.team_id", teamID
	}
	var out []wharf.Permission
	err := db.eachRow(ctx, `SELECT p.role, `+repositoryColumns+` FROM repository_permission p
		JOIN repository r ON r.id = p.repository_id JOIN account a ON a.id = r.namespace_id
		WHERE `+col+` = $1 ORDER BY a.name, r.name`, []any{id}, func(rows *sql.Rows) error {
		var p wharf.Permission
		r, err := scanRepository(roleThen{rows, &p.Role})
		p.Repository = r
		out = append(out, p)
		return err
	})
	return out, wharf.Wrap(err, "list permissions")
}

// TransitiveRoles returns one role per explicit grant account holds on the
// repository, directly or through a team.
func (db *Tenancy) TransitiveRoles(ctx context.Context, repoID, accountID int64) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT role FROM repository_permission WHERE repository_id = $1
		AND (account_id = $2 OR team_id IN (SELECT team_id FROM team_member WHERE account_id = $2)) ORDER BY id`, repoID, accountID)
	if err != nil {
		return nil, wharf.Wrap(err, "list roles")
	}
	return scanStrings(rows)
}

// grantCreation gives a repository just created by creatorID (a user or
// robot; 0 for none) its first grants, as Quay does: the creator holds
// admin, and, in an organization, the organization's default permissions
// whose activating account is the creator or anyone apply — per delegate,
// a creator-specific prototype wins over a general one, among general
// ones the first created wins and among specific ones the last (Quay's
// order, by creation). Nothing is logged for them.
func grantCreation(ctx context.Context, tx *sql.Tx, repo *wharf.Repository, creatorID int64) error {
	if creatorID == 0 || creatorID == repo.NamespaceID {
		if creatorID != 0 {
			return insertGrant(ctx, tx, repo.ID, "account_id", creatorID, wharf.RoleAdmin)
		}
		return nil
	}
	if err := insertGrant(ctx, tx, repo.ID, "account_id", creatorID, wharf.RoleAdmin); err != nil {
		return err
	}
	type delegate struct {
		col string
		id  int64
	}
	chosen := map[delegate]string{}
	var order []delegate
	err := eachTxRow(ctx, tx, `SELECT activating_account_id, delegate_account_id, delegate_team_id, role FROM permission_prototype
		WHERE org_id = $1 AND (activating_account_id IS NULL OR activating_account_id = $2) ORDER BY id`,
		[]any{repo.NamespaceID, creatorID}, func(rows *sql.Rows) error {
			var activating, account, team sql.NullInt64
			var role string
			if err := rows.Scan(&activating, &account, &team, &role); err != nil {
				return err
			}
			d := delegate{"team_id", team.Int64}
			if account.Valid {
				d = delegate{"account_id", account.Int64}
			}
			if d.col == "account_id" && d.id == creatorID {
				return nil // the creator keeps admin
			}
			_, seen := chosen[d]
			switch {
			case !seen:
				order = append(order, d)
			case !activating.Valid:
				return nil // a general one never replaces an earlier candidate
			}
			chosen[d] = role
			return nil
		})
	if err != nil {
		return wharf.Wrap(err, "apply default permissions")
	}
	for _, d := range order {
		if err := insertGrant(ctx, tx, repo.ID, d.col, d.id, chosen[d]); err != nil {
			return err
		}
	}
	return nil
}

func insertGrant(ctx context.Context, tx *sql.Tx, repoID int64, col string, id int64, role string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO repository_permission (repository_id, `+col+`, role) VALUES ($1, $2, $3)
		ON CONFLICT (repository_id, `+col+`) DO UPDATE SET role = excluded.role`, repoID, id, role)
	return wharf.Wrap(err, "grant permission")
}

func eachTxRow(ctx context.Context, tx *sql.Tx, query string, args []any, fn func(rows *sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

var errPrototypeNotFound = wharf.Errorf(wharf.NotFound, "Not Found")

func notFoundIfNoRows(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errPrototypeNotFound
	}
	return wharf.Wrap(err, what)
}
