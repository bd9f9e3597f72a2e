package db_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
)

// TestSQLiteFileModes checks that the database file and its WAL and shared
// memory files are readable by their owner only, however they were created:
// they hold robot tokens and OAuth client secrets. PostgreSQL keeps its own
// files, so this is SQLite's alone.
func TestSQLiteFileModes(t *testing.T) {
	tests := []struct {
		name     string
		existing os.FileMode // 0: no files before Open
	}{
		{"new database", 0},
		{"database left world-readable by an older wharf", 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wharf.db")
			if tt.existing != 0 {
				for _, suffix := range []string{"", "-wal", "-shm"} {
					if err := os.WriteFile(path+suffix, nil, tt.existing); err != nil {
						t.Fatal(err)
					}
					if err := os.Chmod(path+suffix, tt.existing); err != nil {
						t.Fatal(err)
					}
				}
			}
			store, err := db.Open(context.Background(), "sqlite://"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			for _, suffix := range []string{"", "-wal", "-shm"} {
				fi, err := os.Stat(path + suffix)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != 0o600 {
					t.Errorf("%s: mode %v, want -rw-------", filepath.Base(path+suffix), got)
				}
			}
		})
	}
}
