package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// App-specific tokens live with the accounts: looking one up is a login's
// business, like robot and OAuth tokens.

const appTokenColumns = `t.id, t.uuid, t.account_id, t.title, t.token_name, t.secret_hash, t.created_at,
	t.expires_at, t.last_accessed`

// appTokenDest returns the scan destinations of appTokenColumns and a
// function that makes the token of what was scanned into them.
func appTokenDest() ([]any, func() *wharf.AppToken) {
	var t wharf.AppToken
	var created int64
	var expires, accessed sql.NullInt64
	dest := []any{&t.ID, &t.UUID, &t.AccountID, &t.Title, &t.Name, &t.SecretHash, &created, &expires, &accessed}
	return dest, func() *wharf.AppToken {
		t.CreatedAt = fromMicros(created)
		if expires.Valid {
			t.ExpiresAt = fromMicros(expires.Int64)
		}
		if accessed.Valid {
			t.LastAccessed = fromMicros(accessed.Int64)
		}
		return &t
	}
}

func scanAppToken(row rowScanner) (*wharf.AppToken, error) {
	dest, token := appTokenDest()
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return token(), nil
}

func nullMicros(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: micros(t), Valid: !t.IsZero()}
}

// CreateAppToken stores tok (its ID and CreatedAt are set) with entries.
func (db *Accounts) CreateAppToken(ctx context.Context, tok *wharf.AppToken, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		tok.CreatedAt = db.now().UTC()
		err := tx.QueryRowContext(ctx, `INSERT INTO app_token (uuid, account_id, title, token_name, secret_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			tok.UUID, tok.AccountID, tok.Title, tok.Name, tok.SecretHash, micros(tok.CreatedAt), nullMicros(tok.ExpiresAt)).Scan(&tok.ID)
		if err != nil {
			return wharf.Wrap(err, "create app token")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// AppTokens lists accountID's tokens, oldest first; with expiringBy set,
// only those with after < expiration ≤ expiringBy.
func (db *Accounts) AppTokens(ctx context.Context, accountID int64, after, expiringBy time.Time) ([]*wharf.AppToken, error) {
	query := `SELECT ` + appTokenColumns + ` FROM app_token t WHERE t.account_id = $1`
	args := []any{accountID}
	if !expiringBy.IsZero() {
		query += ` AND t.expires_at > $2 AND t.expires_at <= $3`
		args = append(args, micros(after), micros(expiringBy))
	}
	var out []*wharf.AppToken
	err := db.eachRow(ctx, query+` ORDER BY t.id`, args, func(rows *sql.Rows) error {
		t, err := scanAppToken(rows)
		if err == nil {
			out = append(out, t)
		}
		return err
	})
	return out, wharf.Wrap(err, "list app tokens")
}

// AppTokenByUUID returns accountID's token uuid. NotFound if it has none
// by that uuid (another account's token included).
func (db *Accounts) AppTokenByUUID(ctx context.Context, accountID int64, uuid string) (*wharf.AppToken, error) {
	t, err := scanAppToken(db.sql.QueryRowContext(ctx, `SELECT `+appTokenColumns+` FROM app_token t
		WHERE t.uuid = $1 AND t.account_id = $2`, uuid, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return t, wharf.Wrap(err, "load app token")
}

var appTokenByNameQuery = `SELECT ` + appTokenColumns + `, ` + prefixed("a.", accountColumns) + `
	FROM app_token t JOIN account a ON a.id = t.account_id WHERE t.token_name = $1`

// AppTokenByName returns the token whose public half is name, with its
// account, in one query (every "$app" login runs it). NotFound if none.
func (db *Accounts) AppTokenByName(ctx context.Context, name string) (*wharf.AppToken, *wharf.Account, error) {
	dest, token := appTokenDest()
	acct, err := scanAccount(prefixedScanner{db.sql.QueryRowContext(ctx, appTokenByNameQuery, name), dest})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	if err != nil {
		return nil, nil, wharf.Wrap(err, "load app token")
	}
	return token(), acct, nil
}

// TouchAppToken records that token id was used at at.
func (db *Accounts) TouchAppToken(ctx context.Context, id int64, at time.Time) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE app_token SET last_accessed = $1 WHERE id = $2`, micros(at), id)
	return wharf.Wrap(err, "touch app token")
}

// DeleteAppToken revokes tok with entries: the registry tokens it earned
// stop working once the change is polled (its credential epoch moves in
// the same transaction). NotFound if it is already gone.
func (db *Accounts) DeleteAppToken(ctx context.Context, tok *wharf.AppToken, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM app_token WHERE id = $1`, tok.ID)
		if err != nil {
			return wharf.Wrap(err, "revoke app token")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		if err := db.bumpEpochs(ctx, tx, wharf.AppTokenSubject(tok.ID)); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeleteExpiredAppTokens removes up to limit tokens that expired before
// cutoff and reports how many it removed. An expired token earns nothing
// (login refuses it), so no epoch moves.
func (db *Accounts) DeleteExpiredAppTokens(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM app_token WHERE id IN
		(SELECT id FROM app_token WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)`, micros(cutoff), limit)
	if err != nil {
		return 0, wharf.Wrap(err, "delete expired app tokens")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
