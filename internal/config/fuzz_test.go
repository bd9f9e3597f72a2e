package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzLoadYAML feeds arbitrary bytes to Load as a config file. A config file
// is operator input, but it is also what an attacker with write access to a
// mounted volume controls; Load must answer with a problem, never a panic.
// When it accepts a file, the result must satisfy Validate and be redactable.
func FuzzLoadYAML(f *testing.F) {
	if seed, err := os.ReadFile(filepath.Join("testdata", "quay-config.yaml")); err == nil {
		f.Add(seed)
	}
	for _, s := range []string{
		"",
		"SUPER_USERS: [a, b]\n",
		"DISTRIBUTED_STORAGE_CONFIG:\n  a: [LocalStorage, {storage_path: /d}]\n",
		"DISTRIBUTED_STORAGE_CONFIG:\n  a: [S3Storage, {s3_bucket: b, s3_secret_key: k}]\n",
		"TAG_EXPIRATION_OPTIONS: [0, 1d]\nDEFAULT_TAG_EXPIRATION: 0\n",
		"a: &x [*x]\n",
		"? [a, b]\n: c\n",
		"1: {2: {3: [4]}}\n",
		"- just\n- a list\n",
		"DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 99999999999999999999999\n",
		"x: !!binary aGVsbG8=\ny: !!timestamp 2001-12-14\nz: .nan\n",
	} {
		f.Add([]byte(s))
	}
	// One file per worker process: inputs run one at a time within a
	// process, and a fresh t.TempDir per input costs more than Load itself.
	path := filepath.Join(f.TempDir(), "config.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, nil)
		if err != nil {
			if c != nil {
				t.Fatalf("Load returned both a config and %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load accepted a config that Validate refuses: %v", err)
		}
		if !slices.IsSorted(c.Unknown) {
			t.Fatalf("Unknown not sorted: %v", c.Unknown)
		}
		red := c.Redacted()
		if len(red) != len(c.Raw) {
			t.Fatalf("Redacted has %d keys, Raw %d", len(red), len(c.Raw))
		}
	})
}

// FuzzParseDuration checks ParseDuration never panics and that what it
// accepts is a non-negative whole number of its unit.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "0s", "1d", "1w", "2w", "4w", "10m", "abc", "-1d", "5x", "15251w", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("ParseDuration(%q) = %v with error %v", s, d, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, d)
		}
		if s == "0" {
			return
		}
		unit, _ := ParseDuration("1" + s[len(s)-1:])
		if unit <= 0 || d%unit != 0 {
			t.Fatalf("ParseDuration(%q) = %v, not a multiple of its unit %v", s, d, unit)
		}
	})
}
