// Package dbtest runs store tests on every engine wharf supports: SQLite
// always, PostgreSQL when WHARF_TEST_POSTGRES holds a DSN. Each test gets a
// database of its own (a temp file, or a fresh PostgreSQL schema), so tests
// run in parallel without seeing each other's rows.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wharf-registry/wharf/internal/db"
)

// PostgresEnv names the environment variable holding the PostgreSQL DSN.
const PostgresEnv = "WHARF_TEST_POSTGRES"

var warnOnce sync.Once

// Engines returns the names of the engines tests run on. When PostgreSQL is
// not configured the test fails: no run may pass without the PostgreSQL
// suite. Outside CI (CI unset), WHARF_ALLOW_SKIP=1 runs SQLite only instead,
// saying so once on stderr.
func Engines(t testing.TB) []db.Dialect {
	t.Helper()
	if os.Getenv(PostgresEnv) != "" {
		return []db.Dialect{db.SQLite, db.Postgres}
	}
	if os.Getenv("CI") != "" || os.Getenv("WHARF_ALLOW_SKIP") != "1" {
		t.Fatalf("%s is not set, so the PostgreSQL suite cannot run: start it with %s=$(scripts/test-postgres.sh) "+
			"(outside CI, WHARF_ALLOW_SKIP=1 runs SQLite only)", PostgresEnv, PostgresEnv)
	}
	warnOnce.Do(func() {
		fmt.Fprintf(os.Stderr, "\n*** dbtest: %s is not set: the PostgreSQL suite is NOT running, SQLite only (WHARF_ALLOW_SKIP=1) ***\n\n", PostgresEnv)
	})
	return []db.Dialect{db.SQLite}
}

// Run calls fn once per engine, as a subtest named after the engine, with a
// fresh, migrated database.
func Run(t *testing.T, fn func(t *testing.T, store *db.DB)) {
	t.Helper()
	for _, d := range Engines(t) {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// URI returns the URI of a fresh, empty database on engine d, removed when
// the test ends. Several processes may open it (black-box tests do).
func URI(t testing.TB, d db.Dialect) string {
	t.Helper()
	if d == db.SQLite {
		return filepath.Join(t.TempDir(), "wharf.db")
	}
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Fatalf("%s is not set", PostgresEnv)
	}
	schema := "t_" + randomHex(8)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to PostgreSQL at %s=%q: %v", PostgresEnv, dsn, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SecretKey is the key Open seals stored credentials with.
const SecretKey = "dbtest-secret-key"

// Open returns a fresh, migrated database on engine d, sealing stored
// credentials under SecretKey, closed when the test ends.
func Open(t testing.TB, d db.Dialect) *db.DB {
	t.Helper()
	store, err := db.Open(context.Background(), URI(t, d), db.WithSecretKey(SecretKey))
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
