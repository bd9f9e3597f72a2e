package db

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// base is what every domain store shares: the connection pool, the engine,
// the clock and the sealer, and the few helpers more than one domain needs
// (a transaction, a row lock, action-log and credential-epoch writes inside
// one). Helpers of a single domain stay with it.
type base struct {
	sql     *sql.DB
	dialect Dialect
	now     func() time.Time
	aead    cipher.AEAD // seals credentials at rest (see seal.go); nil: plaintext
	// changes counts the credential-epoch bumps and account updates this
	// process made (see Changes): caches of what they guard look at it.
	changes atomic.Uint64
	// linkChanges counts the blob unlinks this process made (see
	// LinkChanges), apart from changes: a manifest delete need not empty
	// the caches of repositories and tokens.
	linkChanges atomic.Uint64
	// grantChanges counts the transactions this process committed (or
	// tried to) that changed teams, their members or repository grants
	// (see GrantChanges), the ones that give rights included.
	grantChanges atomic.Uint64
	// pace lets background transactions go between requests' ones on
	// PostgreSQL (SQLite's write gate has its own).
	pace requestPace
}

// inTx runs fn in a transaction and commits it when fn returns nil.
func (db *base) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.dialect == Postgres {
		if wharf.InBackground(ctx) {
			if !db.pace.awaitQuiet(ctx, time.Now()) {
				return wharf.Wrap(ctx.Err(), "begin transaction")
			}
		} else {
			db.pace.begin()
			defer db.pace.end()
		}
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return wharf.Wrap(err, "begin transaction")
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return wharf.Wrap(err, "commit")
	}
	return nil
}

// forUpdate is the row lock a transaction's read takes before it writes
// what it read: FOR UPDATE on PostgreSQL; nothing on SQLite, whose writers
// BEGIN IMMEDIATE serialises.
func (db *base) forUpdate() string {
	if db.dialect == Postgres {
		return ` FOR UPDATE`
	}
	return ""
}

// eachRow runs query with args and calls fn for every row.
func (db *base) eachRow(ctx context.Context, query string, args []any, fn func(rows *sql.Rows) error) error {
	rows, err := db.sql.QueryContext(ctx, query, args...)
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

// placeholderList returns "$1, $2, …, $n".
func placeholderList(n int) string {
	marks := make([]string, n)
	for i := range marks {
		marks[i] = "$" + strconv.Itoa(i+1)
	}
	return strings.Join(marks, ", ")
}

type rowScanner interface{ Scan(dest ...any) error }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
