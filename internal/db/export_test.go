package db

import "time"

// SetClock replaces the process clock a store reads, for tests.
func SetClock(store *DB, now func() time.Time) { store.now = now }

// RawString reads one text value with SQL, past the store's unsealing, so
// tests can see what is at rest.
func RawString(store *DB, query string, args ...any) (string, error) {
	var s string
	err := store.sql.QueryRow(query, args...).Scan(&s)
	return s, err
}
