package db

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// This file holds the queries of the web console's list pages: a page of
// rows and their total in two statements, whatever the page.

// consoleAccountSorts are the columns the console may sort accounts by.
var consoleAccountSorts = map[string]string{
	"name":    "a.name",
	"email":   "COALESCE(a.email, '')",
	"created": "a.id",
	"usage":   "COALESCE(u.used, 0)",
}

// ConsoleAccounts returns the page of accounts q selects, the bytes each
// uses, and how many accounts match q in all. Invalid for an unknown sort
// column.
func (db *Accounts) ConsoleAccounts(ctx context.Context, q wharf.AccountSearch) ([]*wharf.Account, map[int64]int64, int64, error) {
	order, ok := consoleAccountSorts[q.Sort]
	if !ok {
		return nil, nil, 0, wharf.Errorf(wharf.Invalid, "Unknown sort %q", q.Sort)
	}
	var where []string
	var args []any
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	kinds := make([]string, len(q.Kinds))
	for i, k := range q.Kinds {
		args = append(args, string(k))
		kinds[i] = "$" + strconv.Itoa(len(args))
	}
	where = append(where, "a.kind IN ("+strings.Join(kinds, ", ")+")")
	if q.Text != "" {
		pattern := "%" + escapeLike(strings.ToLower(q.Text)) + "%"
		add(`(LOWER(a.name) LIKE ? ESCAPE '\' OR LOWER(COALESCE(a.email, '')) LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	if q.EnabledOnly {
		where = append(where, "a.enabled = TRUE")
	}
	join := "LEFT JOIN"
	if q.UsedOnly {
		join = "JOIN"
		where = append(where, "u.used > 0")
	}
	from := ` FROM account a ` + join + ` (SELECT namespace_id, SUM(bytes) AS used FROM namespace_usage GROUP BY namespace_id) u
		ON u.namespace_id = a.id WHERE ` + strings.Join(where, " AND ")
	var total int64
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*)`+from, args...).Scan(&total); err != nil {
		return nil, nil, 0, wharf.Wrap(err, "count accounts")
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	cols := "a." + strings.ReplaceAll(accountColumns, ", ", ", a.")
	args = append(args, q.Limit, q.Offset)
	rows, err := db.sql.QueryContext(ctx, `SELECT `+cols+`, COALESCE(u.used, 0)`+from+` ORDER BY `+order+dir+`, a.id`+dir+
		` LIMIT $`+strconv.Itoa(len(args)-1)+` OFFSET $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, nil, 0, wharf.Wrap(err, "search accounts")
	}
	defer rows.Close()
	var out []*wharf.Account
	used := map[int64]int64{}
	for rows.Next() {
		var n int64
		a, err := scanAccount(scanWithExtra{rows, &n})
		if err != nil {
			return nil, nil, 0, wharf.Wrap(err, "scan account")
		}
		used[a.ID] = n
		out = append(out, a)
	}
	return out, used, total, wharf.Wrap(rows.Err(), "search accounts")
}

// scanWithExtra scans an account row followed by one more column.
type scanWithExtra struct {
	rows  *sql.Rows
	extra any
}

func (s scanWithExtra) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.extra)...) }

// logSearchWhere is the WHERE clause (and its arguments) of q.
func (db *Logs) logSearchWhere(q wharf.LogSearch) (string, []any) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	add(`created_at >= ?`, micros(q.Start))
	add(`created_at < ?`, micros(q.End))
	if q.Kind != "" {
		add(`kind = ?`, q.Kind)
	}
	if q.Performer != "" {
		add(`performer_name = ?`, q.Performer)
	}
	if q.Namespace != "" {
		add(`account_name = ?`, q.Namespace)
	}
	if q.Repository != "" {
		if db.dialect == Postgres {
			add(`(metadata::jsonb ->> 'repo') = ?`, q.Repository)
		} else {
			add(`json_extract(metadata, '$.repo') = ?`, q.Repository)
		}
	}
	if q.After != nil {
		args = append(args, micros(q.After.Time), q.After.ID)
		n := strconv.Itoa(len(args) - 1)
		where = append(where, "(created_at < $"+n+" OR (created_at = $"+n+" AND id < $"+strconv.Itoa(len(args))+"))")
	}
	return strings.Join(where, " AND "), args
}

// SearchLogs returns up to q.Limit+1 entries q selects, newest first (the
// extra one tells the caller a next page exists).
func (db *Logs) SearchLogs(ctx context.Context, q wharf.LogSearch) ([]wharf.LogEntry, error) {
	where, args := db.logSearchWhere(q)
	args = append(args, q.Limit+1)
	rows, err := db.sql.QueryContext(ctx, `SELECT `+logColumns+` FROM log_entry WHERE `+where+
		` ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, wharf.Wrap(err, "search logs")
	}
	return scanLogs(rows, q.Raw)
}

// CountLogs counts the entries q selects (its cursor and limit aside) by
// kind and by bucket of the given width, the first bucket starting at
// origin (at or before q.Start).
func (db *Logs) CountLogs(ctx context.Context, q wharf.LogSearch, origin time.Time, bucket time.Duration) ([]wharf.LogCount, error) {
	q.After = nil
	where, args := db.logSearchWhere(q)
	width := int64(bucket / time.Microsecond)
	args = append(args, micros(origin), width)
	n := strconv.Itoa(len(args))
	rows, err := db.sql.QueryContext(ctx, `SELECT kind, (created_at - $`+strconv.Itoa(len(args)-1)+`) / $`+n+` AS b, COUNT(*)
		FROM log_entry WHERE `+where+` GROUP BY kind, b ORDER BY b, kind`, args...)
	if err != nil {
		return nil, wharf.Wrap(err, "count logs")
	}
	defer rows.Close()
	var out []wharf.LogCount
	for rows.Next() {
		var c wharf.LogCount
		var b int64
		if err := rows.Scan(&c.Kind, &b, &c.Count); err != nil {
			return nil, wharf.Wrap(err, "scan log count")
		}
		c.Day = origin.Add(time.Duration(b) * bucket)
		out = append(out, c)
	}
	return out, wharf.Wrap(rows.Err(), "count logs")
}

// ConsoleBuilds returns a page of every repository's builds, newest first
// (only unfinished ones when active), and how many there are in all.
func (db *Builds) ConsoleBuilds(ctx context.Context, active bool, offset, limit int) ([]*wharf.Build, int64, error) {
	where := "TRUE"
	if active {
		where = "b.phase NOT IN ('" + strings.Join([]string{wharf.PhaseComplete, wharf.PhaseError, wharf.PhaseInternalError, wharf.PhaseCancelled}, "', '") + "')"
	}
	var total int64
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM build b WHERE `+where).Scan(&total); err != nil {
		return nil, 0, wharf.Wrap(err, "count builds")
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+buildColumns+buildFrom+` WHERE `+where+
		` ORDER BY b.started DESC, b.id DESC LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, 0, wharf.Wrap(err, "list builds")
	}
	defer rows.Close()
	var out []*wharf.Build
	for rows.Next() {
		b, err := scanBuild(rows)
		if err != nil {
			return nil, 0, wharf.Wrap(err, "list builds")
		}
		out = append(out, b)
	}
	return out, total, wharf.Wrap(rows.Err(), "list builds")
}
