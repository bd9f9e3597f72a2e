package db

import (
	"context"
	"database/sql"
	"slices"
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
	"email":   "a.email", // where accounts lack one, each engine puts NULL at its own end
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
		// Case-insensitive: SQLite's LIKE is already (for ASCII, as names
		// are), and LOWER() on every row would double its scan; PostgreSQL
		// compares lowered text faster than it runs ILIKE (measured).
		cond := `(a.name LIKE ? ESCAPE '\' OR a.email LIKE ? ESCAPE '\')`
		if db.dialect == Postgres {
			cond = `(LOWER(a.name) LIKE ? ESCAPE '\' OR LOWER(a.email) LIKE ? ESCAPE '\')`
		}
		pattern := "%" + escapeLike(strings.ToLower(q.Text)) + "%"
		add(cond, pattern, pattern)
	}
	if q.EnabledOnly {
		where = append(where, "a.enabled = TRUE")
	}
	// Usage is joined only when it sorts or filters the page: the
	// user and organization lists read their quotas and usage per page.
	usage := "0"
	from := ` FROM account a`
	if q.UsedOnly || q.Sort == "usage" {
		join := " LEFT JOIN"
		if q.UsedOnly {
			join = " JOIN"
			where = append(where, "u.used > 0")
		}
		usage = "COALESCE(u.used, 0)"
		from += join + ` (SELECT namespace_id, SUM(bytes) AS used FROM namespace_usage GROUP BY namespace_id) u ON u.namespace_id = a.id`
	}
	from += ` WHERE ` + strings.Join(where, " AND ")
	// A search scans every account of the kind whatever it does: it counts
	// its matches in the same scan (a window count) instead of a second
	// one. An unfiltered list counts from the index and pages the index.
	search := q.Text != ""
	var total int64
	if !search {
		if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*)`+from, args...).Scan(&total); err != nil {
			return nil, nil, 0, wharf.Wrap(err, "count accounts")
		}
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	cols := "a." + strings.ReplaceAll(accountColumns, ", ", ", a.")
	args = append(args, q.Limit, q.Offset)
	// Names are unique, so they need no tie-breaker, and the engines walk
	// the (kind, name) index for them; the other columns end in the id.
	tie := `, a.id` + dir
	if q.Sort == "name" || q.Sort == "created" {
		tie = ""
	}
	counted := ""
	if search {
		counted = ", COUNT(*) OVER ()"
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+cols+`, `+usage+counted+from+` ORDER BY `+order+dir+tie+
		` LIMIT $`+strconv.Itoa(len(args)-1)+` OFFSET $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, nil, 0, wharf.Wrap(err, "search accounts")
	}
	defer rows.Close()
	var out []*wharf.Account
	used := map[int64]int64{}
	for rows.Next() {
		var n int64
		extra := []any{&n}
		if search {
			extra = append(extra, &total)
		}
		a, err := scanAccount(scanWithExtra{rows, extra})
		if err != nil {
			return nil, nil, 0, wharf.Wrap(err, "scan account")
		}
		used[a.ID] = n
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, wharf.Wrap(err, "search accounts")
	}
	if search && len(out) == 0 && q.Offset > 0 {
		// A page past the last match has no row to carry the count.
		if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*)`+from, args[:len(args)-2]...).Scan(&total); err != nil {
			return nil, nil, 0, wharf.Wrap(err, "count accounts")
		}
	}
	return out, used, total, nil
}

// scanWithExtra scans an account row followed by more columns.
type scanWithExtra struct {
	rows  *sql.Rows
	extra []any
}

func (s scanWithExtra) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.extra...)...) }

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

// bucketKind is one bar of one kind in CountLogs.
type bucketKind struct {
	b    int64
	kind string
}

// CountLogs counts the entries q selects (its cursor and limit aside) by
// kind and by bucket of the given width, the first bucket starting at
// origin (at or before q.Start), ordered by bucket and kind.
//
// Without a performer, namespace or repository filter, and with buckets of
// whole hours from a whole hour, the window's whole hours are read from
// the hourly counts (log_count) and only its partial first and last hours
// from the entries: a month is some 720 rows, not every entry of it.
func (db *Logs) CountLogs(ctx context.Context, q wharf.LogSearch, origin time.Time, bucket time.Duration) ([]wharf.LogCount, error) {
	q.After = nil
	width, from := int64(bucket/time.Microsecond), micros(origin)
	counts := map[bucketKind]int64{}
	start, end := micros(q.Start), micros(q.End)
	firstHour, endHour := floorDiv(start+hourMicros-1, hourMicros), floorDiv(end, hourMicros)
	byHour := q.Performer == "" && q.Namespace == "" && q.Repository == "" &&
		width%hourMicros == 0 && from%hourMicros == 0 && firstHour < endHour
	if !byHour {
		if err := db.countEntries(ctx, q, from, width, counts); err != nil {
			return nil, err
		}
		return sortedCounts(counts, origin, bucket), nil
	}
	if err := db.countHours(ctx, firstHour, endHour, q.Kind, from, width, counts); err != nil {
		return nil, err
	}
	for _, edge := range [][2]int64{{start, firstHour * hourMicros}, {endHour * hourMicros, end}} {
		if edge[0] >= edge[1] {
			continue
		}
		part := q
		part.Start, part.End = fromMicros(edge[0]), fromMicros(edge[1])
		if err := db.countEntries(ctx, part, from, width, counts); err != nil {
			return nil, err
		}
	}
	return sortedCounts(counts, origin, bucket), nil
}

// countEntries adds the entries q selects to counts, by kind and bucket.
//
// PostgreSQL groups in SQL (a hash aggregate). SQLite's GROUP BY on an
// expression sorts every row first, which costs twice what reading the
// covering index (created_at, id, kind) and counting here does (measured
// over 200,000 entries), so on SQLite the rows are counted in Go.
func (db *Logs) countEntries(ctx context.Context, q wharf.LogSearch, from, width int64, counts map[bucketKind]int64) error {
	where, args := db.logSearchWhere(q)
	var err error
	if db.dialect == Postgres {
		args = append(args, from, width)
		n := strconv.Itoa(len(args))
		err = db.eachRow(ctx, `SELECT kind, (created_at - $`+strconv.Itoa(len(args)-1)+`) / $`+n+` AS b, COUNT(*)
			FROM log_entry WHERE `+where+` GROUP BY kind, b`, args, func(rows *sql.Rows) error {
			var k bucketKind
			var c int64
			if err := rows.Scan(&k.kind, &k.b, &c); err != nil {
				return err
			}
			counts[k] += c
			return nil
		})
	} else {
		err = db.eachRow(ctx, `SELECT created_at, kind FROM log_entry WHERE `+where, args, func(rows *sql.Rows) error {
			var at int64
			var k bucketKind
			if err := rows.Scan(&at, &k.kind); err != nil {
				return err
			}
			k.b = (at - from) / width
			counts[k]++
			return nil
		})
	}
	return wharf.Wrap(err, "count logs")
}

func sortedCounts(counts map[bucketKind]int64, origin time.Time, bucket time.Duration) []wharf.LogCount {
	out := make([]wharf.LogCount, 0, len(counts))
	for k, c := range counts {
		out = append(out, wharf.LogCount{Kind: k.kind, Day: origin.Add(time.Duration(k.b) * bucket), Count: c})
	}
	slices.SortFunc(out, func(a, b wharf.LogCount) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	return out
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
