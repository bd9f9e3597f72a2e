package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Logs is the action log: entries written on their own (most are written
// by the change they describe, in its transaction), listed, counted and
// archived.
type Logs struct{ *base }

// logInsertBatch is how many entries one INSERT writes: a batch of the
// pull logger becomes a few statements, not one per entry. Not more: the
// SQLite driver finds each of a statement's $N parameters by a linear
// search of their names, so binding grows with the square of their count.
const logInsertBatch = 10

func (db *base) appendLogs(ctx context.Context, tx *sql.Tx, entries []wharf.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	// The hourly counts must file each entry under the time it is stored
	// with: an entry without one gets it here, once.
	stamped := make([]wharf.LogEntry, len(entries))
	counts := logHours{}
	for i, e := range entries {
		if e.Time.IsZero() {
			e.Time = db.now()
		}
		stamped[i] = e
		counts.add(micros(e.Time), e.Kind, 1)
	}
	if err := counts.apply(ctx, tx); err != nil {
		return err
	}
	entries = stamped
	for len(entries) > 0 {
		n := min(len(entries), logInsertBatch)
		if err := db.insertLogs(ctx, tx, entries[:n]); err != nil {
			return err
		}
		entries = entries[n:]
	}
	return nil
}

// insertLogs writes entries in one multi-row INSERT.
func (db *base) insertLogs(ctx context.Context, tx *sql.Tx, entries []wharf.LogEntry) error {
	const columns = 13
	var q strings.Builder
	q.WriteString(`INSERT INTO log_entry (kind, account_id, account_name, account_kind, account_email,
		performer_id, performer_name, performer_kind, performer_email, ip, created_at, metadata, repository_id) VALUES `)
	args := make([]any, 0, columns*len(entries))
	for i, e := range entries {
		meta := e.Metadata
		if meta == nil {
			meta = map[string]any{}
		}
		body, err := json.Marshal(meta)
		if err != nil {
			return wharf.Wrap(err, "encode log metadata")
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for c := range columns {
			if c > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('$')
			q.WriteString(strconv.Itoa(i*columns + c + 1))
		}
		q.WriteByte(')')
		args = append(args, e.Kind, nullID(e.Account.ID), nullString(e.Account.Name), nullString(string(e.Account.Kind)),
			nullString(e.Account.Email), nullID(e.Performer.ID), nullString(e.Performer.Name), nullString(string(e.Performer.Kind)),
			nullString(e.Performer.Email), e.IP, micros(e.Time), string(body), nullID(e.RepositoryID))
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return wharf.Wrap(err, "write action log")
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// AppendLogs writes entries that accompany no other change (e.g. a login).
func (db *Logs) AppendLogs(ctx context.Context, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.appendLogs(ctx, tx, entries) })
}

const logColumns = `id, kind, account_id, account_name, account_kind, account_email,
	performer_id, performer_name, performer_kind, performer_email, ip, created_at, metadata`

// ListLogs returns up to q.Limit+1 entries (the extra one tells the caller a
// next page exists).
func (db *Logs) ListLogs(ctx context.Context, q wharf.LogQuery) ([]wharf.LogEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	add(`created_at >= ?`, micros(q.Start))
	add(`created_at < ?`, micros(q.End))
	if q.AccountID != 0 {
		add(`account_id = ?`, q.AccountID)
	}
	if q.PerformerID != 0 {
		add(`performer_id = ?`, q.PerformerID)
	}
	if q.RepositoryID != 0 {
		add(`repository_id = ?`, q.RepositoryID)
	}
	if q.After != nil {
		args = append(args, micros(q.After.Time), q.After.ID)
		n := len(args)
		where = append(where, "(created_at < $"+strconv.Itoa(n-1)+" OR (created_at = $"+strconv.Itoa(n-1)+" AND id < $"+strconv.Itoa(n)+"))")
	}
	args = append(args, q.Limit+1)
	rows, err := db.sql.QueryContext(ctx, `SELECT `+logColumns+` FROM log_entry WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, wharf.Wrap(err, "list logs")
	}
	return scanLogs(rows, q.Raw)
}

// scanLogs reads entries, their metadata decoded or, when raw, as stored.
func scanLogs(rows *sql.Rows, raw bool) ([]wharf.LogEntry, error) {
	defer rows.Close()
	var out []wharf.LogEntry
	for rows.Next() {
		var e wharf.LogEntry
		var accID, perfID sql.NullInt64
		var accName, accKind, accEmail, perfName, perfKind, perfEmail sql.NullString
		var created int64
		var meta string
		if err := rows.Scan(&e.ID, &e.Kind, &accID, &accName, &accKind, &accEmail,
			&perfID, &perfName, &perfKind, &perfEmail, &e.IP, &created, &meta); err != nil {
			return nil, wharf.Wrap(err, "scan log")
		}
		e.Account = wharf.LogParty{ID: accID.Int64, Name: accName.String, Kind: wharf.AccountKind(accKind.String), Email: accEmail.String}
		e.Performer = wharf.LogParty{ID: perfID.Int64, Name: perfName.String, Kind: wharf.AccountKind(perfKind.String), Email: perfEmail.String}
		e.Time = fromMicros(created)
		if raw {
			e.RawMetadata = []byte(meta)
		} else if err := json.Unmarshal([]byte(meta), &e.Metadata); err != nil {
			return nil, wharf.Wrap(err, "decode log metadata")
		}
		out = append(out, e)
	}
	return out, wharf.Wrap(rows.Err(), "list logs")
}

// AggregateLogs counts the entries q selects (its window and filters; no
// cursor or limit) by kind and UTC day.
func (db *Logs) AggregateLogs(ctx context.Context, q wharf.LogQuery) ([]wharf.LogCount, error) {
	const day = int64(24 * time.Hour / time.Microsecond)
	query := `SELECT kind, created_at / $1 AS day, COUNT(*) FROM log_entry WHERE created_at >= $2 AND created_at < $3`
	args := []any{day, micros(q.Start), micros(q.End)}
	for _, f := range []struct {
		column string
		id     int64
	}{{"account_id", q.AccountID}, {"performer_id", q.PerformerID}, {"repository_id", q.RepositoryID}} {
		if f.id != 0 {
			args = append(args, f.id)
			query += ` AND ` + f.column + ` = $` + strconv.Itoa(len(args))
		}
	}
	rows, err := db.sql.QueryContext(ctx, query+` GROUP BY kind, created_at / $1 ORDER BY day, kind`, args...)
	if err != nil {
		return nil, wharf.Wrap(err, "aggregate logs")
	}
	defer rows.Close()
	var out []wharf.LogCount
	for rows.Next() {
		var c wharf.LogCount
		var d int64
		if err := rows.Scan(&c.Kind, &d, &c.Count); err != nil {
			return nil, wharf.Wrap(err, "scan log count")
		}
		c.Day = fromMicros(d * day)
		out = append(out, c)
	}
	return out, wharf.Wrap(rows.Err(), "aggregate logs")
}

// OldestLogs returns up to limit entries written before cutoff, oldest first.
func (db *Logs) OldestLogs(ctx context.Context, cutoff time.Time, limit int) ([]wharf.LogEntry, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+logColumns+` FROM log_entry WHERE created_at < $1
		ORDER BY created_at, id LIMIT $2`, micros(cutoff), limit)
	if err != nil {
		return nil, wharf.Wrap(err, "list old logs")
	}
	return scanLogs(rows, false)
}

// DeleteLogs removes the entries with the given ids, and takes them off
// the hourly counts.
func (db *Logs) DeleteLogs(ctx context.Context, ids []int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		counts := logHours{}
		for start := 0; start < len(ids); start += 500 {
			batch := ids[start:min(start+500, len(ids))]
			args := make([]any, len(batch))
			for i, id := range batch {
				args[i] = id
			}
			rows, err := tx.QueryContext(ctx, `DELETE FROM log_entry WHERE id IN (`+placeholderList(len(batch))+`)
				RETURNING created_at, kind`, args...)
			if err != nil {
				return wharf.Wrap(err, "delete logs")
			}
			for rows.Next() {
				var at int64
				var kind string
				if err := rows.Scan(&at, &kind); err != nil {
					rows.Close()
					return wharf.Wrap(err, "delete logs")
				}
				counts.add(at, kind, -1)
			}
			if err := rows.Close(); err != nil {
				return wharf.Wrap(err, "delete logs")
			}
			if err := rows.Err(); err != nil {
				return wharf.Wrap(err, "delete logs")
			}
		}
		return counts.apply(ctx, tx)
	})
}
