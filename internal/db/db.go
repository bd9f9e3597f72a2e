// Package db is wharf's storage of record on database/sql, for two engines:
// an embedded SQLite file (modernc.org/sqlite, pure Go) and PostgreSQL
// (pgx). The SQL is written once with $N placeholders, which both drivers
// accept; the schema differs only where the engines do and lives in
// migrations/<dialect>/, applied in order, one transaction each.
//
// A DB is one connection pool behind per-domain stores, each a field of DB
// that the services take as the small interface they declare:
//
//	DB ─┬─ Accounts      accounts, robots, teams, sessions, app tokens, credential epochs, credential lookups
//	    ├─ OAuth         OAuth applications and the tokens they grant
//	    ├─ Registry      repositories, blobs and their links, manifests, tags, referrers, catalog
//	    ├─ Uploads       upload sessions and the quota they reserve as bytes arrive
//	    ├─ Usage         namespace usage accounting, the registry's total size
//	    ├─ Quotas        namespace quotas and their limits
//	    ├─ Builds        builds and their queue, build logs, uploaded build contexts
//	    ├─ ServiceKeys   service keys and wharf's own instance keys
//	    ├─ Logs          the action log: append, list, aggregate, archive
//	    ├─ LogExports    log exports requested through the API and their progress
//	    ├─ Leases        job leases (one process runs each background job)
//	    ├─ Messages      the global messages superusers publish
//	    └─ Tenancy       teams and members, repository permissions, default permissions, stars, repository lists
//
// Public methods own their transaction; helpers take a *sql.Tx. Every method
// that changes state takes the action-log entries that describe the change
// and writes them in the same transaction, so a change and its audit row
// commit or fail together. No method calls back into its caller: a change
// the caller decided on a row it read is written only if the row is still
// as read, and Conflict caused by wharf.ErrChanged tells it to read and
// decide again.
package db

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the database engine behind a DB.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the store of record: the domain stores over one connection pool.
// They are fields, not embedded, so that no one type carries every method:
// a consumer whose interface spans two domains is given a small struct
// embedding those two (see internal/app). Every method name belongs to one
// domain store, so such a struct never has an ambiguous method.
type DB struct {
	*base
	Accounts    *Accounts
	OAuth       *OAuth
	Registry    *Registry
	Uploads     *Uploads
	Usage       *Usage
	Quotas      *Quotas
	Builds      *Builds
	ServiceKeys *ServiceKeys
	Logs        *Logs
	LogExports  *LogExports
	Leases      *Leases
	Messages    *Messages
	Collection  *Collection
	Tenancy     *Tenancy
	wal         *walCheckpointer // SQLite only (walcheckpoint.go)
}

// Open connects to uri, applies pending migrations and, with
// WithSecretKey, checks the key against the sealed credentials and seals
// any left in plaintext. A uri starting with postgres:// or postgresql://
// selects PostgreSQL; sqlite://PATH or a plain file path selects SQLite.
func Open(ctx context.Context, uri string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var aead cipher.AEAD
	if o.seal {
		var err error
		if aead, err = sealer(o.secretKey); err != nil {
			return nil, err
		}
	}
	dialect, _, dsn, err := SQLDriver(uri)
	if err != nil {
		return nil, err
	}
	if dialect == SQLite {
		if err := makePrivate(strings.TrimPrefix(uri, "sqlite://")); err != nil {
			return nil, err
		}
	}
	var sqlDB *sql.DB
	var wal *walCheckpointer
	if dialect == Postgres {
		sqlDB, err = openPostgres(dsn) // reports outages as Unavailable (outage.go)
	} else {
		wal, err = startCheckpointer(func(context.Context) (driver.Conn, error) { return (&sqlite.Driver{}).Open(dsn) })
		// prepares each statement once per connection (stmtcache.go), queues writers (writegate.go)
		sqlDB = sql.OpenDB(&sqliteConnector{dsn: dsn, gate: newWriteGate(), wal: wal})
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	// The pool keeps the connections it opens: database/sql keeps only 2
	// idle by default, and a closed SQLite connection costs its PRAGMAs and
	// a schema parse to reopen, a PostgreSQL one a TCP and auth handshake.
	if dialect == SQLite {
		// One writer at a time is SQLite's model; a small pool of readers
		// works in WAL mode, and busy_timeout makes writers queue, not fail.
		sqlDB.SetMaxOpenConns(4)
		sqlDB.SetMaxIdleConns(4)
	} else {
		sqlDB.SetMaxOpenConns(16)
		sqlDB.SetMaxIdleConns(16)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	b := &base{sql: sqlDB, dialect: dialect, now: time.Now, aead: aead}
	db := &DB{base: b, wal: wal, Accounts: &Accounts{b}, OAuth: &OAuth{b}, Registry: &Registry{b}, Uploads: &Uploads{b},
		Usage: &Usage{b}, Quotas: &Quotas{b}, Builds: &Builds{b}, ServiceKeys: &ServiceKeys{b}, Logs: &Logs{b}, LogExports: &LogExports{b}, Leases: &Leases{b},
		Messages: &Messages{b}, Collection: &Collection{b}, Tenancy: &Tenancy{b}}
	if err := sqlDB.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.sealStored(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("stored credentials: %w", err)
	}
	return db, nil
}

// SQLDriver returns the dialect, database/sql driver name and DSN that
// Open uses for uri, for tools that load data in bulk beside the store.
func SQLDriver(uri string) (dialect Dialect, driver, dsn string, err error) {
	switch {
	case strings.HasPrefix(uri, "postgres://"), strings.HasPrefix(uri, "postgresql://"):
		return Postgres, "pgx", uri, nil
	case uri == "":
		return "", "", "", errors.New("database URI is empty")
	}
	path := strings.TrimPrefix(uri, "sqlite://")
	if strings.Contains(path, "?") {
		return "", "", "", fmt.Errorf("sqlite database path %q must not carry options", path)
	}
	q := url.Values{}
	for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	// BEGIN IMMEDIATE takes the write lock up front, so two writers never
	// deadlock upgrading read locks; the loser waits on busy_timeout.
	q.Set("_txlock", "immediate")
	return SQLite, "sqlite", "file:" + filepath.ToSlash(path) + "?" + q.Encode(), nil
}

// makePrivate creates the SQLite database at path readable by its owner
// only, whatever the umask, and takes group and other access away from the
// files an older wharf left open: they hold robot tokens and OAuth client
// secrets. SQLite creates the WAL, shared-memory and journal files with the
// database's own mode, so tightening the database covers the ones to come.
func makePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create sqlite database: %w", err)
	}
	f.Close()
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("make sqlite database private: %w", err)
		}
	}
	return nil
}

// Dialect reports the engine behind db.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes the connection pool (and SQLite's checkpointer).
func (db *DB) Close() error {
	err := db.sql.Close()
	db.wal.close()
	return err
}

func (db *DB) migrate(ctx context.Context) error {
	dir := "migrations/" + string(db.dialect)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)

	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if db.dialect == Postgres {
		// Several wharf processes may start at once against one database:
		// the advisory lock lets exactly one of them migrate.
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7401001)`); err != nil {
			return fmt.Errorf("lock for migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7401001)`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migration (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create migration table: %w", err)
	}
	for _, name := range names {
		version, err := strconv.ParseInt(strings.SplitN(name, "_", 2)[0], 10, 64)
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		body, err := fs.ReadFile(migrations, dir+"/"+name)
		if err != nil {
			return err
		}
		if err := applyMigration(ctx, conn, version, string(body), db.now()); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, version int64, body string, now time.Time) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migration WHERE version = $1`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migration (version, applied_at) VALUES ($1, $2)`, version, now.UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

// isUniqueViolation recognises a unique-constraint failure by SQLSTATE or
// SQLite extended result code, never by message text.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		return liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// pgConstraint names the violated constraint on PostgreSQL. SQLite needs no
// such help: its writers are serialised by BEGIN IMMEDIATE, so the checks made
// earlier in the same transaction cannot be raced.
func pgConstraint(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
