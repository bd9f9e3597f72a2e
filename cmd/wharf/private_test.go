package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/wharf"
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

// TestSecretKeySealsStore checks that the store open wires is sealed under
// SECRET_KEY: the same data directory opened with another key stops
// start-up with an error naming SECRET_KEY, not with garbage credentials.
func TestSecretKeySealsStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	withKey := func(key string) func(string) string {
		return func(name string) string {
			if name == "WHARF_SECRET_KEY" {
				return key
			}
			return ""
		}
	}
	var stderr bytes.Buffer
	in, err := open(t.Context(), []string{"--data", dir}, withKey("first-key"), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	org := &wharf.Account{Name: "acme", Kind: wharf.KindOrg, Enabled: true}
	if err := in.store.Accounts.CreateAccount(ctx, org, nil); err != nil {
		t.Fatal(err)
	}
	app := &wharf.Application{OrgID: org.ID, ClientID: "CLIENT", ClientSecret: "SECRET", Name: "app"}
	if err := in.store.OAuth.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	in.store.Close()

	in, err = open(t.Context(), []string{"--data", dir}, withKey("first-key"), &stderr)
	if err != nil {
		t.Fatalf("reopening with the same key: %v", err)
	}
	in.store.Close()
	_, err = open(t.Context(), []string{"--data", dir}, withKey("second-key"), &stderr)
	if !errors.Is(err, db.ErrSecretKey) || !strings.Contains(err.Error(), "SECRET_KEY") {
		t.Fatalf("another SECRET_KEY: open = %v, want an error naming SECRET_KEY", err)
	}
}
