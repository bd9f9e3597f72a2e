package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeConfig writes a config file into a fresh temporary directory.
func writeConfig(t testing.TB, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problemKeys returns the key of every problem in err, in order.
func problemKeys(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []string
	for _, e := range errs {
		var p *problem
		if !errors.As(e, &p) {
			t.Fatalf("not a *problem: %v", e)
		}
		out = append(out, p.key)
	}
	return out
}

func TestDefault(t *testing.T) {
	c := Default()
	want := Config{
		FeatureSuperUsers:          true,
		FeatureUserInitialize:      true,
		FeatureUserCreation:        true,
		FeatureQuotaManagement:     true,
		FeatureEditQuota:           true,
		FeatureAnonymousAccess:     true,
		FeatureSuperuserConfigDump: true,
		PreferredURLScheme:         "http",
		Storage:                    map[string]StorageLocation{"default": {Driver: "LocalStorage", Params: map[string]any{}}},
		StoragePreference:          []string{"default"},
		TagExpirationOptions:       []time.Duration{0, 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour},
		DefaultTagExpiration:       14 * 24 * time.Hour,
		AuthenticationType:         "Database",
		FreshLoginTimeout:          10 * time.Minute,
		ActionLogRotationThreshold: 30 * 24 * time.Hour,
		ActionLogAuditLogins:       true,
		RegistryState:              "normal",
		FeatureBuildSupport:        true,
		BuildExecutor:              "builtin",
		BuildWorkers:               1,
		BuildTimeout:               time.Hour,
		BuildWorkerLease:           30 * time.Second,
		BuildContextMaxBytes:       1 << 30,
		FeatureGarbageCollection:   true,
		GarbageCollectionFrequency: 30,
		BlobCollectionGrace:        time.Hour,
		PushTempTagExpirationSec:   3600,
		BlobOrphanSweepInterval:    24 * time.Hour,
		AutoPruningPollPeriod:      30,
		FeatureAppSpecificTokens:   true,
		FeatureLogExport:           true,
		ExportActionLogsSeconds:    3600,
		Raw:                        map[string]any{},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Default() mismatch (-want +got):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}

	t.Run("fresh copies", func(t *testing.T) {
		a := Default()
		a.Storage["default"].Params["storage_path"] = "/x"
		a.TagExpirationOptions[0] = time.Hour
		if diff := cmp.Diff(want, Default()); diff != "" {
			t.Errorf("changing one Default() changed the next (-want +got):\n%s", diff)
		}
	})

	t.Run("Load without file or env", func(t *testing.T) {
		got, err := Load("", nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, *got); diff != "" {
			t.Errorf("Load(\"\", nil) mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("empty file", func(t *testing.T) {
		got, err := Load(writeConfig(t, "# nothing configured yet\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, *got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("null values keep defaults", func(t *testing.T) {
		got, err := Load(writeConfig(t, "SUPER_USERS:\nFEATURE_MAILING: null\nDB_URI: ~\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		w := want
		w.Raw = map[string]any{"SUPER_USERS": nil, "FEATURE_MAILING": nil, "DB_URI": nil}
		if diff := cmp.Diff(w, *got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestLoadQuayConfig(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "quay-config.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	typed := *c
	typed.Raw, typed.Unknown = nil, nil
	want := Config{
		SuperUsers:                    []string{"quayadmin", "alice"},
		GlobalReadonlySuperUsers:      []string{"auditor"},
		FeatureSuperUsers:             true,
		FeatureUserInitialize:         false,
		FeatureUserCreation:           false,
		FeatureQuotaManagement:        true,
		FeatureEditQuota:              true,
		FeatureMailing:                true,
		FeatureAnonymousAccess:        false,
		FeatureSuperuserConfigDump:    true,
		DefaultSystemRejectQuotaBytes: 107374182400,
		ServerHostname:                "quay.example.com",
		PreferredURLScheme:            "https",
		DBURI:                         "postgresql://quay:s3cr3t@postgres.quay.svc:5432/quay",
		Storage: map[string]StorageLocation{
			"s3_us_east": {Driver: "S3Storage", Params: map[string]any{
				"host":          "s3.us-east-1.amazonaws.com",
				"s3_access_key": "AKIAIOSFODNN7EXAMPLE",
				"s3_secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
				"s3_bucket":     "quay-prod",
				"storage_path":  "/datastorage/registry",
			}},
			"local": {Driver: "LocalStorage", Params: map[string]any{"storage_path": "/datastorage/registry"}},
		},
		StoragePreference:           []string{"s3_us_east", "local"},
		TagExpirationOptions:        []time.Duration{0, day, week, 2 * week, 4 * week, 8 * week},
		DefaultTagExpiration:        week,
		SecretKey:                   "e8f9fd3e-9a37-4f2c-a8a4-6ad2b8a2d0b1",
		PageTokenKey:                "pt-key-0123456789",
		AuthenticationType:          "Database",
		FreshLoginTimeout:           15 * time.Minute,
		ActionLogRotationThreshold:  2 * week,
		ActionLogAuditLogins:        true,
		ActionLogAuditLoginFailures: true,
		RegistryState:               "normal",
		FeatureBuildSupport:         false,
		BuildExecutor:               "builtin",
		BuildWorkers:                1,
		BuildTimeout:                time.Hour,
		BuildWorkerLease:            30 * time.Second,
		BuildContextMaxBytes:        1 << 30,
		FeatureGarbageCollection:    true,
		GarbageCollectionFrequency:  30,
		BlobCollectionGrace:         time.Hour,
		PushTempTagExpirationSec:    3600,
		BlobOrphanSweepInterval:     24 * time.Hour,
		AutoPruningPollPeriod:       30,
		FeatureAppSpecificTokens:    true,
		AppSpecificTokenExpiration:  52 * week,
		ExportActionLogsSeconds:     7200,
	}
	if diff := cmp.Diff(want, typed); diff != "" {
		t.Errorf("typed config mismatch (-want +got):\n%s", diff)
	}

	wantUnknown := []string{
		"ACTION_LOG_ARCHIVE_LOCATION", "ACTION_LOG_ARCHIVE_PATH", "ALLOW_PULLS_WITHOUT_STRICT_LOGGING",
		"AVATAR_KIND", "BROWSER_API_CALLS_XHR_ONLY", "BUILDLOGS_REDIS", "DATABASE_SECRET_KEY",
		"DB_CONNECTION_ARGS", "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS", "EXTERNAL_TLS_TERMINATION",
		"FEATURE_ACI_CONVERSION", "FEATURE_ACTION_LOG_ROTATION", "FEATURE_APP_REGISTRY",
		"FEATURE_BITBUCKET_BUILD", "FEATURE_BLACKLISTED_EMAILS",
		"FEATURE_CHANGE_TAG_EXPIRATION", "FEATURE_DIRECT_LOGIN",
		"FEATURE_GITHUB_BUILD", "FEATURE_GITHUB_LOGIN", "FEATURE_GITLAB_BUILD", "FEATURE_GOOGLE_LOGIN",
		"FEATURE_INVITE_ONLY_USER_CREATION", "FEATURE_NONSUPERUSER_TEAM_SYNCING_SETUP",
		"FEATURE_PARTIAL_USER_AUTOCOMPLETE", "FEATURE_PROXY_STORAGE", "FEATURE_REPO_MIRROR",
		"FEATURE_REQUIRE_TEAM_INVITE", "FEATURE_RESTRICTED_V1_PUSH", "FEATURE_SECURITY_NOTIFICATIONS",
		"FEATURE_SECURITY_SCANNER", "FEATURE_STORAGE_REPLICATION", "FEATURE_SUPERUSERS_FULL_ACCESS",
		"FEATURE_TEAM_SYNCING", "FEATURE_USER_LAST_ACCESSED", "FEATURE_USER_LOG_ACCESS",
		"FEATURE_USER_METADATA", "FEATURE_USER_RENAME", "GITHUB_LOGIN_CONFIG",
		"GLOBAL_PROMETHEUS_STATS_FREQUENCY", "LDAP_ADMIN_DN", "LDAP_ADMIN_PASSWD", "LOGS_MODEL",
		"LOGS_MODEL_CONFIG", "MAIL_DEFAULT_SENDER", "MAIL_PORT", "MAIL_USE_AUTH", "MAIL_USE_TLS",
		"REGISTRY_TITLE", "REGISTRY_TITLE_SHORT", "REPO_MIRROR_INTERVAL", "REPO_MIRROR_TLS_VERIFY",
		"SEARCH_MAX_RESULT_PAGE_COUNT", "SEARCH_RESULTS_PER_PAGE", "SECURITY_SCANNER_INDEXING_INTERVAL",
		"SECURITY_SCANNER_V4_PSK", "SETUP_COMPLETE", "TEAM_RESYNC_STALE_TIME", "TESTING",
		"USERFILES_LOCATION", "USERFILES_PATH", "USER_EVENTS_REDIS", "USER_RECOVERY_TOKEN_LIFETIME",
	}
	if diff := cmp.Diff(wantUnknown, c.Unknown); diff != "" {
		t.Errorf("Unknown mismatch (-want +got):\n%s", diff)
	}
	// The file sets every wharf key except those Quay lacks: BOOTSTRAP_SECRET,
	// the nine BUILD_* and OUTBOUND_* keys of wharf's own build workers, the
	// five garbage-collection keys and the two auto-prune ones.
	if got, want := len(c.Raw), len(wantUnknown)+len(keys)-17; got != want {
		t.Errorf("len(Raw) = %d, want %d (every key of the file)", got, want)
	}
	redis, _ := c.Raw["BUILDLOGS_REDIS"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"host": "redis.quay.svc", "port": 6379, "password": "r3d1s-p4ss"}, redis); diff != "" {
		t.Errorf("Raw keeps unknown nested values (-want +got):\n%s", diff)
	}
}

func TestLoadStoragePreferenceDefault(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"single location", "DISTRIBUTED_STORAGE_CONFIG:\n  main: [LocalStorage, {storage_path: /data}]\n", []string{"main"}},
		{"null params", "DISTRIBUTED_STORAGE_CONFIG:\n  main: [LocalStorage, null]\n", []string{"main"}},
		{"explicit", "DISTRIBUTED_STORAGE_CONFIG:\n  a: [LocalStorage, {}]\n  b: [LocalStorage, {}]\nDISTRIBUTED_STORAGE_PREFERENCE: [b]\n", []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, tt.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.StoragePreference); diff != "" {
				t.Errorf("StoragePreference mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadProblems covers every type error and value rule: each case names
// the keys its problems must carry, and text the message must contain.
func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantKeys []string
		wantText []string
		hidden   []string // must not appear: secrets
	}{
		{"super users not a list", "SUPER_USERS: admin\n", []string{"SUPER_USERS"}, []string{`want a list of strings, got "admin"`}, nil},
		{"super users item", "SUPER_USERS: [admin, 42, {a: b}]\n", []string{"SUPER_USERS[1]", "SUPER_USERS[2]"}, []string{"got 42 (int)", "got a mapping"}, nil},
		{"empty username", "GLOBAL_READONLY_SUPER_USERS: [ro, '']\n", []string{"GLOBAL_READONLY_SUPER_USERS[1]"}, []string{"must not be empty"}, nil},
		{"bool as string", "FEATURE_MAILING: 'true'\n", []string{"FEATURE_MAILING"}, []string{`want a boolean (true or false), got "true"`}, nil},
		{"bool as int", "FEATURE_SUPER_USERS: 1\n", []string{"FEATURE_SUPER_USERS"}, []string{"got 1 (int)"}, nil},
		{"each feature flag", "FEATURE_USER_INITIALIZE: x\nFEATURE_USER_CREATION: x\nFEATURE_QUOTA_MANAGEMENT: x\nFEATURE_EDIT_QUOTA: x\nFEATURE_ANONYMOUS_ACCESS: x\nFEATURE_SUPERUSER_CONFIGDUMP: x\n",
			[]string{"FEATURE_USER_INITIALIZE", "FEATURE_USER_CREATION", "FEATURE_QUOTA_MANAGEMENT", "FEATURE_EDIT_QUOTA", "FEATURE_ANONYMOUS_ACCESS", "FEATURE_SUPERUSER_CONFIGDUMP"}, nil, nil},
		{"quota not integer", "DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 10GiB\n", []string{"DEFAULT_SYSTEM_REJECT_QUOTA_BYTES"}, []string{`want an integer, got "10GiB"`}, nil},
		{"quota float", "DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 1.5e9\n", []string{"DEFAULT_SYSTEM_REJECT_QUOTA_BYTES"}, []string{"float64"}, nil},
		{"quota too big", "DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 18446744073709551615\n", []string{"DEFAULT_SYSTEM_REJECT_QUOTA_BYTES"}, []string{"want an integer"}, nil},
		{"quota negative", "DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: -1\n", []string{"DEFAULT_SYSTEM_REJECT_QUOTA_BYTES"}, []string{"must be >= 0", "got -1"}, nil},
		{"hostname not string", "SERVER_HOSTNAME: [a]\n", []string{"SERVER_HOSTNAME"}, []string{"got a list of 1 items"}, nil},
		{"hostname is URL", "SERVER_HOSTNAME: https://quay.example.com\n", []string{"SERVER_HOSTNAME"}, []string{`"https://quay.example.com"`}, nil},
		{"scheme", "PREFERRED_URL_SCHEME: ftp\n", []string{"PREFERRED_URL_SCHEME"}, []string{`got "ftp"`}, nil},
		{"db uri scheme", "DB_URI: mysql+pymysql://quay:hunter2@db/quay\n", []string{"DB_URI"}, []string{"postgresql://", `"********** (36)"`}, []string{"hunter2", "mysql"}},
		{"db uri type", "DB_URI: 12345\n", []string{"DB_URI"}, []string{`want a string, got "***** (5)"`}, []string{"12345"}},
		{"secret key type", "SECRET_KEY: [hunter2]\n", []string{"SECRET_KEY"}, []string{"want a string"}, []string{"hunter2"}},
		{"page token key type", "PAGE_TOKEN_KEY: true\n", []string{"PAGE_TOKEN_KEY"}, []string{"want a string"}, nil},
		{"bootstrap secret type", "BOOTSTRAP_SECRET: 424242\n", []string{"BOOTSTRAP_SECRET"}, []string{"want a string"}, []string{"424242"}},
		{"storage not a mapping", "DISTRIBUTED_STORAGE_CONFIG: [LocalStorage, {}]\n", []string{"DISTRIBUTED_STORAGE_CONFIG"}, []string{"want a mapping"}, nil},
		{"storage entry shape", "DISTRIBUTED_STORAGE_CONFIG:\n  a: LocalStorage\n  b: [LocalStorage]\n  c: [1, {}]\n  d: [LocalStorage, /data]\n",
			[]string{"DISTRIBUTED_STORAGE_CONFIG.a", "DISTRIBUTED_STORAGE_CONFIG.b", "DISTRIBUTED_STORAGE_CONFIG.c[0]", "DISTRIBUTED_STORAGE_CONFIG.d[1]"},
			[]string{"two-element list", "want a driver name, got 1 (int)", `got "/data"`}, nil},
		{"storage driver", "DISTRIBUTED_STORAGE_CONFIG:\n  default: [AzureStorage, {}]\n", []string{"DISTRIBUTED_STORAGE_CONFIG.default"}, []string{`unsupported driver "AzureStorage"`}, nil},
		{"storage path", "DISTRIBUTED_STORAGE_CONFIG:\n  a: [LocalStorage, {storage_path: ''}]\n  b: [LocalStorage, {storage_path: 7}]\nDISTRIBUTED_STORAGE_PREFERENCE: [a]\n",
			[]string{"DISTRIBUTED_STORAGE_CONFIG.a", "DISTRIBUTED_STORAGE_CONFIG.b"}, []string{"storage_path must be a non-empty string"}, nil},
		{"s3 bucket", "DISTRIBUTED_STORAGE_CONFIG:\n  s3: [S3Storage, {s3_secret_key: hunter2}]\n  gw: [RadosGWStorage, {bucket_name: 5}]\nDISTRIBUTED_STORAGE_PREFERENCE: [s3]\n",
			[]string{"DISTRIBUTED_STORAGE_CONFIG.gw", "DISTRIBUTED_STORAGE_CONFIG.s3"}, []string{"s3_bucket must be a non-empty string, got null", "bucket_name must be a non-empty string, got 5"}, []string{"hunter2"}},
		{"preference unknown", "DISTRIBUTED_STORAGE_PREFERENCE: [default, us_east]\n", []string{"DISTRIBUTED_STORAGE_PREFERENCE"}, []string{`location "us_east" is not in DISTRIBUTED_STORAGE_CONFIG`}, nil},
		{"preference needed", "DISTRIBUTED_STORAGE_CONFIG:\n  a: [LocalStorage, {}]\n  b: [LocalStorage, {}]\n", []string{"DISTRIBUTED_STORAGE_PREFERENCE"}, []string{`location "default"`}, nil},
		{"preference empty", "DISTRIBUTED_STORAGE_PREFERENCE: []\n", []string{"DISTRIBUTED_STORAGE_PREFERENCE"}, []string{"at least one"}, nil},
		{"storage empty", "DISTRIBUTED_STORAGE_CONFIG: {}\nDISTRIBUTED_STORAGE_PREFERENCE: [x]\n", []string{"DISTRIBUTED_STORAGE_CONFIG", "DISTRIBUTED_STORAGE_PREFERENCE"}, []string{"at least one storage location"}, nil},
		{"tag options type", "TAG_EXPIRATION_OPTIONS: 2w\n", []string{"TAG_EXPIRATION_OPTIONS"}, []string{"want a list of durations"}, nil},
		{"tag options items", "TAG_EXPIRATION_OPTIONS: [1d, 5x, -1d, true]\n", []string{"TAG_EXPIRATION_OPTIONS[1]", "TAG_EXPIRATION_OPTIONS[2]", "TAG_EXPIRATION_OPTIONS[3]"}, []string{`"5x"`, `"-1d"`, "got true (bool)"}, nil},
		{"default tag expiration not an option", "DEFAULT_TAG_EXPIRATION: 3d\n", []string{"DEFAULT_TAG_EXPIRATION"}, []string{"72h0m0s is not one of TAG_EXPIRATION_OPTIONS"}, nil},
		{"default tag expiration bad", "DEFAULT_TAG_EXPIRATION: soon\n", []string{"DEFAULT_TAG_EXPIRATION"}, []string{`"soon"`}, nil},
		{"auth type", "AUTHENTICATION_TYPE: LDAP\n", []string{"AUTHENTICATION_TYPE"}, []string{`"LDAP" is not supported`}, nil},
		{"fresh login type", "FRESH_LOGIN_TIMEOUT: 1.5\n", []string{"FRESH_LOGIN_TIMEOUT"}, []string{"want a duration"}, nil},
		{"fresh login zero", "FRESH_LOGIN_TIMEOUT: 0m\n", []string{"FRESH_LOGIN_TIMEOUT"}, []string{"must be > 0"}, nil},
		{"rotation zero", "ACTION_LOG_ROTATION_THRESHOLD: 0s\n", []string{"ACTION_LOG_ROTATION_THRESHOLD"}, []string{"must be > 0"}, nil},
		{"rotation bare zero", "ACTION_LOG_ROTATION_THRESHOLD: 0\n", []string{"ACTION_LOG_ROTATION_THRESHOLD"}, []string{"must be > 0"}, nil},
		{"rotation no unit", "ACTION_LOG_ROTATION_THRESHOLD: 30\n", []string{"ACTION_LOG_ROTATION_THRESHOLD"}, []string{`invalid duration "30"`}, nil},
		{"registry state", "REGISTRY_STATE: maintenance\n", []string{"REGISTRY_STATE"}, []string{`got "maintenance"`}, nil},
		{"registry state type", "REGISTRY_STATE: false\n", []string{"REGISTRY_STATE"}, []string{"got false (bool)"}, nil},
		{"build executor", "BUILD_EXECUTOR: docker\n", []string{"BUILD_EXECUTOR"}, []string{`want builtin or buildah, got "docker"`}, nil},
		{"build workers", "BUILD_WORKERS: -1\n", []string{"BUILD_WORKERS"}, []string{"want 0 to 64"}, nil},
		{"build timeout", "BUILD_TIMEOUT: 0s\n", []string{"BUILD_TIMEOUT"}, []string{"must be > 0"}, nil},
		{"build queue limit", "BUILD_MAX_QUEUED: -1\n", []string{"BUILD_MAX_QUEUED"}, []string{"must be >= 0"}, nil},
		{"build context limit", "BUILD_CONTEXT_MAX_BYTES: 0\n", []string{"BUILD_CONTEXT_MAX_BYTES"}, []string{"must be > 0"}, nil},
		{"build registry url", "BUILD_REGISTRY_URL: ftp://x\n", []string{"BUILD_REGISTRY_URL"}, []string{"want http(s)://host[:port]"}, nil},
		{"build registry url with password", "BUILD_REGISTRY_URL: http://u:hunter2@x\n", []string{"BUILD_REGISTRY_URL"}, []string{"want http(s)://host[:port]", "u:xxxxx@x"}, []string{"hunter2"}},
		{"build registry url with query", "BUILD_REGISTRY_URL: http://x/?a=b\n", []string{"BUILD_REGISTRY_URL"}, []string{"want http(s)://host[:port]"}, nil},
		{"outbound network", "OUTBOUND_ALLOWED_NETWORKS: [10.0.0.0/8, nope]\n", []string{"OUTBOUND_ALLOWED_NETWORKS[1]"}, []string{`got "nope"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, tt.yaml), nil)
			if err == nil {
				t.Fatalf("Load succeeded, want problems with %v", tt.wantKeys)
			}
			if c != nil {
				t.Errorf("Load returned a config with its error")
			}
			if diff := cmp.Diff(tt.wantKeys, problemKeys(t, err)); diff != "" {
				t.Errorf("problem keys mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not contain %q:\n%v", s, err)
				}
			}
			for _, s := range tt.hidden {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error leaks %q:\n%v", s, err)
				}
			}
		})
	}
}

func TestLoadManyProblemsAtOnce(t *testing.T) {
	yaml := `
SUPER_USERS: admin
FEATURE_MAILING: yes please
DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: -5
PREFERRED_URL_SCHEME: gopher
DB_URI: mongodb://x
DISTRIBUTED_STORAGE_CONFIG:
  default: [GCSStorage, {}]
TAG_EXPIRATION_OPTIONS: [1d, 1y]
DEFAULT_TAG_EXPIRATION: 1d
AUTHENTICATION_TYPE: OIDC
FRESH_LOGIN_TIMEOUT: 0s
REGISTRY_STATE: off
BUILDLOGS_REDIS: {host: redis}
`
	_, err := Load(writeConfig(t, yaml), nil)
	want := []string{
		// type problems, in key order
		"SUPER_USERS", "FEATURE_MAILING", "TAG_EXPIRATION_OPTIONS[1]",
		// value problems, in check order; DEFAULT_TAG_EXPIRATION is not
		// reported because its options could not be read
		"DEFAULT_SYSTEM_REJECT_QUOTA_BYTES", "PREFERRED_URL_SCHEME", "DB_URI",
		"DISTRIBUTED_STORAGE_CONFIG.default", "AUTHENTICATION_TYPE", "FRESH_LOGIN_TIMEOUT", "REGISTRY_STATE",
	}
	if diff := cmp.Diff(want, problemKeys(t, err)); diff != "" {
		t.Errorf("problem keys mismatch (-want +got):\n%s\nerror: %v", diff, err)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !slices.ContainsFunc(want, func(k string) bool { return strings.HasPrefix(line, k+": ") }) {
			t.Errorf("line does not start with a key: %q", line)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name     string
		path     func(t *testing.T) string
		wantText string
		wantIs   error
	}{
		{"missing file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.yaml") }, "nope.yaml", fs.ErrNotExist},
		{"syntax error", func(t *testing.T) string { return writeConfig(t, "SUPER_USERS: [a\nFEATURE_MAILING: nope\n") }, "config.yaml: yaml:", nil},
		{"duplicate key", func(t *testing.T) string { return writeConfig(t, "DB_URI: a\nDB_URI: b\n") }, "already defined", nil},
		{"not a mapping", func(t *testing.T) string { return writeConfig(t, "- SUPER_USERS\n") }, "must be a YAML mapping", nil},
		{"scalar", func(t *testing.T) string { return writeConfig(t, "hello\n") }, "must be a YAML mapping", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.path(t), nil)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) != 1 {
				t.Errorf("want a single problem, got %d: %v", len(j.Unwrap()), err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
		})
	}
}

func TestLoadNonStringKeys(t *testing.T) {
	c, err := Load(writeConfig(t, "1: one\ntrue: yes\nBUILDLOGS_REDIS: {2: x}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1", "BUILDLOGS_REDIS", "true"}, c.Unknown); diff != "" {
		t.Errorf("Unknown mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"2": "x"}, c.Raw["BUILDLOGS_REDIS"]); diff != "" {
		t.Errorf("nested keys are strings (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		change   func(c *Config)
		wantKeys []string
	}{
		{"default", func(c *Config) {}, nil},
		{"negative tag option", func(c *Config) { c.TagExpirationOptions = append(c.TagExpirationOptions, -time.Hour) }, []string{"TAG_EXPIRATION_OPTIONS[5]"}},
		{"no storage", func(c *Config) { c.Storage = nil }, []string{"DISTRIBUTED_STORAGE_CONFIG", "DISTRIBUTED_STORAGE_PREFERENCE"}},
		{"no preference", func(c *Config) { c.StoragePreference = nil }, []string{"DISTRIBUTED_STORAGE_PREFERENCE"}},
		{"empty options", func(c *Config) { c.TagExpirationOptions = nil }, []string{"DEFAULT_TAG_EXPIRATION"}},
		{"postgres and sqlite", func(c *Config) { c.DBURI = "postgres://u@h/db" }, nil},
		{"sqlite", func(c *Config) { c.DBURI = "sqlite:///data/wharf.db" }, nil},
		{"readonly https", func(c *Config) { c.RegistryState, c.PreferredURLScheme = "readonly", "https" }, nil},
		{"host with port", func(c *Config) { c.ServerHostname = "registry.local:8443" }, nil},
		{"zero everything", func(c *Config) { *c = Config{} }, []string{
			"PREFERRED_URL_SCHEME", "DISTRIBUTED_STORAGE_CONFIG", "DISTRIBUTED_STORAGE_PREFERENCE",
			"DEFAULT_TAG_EXPIRATION", "AUTHENTICATION_TYPE", "FRESH_LOGIN_TIMEOUT",
			"ACTION_LOG_ROTATION_THRESHOLD", "REGISTRY_STATE", "GARBAGE_COLLECTION_FREQUENCY", "BLOB_ORPHAN_SWEEP_INTERVAL", "AUTO_PRUNING_POLL_PERIOD", "EXPORT_ACTION_LOGS_SECONDS", "BUILD_EXECUTOR", "BUILD_TIMEOUT", "BUILD_WORKER_LEASE", "BUILD_CONTEXT_MAX_BYTES",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			if diff := cmp.Diff(tt.wantKeys, problemKeys(t, err)); diff != "" {
				t.Errorf("problem keys mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestKeysDecode guards the keys table: every key decodes (decodeValue
// panics on a field type it does not know), names a distinct field, and has
// a row in the package doc with its env variable.
func TestKeysDecode(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[any]string{}
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			var c Config
			ptr := k.field(&c)
			if other, ok := seen[ptr]; ok {
				t.Errorf("same field as %s", other)
			}
			seen[ptr] = k.name
			_ = decodeValue(k.name, struct{}{}, ptr) // must not panic
			row := "//\t" + k.name + " "
			if !strings.Contains(string(doc), row) {
				t.Errorf("doc.go has no table row for %s", k.name)
			}
			if _, ok := ptr.(*map[string]StorageLocation); !ok && !strings.Contains(string(doc), envPrefix+k.name+"\n") {
				t.Errorf("doc.go does not name %s%s", envPrefix, k.name)
			}
		})
	}
}
