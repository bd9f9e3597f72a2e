package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// envMap returns a getenv over a fixed map, as cmd/wharf's run passes os.Getenv.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadEnvOverrides(t *testing.T) {
	const file = `
SUPER_USERS: [fromfile]
FEATURE_MAILING: true
FEATURE_SUPER_USERS: true
DB_URI: postgresql://file/db
SERVER_HOSTNAME: file.example.com
DISTRIBUTED_STORAGE_CONFIG:
  a: [LocalStorage, {}]
  b: [LocalStorage, {}]
DISTRIBUTED_STORAGE_PREFERENCE: [a]
`
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "nothing set keeps the file",
			env:  map[string]string{"SUPER_USERS": "ignored: no prefix"},
			check: func(t *testing.T, c *Config) {
				if diff := cmp.Diff([]string{"fromfile"}, c.SuperUsers); diff != "" {
					t.Errorf("SuperUsers (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "lists",
			env: map[string]string{
				"WHARF_SUPER_USERS":                    " alice, bob ,,carol,",
				"WHARF_GLOBAL_READONLY_SUPER_USERS":    "auditor",
				"WHARF_DISTRIBUTED_STORAGE_PREFERENCE": "b,a",
				"WHARF_TAG_EXPIRATION_OPTIONS":         "1d, 2w",
				"WHARF_DEFAULT_TAG_EXPIRATION":         "1d",
			},
			check: func(t *testing.T, c *Config) {
				got := []any{c.SuperUsers, c.GlobalReadonlySuperUsers, c.StoragePreference, c.TagExpirationOptions, c.DefaultTagExpiration}
				want := []any{[]string{"alice", "bob", "carol"}, []string{"auditor"}, []string{"b", "a"}, []time.Duration{day, 2 * week}, day}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]any{"alice", "bob", "carol"}, c.Raw["SUPER_USERS"]); diff != "" {
					t.Errorf("Raw shows the override (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "bools",
			env: map[string]string{
				"WHARF_FEATURE_MAILING":          "FALSE",
				"WHARF_FEATURE_SUPER_USERS":      "0",
				"WHARF_FEATURE_USER_CREATION":    "False",
				"WHARF_FEATURE_ANONYMOUS_ACCESS": " 1 ",
				"WHARF_FEATURE_EDIT_QUOTA":       "TrUe",
			},
			check: func(t *testing.T, c *Config) {
				got := []bool{c.FeatureMailing, c.FeatureSuperUsers, c.FeatureUserCreation, c.FeatureAnonymousAccess, c.FeatureEditQuota}
				if diff := cmp.Diff([]bool{false, false, false, true, true}, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				if c.Raw["FEATURE_MAILING"] != false {
					t.Errorf("Raw[FEATURE_MAILING] = %#v, want false", c.Raw["FEATURE_MAILING"])
				}
			},
		},
		{
			name: "strings, integers and durations",
			env: map[string]string{
				"WHARF_DB_URI":                            "sqlite:///var/lib/wharf/wharf.db",
				"WHARF_SERVER_HOSTNAME":                   "env.example.com:8443",
				"WHARF_PREFERRED_URL_SCHEME":              "https",
				"WHARF_DEFAULT_SYSTEM_REJECT_QUOTA_BYTES": "1048576",
				"WHARF_SECRET_KEY":                        "s3cret",
				"WHARF_PAGE_TOKEN_KEY":                    "ptk",
				"WHARF_BOOTSTRAP_SECRET":                  "boot",
				"WHARF_FRESH_LOGIN_TIMEOUT":               "5m",
				"WHARF_ACTION_LOG_ROTATION_THRESHOLD":     "1w",
				"WHARF_REGISTRY_STATE":                    "readonly",
				"WHARF_AUTHENTICATION_TYPE":               "Database",
				"WHARF_DISTRIBUTED_STORAGE_CONFIG":        "ignored: no env override for a structure",
			},
			check: func(t *testing.T, c *Config) {
				got := []any{c.DBURI, c.ServerHostname, c.PreferredURLScheme, c.DefaultSystemRejectQuotaBytes,
					c.SecretKey, c.PageTokenKey, c.BootstrapSecret, c.FreshLoginTimeout, c.ActionLogRotationThreshold,
					c.RegistryState, c.AuthenticationType, len(c.Storage)}
				want := []any{"sqlite:///var/lib/wharf/wharf.db", "env.example.com:8443", "https", int64(1048576),
					"s3cret", "ptk", "boot", 5 * time.Minute, week, "readonly", "Database", 2}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				red := c.Redacted()
				for k, want := range map[string]any{"DB_URI": "********** (32)", "SECRET_KEY": "****** (6)", "BOOTSTRAP_SECRET": "**** (4)", "SERVER_HOSTNAME": "env.example.com:8443"} {
					if red[k] != want {
						t.Errorf("Redacted()[%s] = %#v, want %#v", k, red[k], want)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, file), envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadEnvProblems(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantKeys []string
		wantText []string
	}{
		{"bad bool", map[string]string{"WHARF_FEATURE_MAILING": "yes"}, []string{"FEATURE_MAILING"},
			[]string{`WHARF_FEATURE_MAILING="yes" is not a boolean`}},
		{"bad bools", map[string]string{"WHARF_FEATURE_SUPER_USERS": "on", "WHARF_FEATURE_EDIT_QUOTA": "2"}, []string{"FEATURE_SUPER_USERS", "FEATURE_EDIT_QUOTA"}, nil},
		{"bad integer", map[string]string{"WHARF_DEFAULT_SYSTEM_REJECT_QUOTA_BYTES": "10G"}, []string{"DEFAULT_SYSTEM_REJECT_QUOTA_BYTES"},
			[]string{`WHARF_DEFAULT_SYSTEM_REJECT_QUOTA_BYTES="10G" is not an integer`}},
		{"negative integer", map[string]string{"WHARF_DEFAULT_SYSTEM_REJECT_QUOTA_BYTES": "-1"}, []string{"DEFAULT_SYSTEM_REJECT_QUOTA_BYTES"}, []string{"must be >= 0"}},
		{"bad duration", map[string]string{"WHARF_FRESH_LOGIN_TIMEOUT": "10 minutes"}, []string{"FRESH_LOGIN_TIMEOUT"},
			[]string{`invalid duration "10 minutes"`, "(from WHARF_FRESH_LOGIN_TIMEOUT)"}},
		{"bad duration item", map[string]string{"WHARF_TAG_EXPIRATION_OPTIONS": "1d,1y"}, []string{"TAG_EXPIRATION_OPTIONS[1]"}, []string{"(from WHARF_TAG_EXPIRATION_OPTIONS)"}},
		{"bad value", map[string]string{"WHARF_DB_URI": "mysql://root:hunter2@db/quay"}, []string{"DB_URI"}, []string{"********** (28)"}},
		{"unknown location", map[string]string{"WHARF_DISTRIBUTED_STORAGE_PREFERENCE": "s3"}, []string{"DISTRIBUTED_STORAGE_PREFERENCE"}, []string{`"s3"`}},
		{"with file problems", map[string]string{"WHARF_FEATURE_MAILING": "maybe", "WHARF_REGISTRY_STATE": "paused"}, []string{"FEATURE_MAILING", "REGISTRY_STATE"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", envMap(tt.env))
			if diff := cmp.Diff(tt.wantKeys, problemKeys(t, err)); diff != "" {
				t.Errorf("problem keys mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			for _, s := range tt.wantText {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("error does not contain %q:\n%v", s, err)
				}
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}
