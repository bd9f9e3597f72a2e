package db

import "time"

// SetClock replaces the process clock a store reads, for tests.
func SetClock(store *DB, now func() time.Time) { store.now = now }
