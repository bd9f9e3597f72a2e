package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Messages stores the global messages superusers publish.
type Messages struct{ *base }

// ListMessages returns every message, oldest first.
func (db *Messages) ListMessages(ctx context.Context) ([]*wharf.GlobalMessage, error) {
	var out []*wharf.GlobalMessage
	err := db.eachRow(ctx, `SELECT id, uuid, content, media_type, severity, created_at FROM global_message ORDER BY id`, nil,
		func(rows *sql.Rows) error {
			var m wharf.GlobalMessage
			var created int64
			if err := rows.Scan(&m.ID, &m.UUID, &m.Content, &m.MediaType, &m.Severity, &created); err != nil {
				return err
			}
			m.CreatedAt = fromMicros(created)
			out = append(out, &m)
			return nil
		})
	return out, wharf.Wrap(err, "list messages")
}

// CreateMessage stores m (its ID and CreatedAt are set) with entries.
func (db *Messages) CreateMessage(ctx context.Context, m *wharf.GlobalMessage, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		m.CreatedAt = db.now().UTC()
		err := tx.QueryRowContext(ctx, `INSERT INTO global_message (uuid, content, media_type, severity, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, m.UUID, m.Content, m.MediaType, m.Severity, micros(m.CreatedAt)).Scan(&m.ID)
		if err != nil {
			return wharf.Wrap(err, "create message")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// MessageByUUID returns the message uuid. NotFound if there is none.
func (db *Messages) MessageByUUID(ctx context.Context, uuid string) (*wharf.GlobalMessage, error) {
	var m wharf.GlobalMessage
	var created int64
	err := db.sql.QueryRowContext(ctx, `SELECT id, uuid, content, media_type, severity, created_at FROM global_message
		WHERE uuid = $1`, uuid).Scan(&m.ID, &m.UUID, &m.Content, &m.MediaType, &m.Severity, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	if err != nil {
		return nil, wharf.Wrap(err, "load message")
	}
	m.CreatedAt = fromMicros(created)
	return &m, nil
}

// DeleteMessage removes message id with entries. NotFound if it is gone.
func (db *Messages) DeleteMessage(ctx context.Context, id int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM global_message WHERE id = $1`, id)
		if err != nil {
			return wharf.Wrap(err, "delete message")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}
