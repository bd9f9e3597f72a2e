package db

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Accounts stores users, organizations and robots with their teams,
// sessions and credential epochs, and answers every credential lookup a
// login makes (see accounts.go, robots.go, teams.go, sessions.go,
// epochs.go; AccessTokenByName in oauth.go).
type Accounts struct{ *base }

const accountColumns = `id, name, kind, email, password_hash, enabled, verified, superuser,
	tag_expiration_s, invoice_email, invoice_email_address, created_at`

// accountRow is what scanAccount scans into: the account with the
// columns that need converting beside it, in one allocation (each scan
// destination passed on its own escapes to the heap, six per row of a
// hundred-row page). The returned *Account points into it.
type accountRow struct {
	a                  wharf.Account
	kind               string
	email, invoiceAddr sql.NullString
	created            int64
}

func scanAccount(row rowScanner) (*wharf.Account, error) {
	r := new(accountRow)
	a := &r.a
	err := row.Scan(&a.ID, &a.Name, &r.kind, &r.email, &a.PasswordHash, &a.Enabled, &a.Verified, &a.Superuser,
		&a.TagExpirationS, &a.InvoiceEmail, &r.invoiceAddr, &r.created)
	if err != nil {
		return nil, err
	}
	a.Kind = wharf.AccountKind(r.kind)
	a.Email = r.email.String
	a.InvoiceEmailAddress = r.invoiceAddr.String
	a.CreatedAt = fromMicros(r.created)
	return a, nil
}

func accountBy(ctx context.Context, q querier, where string, arg any) (*wharf.Account, error) {
	a, err := scanAccount(q.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM account WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	if err != nil {
		return nil, wharf.Wrap(err, "load account")
	}
	return a, nil
}

// AccountByName returns the account (of any kind) named name. NotFound if none.
func (db *Accounts) AccountByName(ctx context.Context, name string) (*wharf.Account, error) {
	return accountBy(ctx, db.sql, `name = $1`, name)
}

// AccountByID returns the account with the given id. NotFound if none.
func (db *Accounts) AccountByID(ctx context.Context, id int64) (*wharf.Account, error) {
	return accountBy(ctx, db.sql, `id = $1`, id)
}

// CountAccounts returns how many accounts of any kind exist.
func (db *Accounts) CountAccounts(ctx context.Context) (int64, error) {
	var n int64
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM account`).Scan(&n); err != nil {
		return 0, wharf.Wrap(err, "count accounts")
	}
	return n, nil
}

// ListAccounts returns accounts matching page, ordered by id. It fetches
// Limit+1 rows so that the caller can tell whether another page follows.
func (db *Accounts) ListAccounts(ctx context.Context, page wharf.AccountPage) ([]*wharf.Account, error) {
	query := `SELECT ` + accountColumns + ` FROM account WHERE kind = $1 AND id >= $2`
	if page.EnabledOnly {
		query += ` AND enabled = TRUE`
	}
	query += ` ORDER BY id`
	args := []any{string(page.Kind), page.FromID}
	if page.Limit > 0 {
		query += ` LIMIT $3`
		args = append(args, page.Limit+1)
	}
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wharf.Wrap(err, "list accounts")
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
	return out, wharf.Wrap(rows.Err(), "list accounts")
}

// SearchAccounts returns up to limit accounts whose name starts with prefix,
// of the given kinds, by name.
func (db *Accounts) SearchAccounts(ctx context.Context, prefix string, kinds []wharf.AccountKind, limit int) ([]*wharf.Account, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	args := []any{escapeLike(prefix) + "%", limit}
	marks := make([]string, len(kinds))
	for i, k := range kinds {
		args = append(args, string(k))
		marks[i] = "$" + strconv.Itoa(len(args))
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+accountColumns+` FROM account
		WHERE name LIKE $1 ESCAPE '\' AND kind IN (`+strings.Join(marks, ", ")+`) AND enabled = TRUE
		ORDER BY name LIMIT $2`, args...)
	if err != nil {
		return nil, wharf.Wrap(err, "search accounts")
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
	return out, wharf.Wrap(rows.Err(), "search accounts")
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CreateAccount inserts a (and, for an organization, its owners team with
// owner as the only member), then writes entries, in one transaction. The
// name and e-mail must be free: otherwise Invalid with Quay's message.
func (db *Accounts) CreateAccount(ctx context.Context, a *wharf.Account, owner *wharf.Account, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkNameFree(ctx, tx, a.Name, 0); err != nil {
			return err
		}
		if err := checkEmailFree(ctx, tx, a.Email, 0); err != nil {
			return err
		}
		return db.insertAccount(ctx, tx, a, owner, entries)
	})
}

func (db *Accounts) insertAccount(ctx context.Context, tx *sql.Tx, a, owner *wharf.Account, entries []wharf.LogEntry) error {
	a.CreatedAt = db.now().UTC().Truncate(1e3)
	err := tx.QueryRowContext(ctx, `INSERT INTO account (name, kind, email, password_hash, enabled, verified, superuser,
		tag_expiration_s, invoice_email, invoice_email_address, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		a.Name, string(a.Kind), nullString(a.Email), a.PasswordHash, a.Enabled, a.Verified, a.Superuser,
		a.TagExpirationS, a.InvoiceEmail, nullString(a.InvoiceEmailAddress), micros(a.CreatedAt)).Scan(&a.ID)
	if err != nil {
		return translateAccountWrite(err, a)
	}
	if a.Kind == wharf.KindOrg && owner != nil {
		if err := db.addToTeam(ctx, tx, a.ID, wharf.OwnersTeam, "admin", owner.ID); err != nil {
			return err
		}
	}
	for i := range entries {
		if entries[i].Account.Name == a.Name {
			entries[i].Account = wharf.PartyOf(a)
		}
		if entries[i].Performer.Name == a.Name {
			entries[i].Performer = wharf.PartyOf(a)
		}
	}
	return db.appendLogs(ctx, tx, entries)
}

// UpdateAccount stores after, the account before as the caller changed it,
// with entries, provided the account is still as the caller read it: every
// field it writes must still hold before's value. Conflict
// (wharf.ErrChanged) when one changed since; NotFound when the account is
// gone; Invalid when after's name or e-mail is another account's.
//
// What follows from the change is decided here from before and after, in
// the same transaction: a new password hash ends the account's sessions, a
// new name renames its robots, and a change to what registry tokens rest on
// ends those issued before. A disabled account's sessions and tokens stop
// working at lookup.
func (db *Accounts) UpdateAccount(ctx context.Context, before, after *wharf.Account, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if after.Name != before.Name {
			if err := checkNameFree(ctx, tx, after.Name, before.ID); err != nil {
				return err
			}
		}
		if after.Email != before.Email {
			if err := checkEmailFree(ctx, tx, after.Email, before.ID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE account SET name = $1, kind = $2, email = $3, password_hash = $4,
			enabled = $5, verified = $6, superuser = $7, tag_expiration_s = $8, invoice_email = $9, invoice_email_address = $10
			WHERE id = $11 AND name = $12 AND kind = $13 AND COALESCE(email, '') = $14 AND password_hash = $15
			AND enabled = $16 AND verified = $17 AND superuser = $18 AND tag_expiration_s = $19 AND invoice_email = $20
			AND COALESCE(invoice_email_address, '') = $21`,
			after.Name, string(after.Kind), nullString(after.Email), after.PasswordHash, after.Enabled, after.Verified,
			after.Superuser, after.TagExpirationS, after.InvoiceEmail, nullString(after.InvoiceEmailAddress),
			before.ID, before.Name, string(before.Kind), before.Email, before.PasswordHash,
			before.Enabled, before.Verified, before.Superuser, before.TagExpirationS, before.InvoiceEmail,
			before.InvoiceEmailAddress)
		if err != nil {
			return translateAccountWrite(err, after)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := accountBy(ctx, tx, `id = $1`, before.ID); err != nil {
				return err
			}
			return wharf.Changed("The account")
		}
		// Any change to an account (its e-mail too) ends this process's
		// cached copies of it at once (see Changes).
		db.changes.Add(1)
		if after.PasswordHash != before.PasswordHash {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_session WHERE account_id = $1`, before.ID); err != nil {
				return wharf.Wrap(err, "end sessions")
			}
		}
		if after.Name != before.Name {
			if err := renameRobots(ctx, tx, before.ID, before.Name, after.Name); err != nil {
				return err
			}
		}
		if after.Enabled != before.Enabled || after.Superuser != before.Superuser || after.Name != before.Name ||
			after.Kind != before.Kind || after.PasswordHash != before.PasswordHash {
			// Registry tokens rest on what changed: those issued before
			// stop working (a rename also frees the old name for another
			// namespace, which must not inherit them).
			if err := db.bumpEpochs(ctx, tx, wharf.AccountSubject(before.ID)); err != nil {
				return err
			}
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeleteAccount removes the account and everything it owns (sessions,
// tokens, team memberships; for an organization its teams and OAuth
// applications) together with entries. NotFound if it does not exist.
func (db *Accounts) DeleteAccount(ctx context.Context, id int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// What the namespace's repositories and uploads held loses a
		// reference with them (the delete cascades).
		if _, err := tx.ExecContext(ctx, `INSERT INTO blob_candidate (digest, since)
			SELECT digest, CAST($2 AS BIGINT) FROM namespace_blob WHERE namespace_id = $1
			UNION SELECT u.digest, CAST($2 AS BIGINT) FROM upload u JOIN repository r ON r.id = u.repository_id
				WHERE r.namespace_id = $1 AND u.digest IS NOT NULL
			ON CONFLICT (digest) DO UPDATE SET since = excluded.since`, id, micros(db.now())); err != nil {
			return wharf.Wrap(err, "record collection candidates")
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM account WHERE id = $1`, id)
		if err != nil {
			return wharf.Wrap(err, "delete account")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		if err := db.bumpEpochs(ctx, tx, wharf.AccountSubject(id)); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// renameRobots gives namespace nsID's robots ("old+short") the namespace's
// new name ("new+short"), as Quay renames them with their organization.
// The new names are free: no account may be named "new" yet, so none may
// be named "new+…" either.
func renameRobots(ctx context.Context, tx *sql.Tx, nsID int64, oldName, newName string) error {
	_, err := tx.ExecContext(ctx, `UPDATE account SET name = $1 || substr(name, $2)
		WHERE kind = 'robot' AND id IN (SELECT account_id FROM robot WHERE namespace_id = $3)`,
		newName, len(oldName)+1, nsID)
	return wharf.Wrap(err, "rename robots")
}

func checkNameFree(ctx context.Context, tx *sql.Tx, name string, selfID int64) error {
	var kind string
	err := tx.QueryRowContext(ctx, `SELECT kind FROM account WHERE name = $1 AND id <> $2`, name, selfID).Scan(&kind)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return wharf.Wrap(err, "check name")
	case kind == string(wharf.KindOrg):
		return wharf.Errorf(wharf.Invalid, "Username has already been taken by an organization and cannot be reused: %s", name)
	default:
		return wharf.Errorf(wharf.Invalid, "Username has already been taken by user cannot be reused: %s", name)
	}
}

func checkEmailFree(ctx context.Context, tx *sql.Tx, email string, selfID int64) error {
	if email == "" {
		return nil
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM account WHERE email = $1 AND id <> $2`, email, selfID).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return wharf.Wrap(err, "check email")
	default:
		return &wharf.Error{Code: wharf.Invalid, Message: "Email has already been used: " + email, Err: wharf.ErrEmailTaken}
	}
}

// translateAccountWrite turns a unique violation that raced past the
// checks (PostgreSQL only) into the message the checks would have given.
func translateAccountWrite(err error, a *wharf.Account) error {
	if !isUniqueViolation(err) {
		return wharf.Wrap(err, "write account")
	}
	if strings.Contains(pgConstraint(err), "email") {
		return &wharf.Error{Code: wharf.Invalid, Message: "Email has already been used: " + a.Email, Err: wharf.ErrEmailTaken}
	}
	return wharf.Errorf(wharf.Invalid, "Username has already been taken: %s", a.Name)
}

// CreateFirstAccount is CreateAccount for the first-user bootstrap: it
// refuses (Invalid) when any account exists, decided inside the same
// transaction so that two racing bootstraps cannot both succeed.
func (db *Accounts) CreateFirstAccount(ctx context.Context, a *wharf.Account, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if db.dialect == Postgres {
			// Serialise bootstraps: READ COMMITTED alone would let two see an empty table.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7401002)`); err != nil {
				return wharf.Wrap(err, "lock bootstrap")
			}
		}
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account`).Scan(&n); err != nil {
			return wharf.Wrap(err, "count accounts")
		}
		if n > 0 {
			return wharf.Errorf(wharf.Invalid, "Cannot initialize user in a non-empty database")
		}
		return db.insertAccount(ctx, tx, a, nil, entries)
	})
}
