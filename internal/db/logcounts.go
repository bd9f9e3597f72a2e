package db

import (
	"cmp"
	"context"
	"database/sql"
	"math/rand/v2"
	"slices"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// The action log's hourly counts by kind (table log_count), kept in the
// transaction that writes or archives the entries they count. The
// console's chart reads whole hours from them, so that its cost follows
// the number of hours in its window, not the number of entries.

// hourMicros is the width of one log_count row, in microseconds.
const hourMicros = int64(3_600_000_000)

type logHour struct {
	hour int64
	kind string
}

// logHours collects changes to the counts of a transaction.
type logHours map[logHour]int64

// add counts delta entries of kind written at micros at.
func (c logHours) add(at int64, kind string, delta int64) {
	c[logHour{floorDiv(at, hourMicros), kind}] += delta
}

// logCountShards is how many rows share an hour and kind's count: each
// change goes to one at random, so that concurrent transactions logging the
// same kind (pushes) rarely wait for each other's commit on PostgreSQL,
// which locks each row it upserts until then. Readers sum the shards.
const logCountShards = 16

// apply adds the changes to log_count inside tx, in one order for every
// transaction, so that two writing the same hours never wait on each other
// in a cycle.
func (c logHours) apply(ctx context.Context, tx *sql.Tx) error {
	keys := make([]logHour, 0, len(c))
	for k, n := range c {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b logHour) int { return cmp.Or(cmp.Compare(a.hour, b.hour), cmp.Compare(a.kind, b.kind)) })
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_count (hour, kind, shard, n) VALUES ($1, $2, $3, $4)
			ON CONFLICT (hour, kind, shard) DO UPDATE SET n = log_count.n + excluded.n`, k.hour, k.kind, rand.IntN(logCountShards), c[k]); err != nil {
			return wharf.Wrap(err, "count action log")
		}
	}
	return nil
}

// floorDiv is a/b rounded down (b > 0), also for a < 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// countHours adds the counts of the whole hours [from, to) (hour numbers)
// of kind (every kind when empty) to counts, by bucket of width
// microseconds starting at origin.
func (db *Logs) countHours(ctx context.Context, from, to int64, kind string, origin, width int64, counts map[bucketKind]int64) error {
	where, args := `hour >= $1 AND hour < $2`, []any{from, to}
	if kind != "" {
		where, args = where+` AND kind = $3`, append(args, kind)
	}
	return wharf.Wrap(db.eachRow(ctx, `SELECT hour, kind, n FROM log_count WHERE `+where, args, func(rows *sql.Rows) error {
		var hour, n int64
		var k string
		if err := rows.Scan(&hour, &k, &n); err != nil {
			return err
		}
		if n != 0 {
			counts[bucketKind{floorDiv(hour*hourMicros-origin, width), k}] += n
		}
		return nil
	}), "count logs by hour")
}
