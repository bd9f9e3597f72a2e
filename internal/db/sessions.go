package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// CreateSession stores a login session with entries (e.g. login_success).
func (db *Accounts) CreateSession(ctx context.Context, s *wharf.Session, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO login_session (hash, account_id, csrf_token, login_at, expires_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, s.Hash, s.AccountID, s.CSRFToken, micros(s.LoginAt), micros(s.ExpiresAt)).Scan(&s.ID)
		if err != nil {
			return wharf.Wrap(err, "create session")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// SessionByHash returns the unexpired session with that cookie hash and its
// account. NotFound if none.
func (db *Accounts) SessionByHash(ctx context.Context, hash []byte) (*wharf.Session, *wharf.Account, error) {
	var s wharf.Session
	var login, expires int64
	err := db.sql.QueryRowContext(ctx, `SELECT id, hash, account_id, csrf_token, login_at, expires_at FROM login_session
		WHERE hash = $1 AND expires_at > $2`, hash, micros(db.now())).Scan(&s.ID, &s.Hash, &s.AccountID, &s.CSRFToken, &login, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	if err != nil {
		return nil, nil, wharf.Wrap(err, "load session")
	}
	s.LoginAt, s.ExpiresAt = fromMicros(login), fromMicros(expires)
	acct, err := db.AccountByID(ctx, s.AccountID)
	if err != nil {
		return nil, nil, err
	}
	return &s, acct, nil
}

// RefreshSessionLogin records a fresh password check on the session.
func (db *Accounts) RefreshSessionLogin(ctx context.Context, id int64, at time.Time) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE login_session SET login_at = $1 WHERE id = $2`, micros(at), id)
	return wharf.Wrap(err, "refresh session")
}

// DeleteSession ends a session.
func (db *Accounts) DeleteSession(ctx context.Context, id int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_session WHERE id = $1`, id); err != nil {
			return wharf.Wrap(err, "delete session")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeleteExpiredSessions removes sessions past their expiry and returns how many.
func (db *Accounts) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM login_session WHERE expires_at <= $1`, micros(db.now()))
	if err != nil {
		return 0, wharf.Wrap(err, "delete expired sessions")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
