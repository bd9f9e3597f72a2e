package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataDirModes checks that open leaves the data directory, the SQLite
// database and blob storage readable by wharf's user only: directories it
// creates are 0700, and ones an older wharf created 0755 are tightened,
// with a warning saying so.
func TestDataDirModes(t *testing.T) {
	tests := []struct {
		name     string
		existing os.FileMode // 0: open creates the directory
		warning  string
	}{
		{"new", 0, ""},
		{"left open by an older wharf", 0o755, "was open to other users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if tt.existing != 0 {
				for _, d := range []string{dir, filepath.Join(dir, "storage")} {
					if err := os.Mkdir(d, tt.existing); err != nil {
						t.Fatal(err)
					}
					if err := os.Chmod(d, tt.existing); err != nil {
						t.Fatal(err)
					}
				}
			}
			var stderr bytes.Buffer
			in, err := open(t.Context(), []string{"--data", dir}, func(string) string { return "" }, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			defer in.store.Close() // the WAL files go with the last connection
			want := map[string]os.FileMode{
				"":             0o700,
				"storage":      0o700,
				"wharf.db":     0o600,
				"wharf.db-wal": 0o600,
				"wharf.db-shm": 0o600,
				"secret_key":   0o600,
			}
			for name, mode := range want {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != mode {
					t.Errorf("%s/%s: mode %v, want %v", filepath.Base(dir), name, got, mode)
				}
			}
			if got := stderr.String(); tt.warning == "" && got != "" || !strings.Contains(got, tt.warning) {
				t.Errorf("log %q, want a warning containing %q", got, tt.warning)
			}
		})
	}
}
