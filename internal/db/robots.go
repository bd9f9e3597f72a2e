package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// RobotByName returns the robot account named name ("ns+short") with its
// credentials. NotFound if none.
func (db *Accounts) RobotByName(ctx context.Context, name string) (*wharf.Robot, error) {
	acct, err := accountBy(ctx, db.sql, `name = $1 AND kind = 'robot'`, name)
	if err != nil {
		return nil, err
	}
	r := wharf.Robot{Account: acct}
	var created int64
	err = db.sql.QueryRowContext(ctx, `SELECT namespace_id, token, description, created_at FROM robot WHERE account_id = $1`,
		acct.ID).Scan(&r.NamespaceID, &r.Token, &r.Description, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	if err != nil {
		return nil, wharf.Wrap(err, "load robot")
	}
	if r.Token, err = db.unseal(sealRobotToken, r.Token); err != nil {
		return nil, wharf.Wrap(err, "load robot")
	}
	r.CreatedAt = fromMicros(created)
	return &r, nil
}

// CreateRobot stores a robot account and its credentials with entries.
// Invalid if the name is taken.
func (db *Accounts) CreateRobot(ctx context.Context, r *wharf.Robot, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkNameFree(ctx, tx, r.Account.Name, 0); err != nil {
			return err
		}
		if err := db.insertAccount(ctx, tx, r.Account, nil, nil); err != nil {
			return err
		}
		r.CreatedAt = r.Account.CreatedAt
		_, err := tx.ExecContext(ctx, `INSERT INTO robot (account_id, namespace_id, token, description, created_at)
			VALUES ($1, $2, $3, $4, $5)`, r.Account.ID, r.NamespaceID, db.seal(sealRobotToken, r.Token), r.Description,
			micros(r.CreatedAt))
		if err != nil {
			return wharf.Wrap(err, "create robot")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// Robots lists a namespace's robots by name.
func (db *Accounts) Robots(ctx context.Context, namespaceID int64) ([]*wharf.Robot, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+prefixed("a.", accountColumns)+`, r.namespace_id, r.token, r.description, r.created_at
		FROM robot r JOIN account a ON a.id = r.account_id WHERE r.namespace_id = $1 ORDER BY a.name`, namespaceID)
	if err != nil {
		return nil, wharf.Wrap(err, "list robots")
	}
	defer rows.Close()
	var out []*wharf.Robot
	for rows.Next() {
		var a wharf.Account
		var kind string
		var email, invoiceAddr sql.NullString
		var acctCreated, created int64
		r := wharf.Robot{Account: &a}
		if err := rows.Scan(&a.ID, &a.Name, &kind, &email, &a.PasswordHash, &a.Enabled, &a.Verified, &a.Superuser,
			&a.TagExpirationS, &a.InvoiceEmail, &invoiceAddr, &acctCreated, &r.NamespaceID, &r.Token, &r.Description, &created); err != nil {
			return nil, wharf.Wrap(err, "scan robot")
		}
		if r.Token, err = db.unseal(sealRobotToken, r.Token); err != nil {
			return nil, wharf.Wrap(err, "scan robot")
		}
		a.Kind, a.Email, a.InvoiceEmailAddress, a.CreatedAt = wharf.AccountKind(kind), email.String, invoiceAddr.String, fromMicros(acctCreated)
		r.CreatedAt = fromMicros(created)
		out = append(out, &r)
	}
	return out, wharf.Wrap(rows.Err(), "list robots")
}

// SetRobotToken replaces robot accountID's token with token and logs
// entries. The robot's credential epoch moves in the same transaction, so
// registry tokens earned with the old token stop too (auth.Revocations).
// NotFound if no such robot.
func (db *Accounts) SetRobotToken(ctx context.Context, accountID int64, token string, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE robot SET token = $1 WHERE account_id = $2`,
			db.seal(sealRobotToken, token), accountID)
		if err != nil {
			return wharf.Wrap(err, "set robot token")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		if err := db.bumpEpochs(ctx, tx, wharf.AccountSubject(accountID)); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}
