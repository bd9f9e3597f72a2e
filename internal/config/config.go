package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is wharf's typed configuration: Quay config.yaml keys plus env
// overrides. The zero value is not useful; start from [Default] or [Load].
type Config struct {
	SuperUsers                    []string                   // SUPER_USERS
	GlobalReadonlySuperUsers      []string                   // GLOBAL_READONLY_SUPER_USERS
	FeatureSuperUsers             bool                       // FEATURE_SUPER_USERS, default true
	FeatureUserInitialize         bool                       // FEATURE_USER_INITIALIZE, default true
	FeatureUserCreation           bool                       // FEATURE_USER_CREATION, default true
	FeatureQuotaManagement        bool                       // FEATURE_QUOTA_MANAGEMENT, default true
	FeatureEditQuota              bool                       // FEATURE_EDIT_QUOTA, default true
	FeatureMailing                bool                       // FEATURE_MAILING, default false
	FeatureAnonymousAccess        bool                       // FEATURE_ANONYMOUS_ACCESS, default true
	FeatureSuperuserConfigDump    bool                       // FEATURE_SUPERUSER_CONFIGDUMP, default true (wharf redacts secrets)
	DefaultSystemRejectQuotaBytes int64                      // DEFAULT_SYSTEM_REJECT_QUOTA_BYTES, default 0, must be >= 0
	ServerHostname                string                     // SERVER_HOSTNAME, default "" (caller fills from listen address)
	PreferredURLScheme            string                     // PREFERRED_URL_SCHEME, "http" (default) or "https"
	DBURI                         string                     // DB_URI; "" = embedded SQLite file
	Storage                       map[string]StorageLocation // DISTRIBUTED_STORAGE_CONFIG
	StoragePreference             []string                   // DISTRIBUTED_STORAGE_PREFERENCE
	TagExpirationOptions          []time.Duration            // TAG_EXPIRATION_OPTIONS, default 0s 1d 1w 2w 4w
	DefaultTagExpiration          time.Duration              // DEFAULT_TAG_EXPIRATION, default 2w
	SecretKey                     string                     // SECRET_KEY ("" = caller generates and stores one)
	PageTokenKey                  string                     // PAGE_TOKEN_KEY ("" = derived from SECRET_KEY by the caller)
	AuthenticationType            string                     // AUTHENTICATION_TYPE, only "Database"
	FreshLoginTimeout             time.Duration              // FRESH_LOGIN_TIMEOUT, default 10m
	ActionLogRotationThreshold    time.Duration              // ACTION_LOG_ROTATION_THRESHOLD, default 30d, > 0
	ActionLogAuditLogins          bool                       // ACTION_LOG_AUDIT_LOGINS, default true: registry logins (docker login) are logged
	ActionLogAuditLoginFailures   bool                       // ACTION_LOG_AUDIT_LOGIN_FAILURES, default false: failed registry logins are logged
	RegistryState                 string                     // REGISTRY_STATE: "normal" (default) or "readonly"
	BootstrapSecret               string                     // BOOTSTRAP_SECRET: lets an operator create the first superuser; "" = off
	FeatureBuildSupport           bool                       // FEATURE_BUILD_SUPPORT, default true
	BuildExecutor                 string                     // BUILD_EXECUTOR: "builtin" (default, pure Go, no RUN) or "buildah"
	BuildWorkers                  int64                      // BUILD_WORKERS: builds one process runs at once, default 1; 0 = none
	BuildTimeout                  time.Duration              // BUILD_TIMEOUT: longest a build may run, default 1h
	BuildWorkerLease              time.Duration              // BUILD_WORKER_LEASE: how long a silent worker keeps its build, default 30s
	BuildContextMaxBytes          int64                      // BUILD_CONTEXT_MAX_BYTES: largest uploaded or unpacked context, default 1 GiB
	BuildMaxQueued                int64                      // BUILD_MAX_QUEUED: unfinished builds one namespace may have, default 0 = no limit
	BuildRegistryURL              string                     // BUILD_REGISTRY_URL: where workers pull and push; "" = this process's own listener
	OutboundAllowedNetworks       []string                   // OUTBOUND_ALLOWED_NETWORKS: CIDRs that user-given URLs may reach although private
	OutboundAllowedHosts          []string                   // OUTBOUND_ALLOWED_HOSTS: host names that user-given URLs may reach although private
	FeatureGarbageCollection      bool                       // FEATURE_GARBAGE_COLLECTION, default true: the blob collector runs in serve
	GarbageCollectionFrequency    int64                      // GARBAGE_COLLECTION_FREQUENCY: seconds between collector runs, default 30, > 0
	BlobCollectionGrace           time.Duration              // BLOB_COLLECTION_GRACE: how long a blob stays after its last reference, default 1h
	PushTempTagExpirationSec      int64                      // PUSH_TEMP_TAG_EXPIRATION_SEC: how long an uploaded blob no manifest references stays linked, default 3600, >= 0
	BlobOrphanSweepInterval       time.Duration              // BLOB_ORPHAN_SWEEP_INTERVAL: how often storage is listed for files no row names, default 1d, > 0
	FeatureAutoPrune              bool                       // FEATURE_AUTO_PRUNE, default false (Quay's): auto-prune policies and their job
	AutoPruningPollPeriod         int64                      // AUTO_PRUNING_POLL_PERIOD: seconds between auto-prune runs, default 30, > 0
	FeatureAppSpecificTokens      bool                       // FEATURE_APP_SPECIFIC_TOKENS, default true
	AppSpecificTokenExpiration    time.Duration              // APP_SPECIFIC_TOKEN_EXPIRATION: lifetime of new app tokens, default 0 = never expire
	FeatureLogExport              bool                       // FEATURE_LOG_EXPORT, default true: the exportlogs endpoints and their job
	ExportActionLogsSeconds       int64                      // EXPORT_ACTION_LOGS_SECONDS: how long an exported log file is served, default 3600, > 0

	// Raw holds every key as loaded (after env overrides), for the config
	// dump; see [Config.Redacted]. Nested mappings are map[string]any and
	// sequences []any.
	Raw map[string]any
	// Unknown lists the keys of Raw that are not wharf keys, sorted.
	Unknown []string
}

// StorageLocation is one entry of DISTRIBUTED_STORAGE_CONFIG: Quay writes it as a
// two-element list [DriverName, {params}], e.g. [LocalStorage, {storage_path: /data}].
type StorageLocation struct {
	Driver string // LocalStorage | S3Storage | RadosGWStorage
	Params map[string]any
}

// Storage driver names, as Quay spells them.
const (
	driverLocal   = "LocalStorage"
	driverS3      = "S3Storage"
	driverRadosGW = "RadosGWStorage"
)

// defaultLocation names the storage location wharf uses when the config
// names none.
const defaultLocation = "default"

// Default returns the configuration used when no file and no environment
// override is given. Every call returns fresh maps and slices, so callers may
// modify the result.
func Default() Config {
	return Config{
		FeatureSuperUsers:          true,
		FeatureUserInitialize:      true,
		FeatureUserCreation:        true,
		FeatureQuotaManagement:     true,
		FeatureEditQuota:           true,
		FeatureMailing:             false,
		FeatureAnonymousAccess:     true,
		FeatureSuperuserConfigDump: true,
		PreferredURLScheme:         "http",
		Storage: map[string]StorageLocation{
			defaultLocation: {Driver: driverLocal, Params: map[string]any{}},
		},
		StoragePreference:          []string{defaultLocation},
		TagExpirationOptions:       []time.Duration{0, day, week, 2 * week, 4 * week},
		DefaultTagExpiration:       2 * week,
		AuthenticationType:         "Database",
		FreshLoginTimeout:          10 * time.Minute,
		ActionLogRotationThreshold: 30 * day,
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
		BlobOrphanSweepInterval:    day,
		AutoPruningPollPeriod:      30,
		FeatureAppSpecificTokens:   true,
		FeatureLogExport:           true,
		ExportActionLogsSeconds:    3600,
		Raw:                        map[string]any{},
	}
}

// key ties a config.yaml key to the Config field it sets. The field's Go type
// decides how the YAML value is checked and how WHARF_<name> is parsed (see
// decode.go), so adding a key is one line here plus a row in doc.go.
type key struct {
	name  string
	field func(c *Config) any // returns a pointer to the field
}

var keys = []key{
	{"SUPER_USERS", func(c *Config) any { return &c.SuperUsers }},
	{"GLOBAL_READONLY_SUPER_USERS", func(c *Config) any { return &c.GlobalReadonlySuperUsers }},
	{"FEATURE_SUPER_USERS", func(c *Config) any { return &c.FeatureSuperUsers }},
	{"FEATURE_USER_INITIALIZE", func(c *Config) any { return &c.FeatureUserInitialize }},
	{"FEATURE_USER_CREATION", func(c *Config) any { return &c.FeatureUserCreation }},
	{"FEATURE_QUOTA_MANAGEMENT", func(c *Config) any { return &c.FeatureQuotaManagement }},
	{"FEATURE_EDIT_QUOTA", func(c *Config) any { return &c.FeatureEditQuota }},
	{"FEATURE_MAILING", func(c *Config) any { return &c.FeatureMailing }},
	{"FEATURE_ANONYMOUS_ACCESS", func(c *Config) any { return &c.FeatureAnonymousAccess }},
	{"FEATURE_SUPERUSER_CONFIGDUMP", func(c *Config) any { return &c.FeatureSuperuserConfigDump }},
	{"DEFAULT_SYSTEM_REJECT_QUOTA_BYTES", func(c *Config) any { return &c.DefaultSystemRejectQuotaBytes }},
	{"SERVER_HOSTNAME", func(c *Config) any { return &c.ServerHostname }},
	{"PREFERRED_URL_SCHEME", func(c *Config) any { return &c.PreferredURLScheme }},
	{"DB_URI", func(c *Config) any { return &c.DBURI }},
	{"DISTRIBUTED_STORAGE_CONFIG", func(c *Config) any { return &c.Storage }},
	{"DISTRIBUTED_STORAGE_PREFERENCE", func(c *Config) any { return &c.StoragePreference }},
	{"TAG_EXPIRATION_OPTIONS", func(c *Config) any { return &c.TagExpirationOptions }},
	{"DEFAULT_TAG_EXPIRATION", func(c *Config) any { return &c.DefaultTagExpiration }},
	{"SECRET_KEY", func(c *Config) any { return &c.SecretKey }},
	{"PAGE_TOKEN_KEY", func(c *Config) any { return &c.PageTokenKey }},
	{"AUTHENTICATION_TYPE", func(c *Config) any { return &c.AuthenticationType }},
	{"FRESH_LOGIN_TIMEOUT", func(c *Config) any { return &c.FreshLoginTimeout }},
	{"ACTION_LOG_ROTATION_THRESHOLD", func(c *Config) any { return &c.ActionLogRotationThreshold }},
	{"ACTION_LOG_AUDIT_LOGINS", func(c *Config) any { return &c.ActionLogAuditLogins }},
	{"ACTION_LOG_AUDIT_LOGIN_FAILURES", func(c *Config) any { return &c.ActionLogAuditLoginFailures }},
	{"REGISTRY_STATE", func(c *Config) any { return &c.RegistryState }},
	{"BOOTSTRAP_SECRET", func(c *Config) any { return &c.BootstrapSecret }},
	{"FEATURE_BUILD_SUPPORT", func(c *Config) any { return &c.FeatureBuildSupport }},
	{"BUILD_EXECUTOR", func(c *Config) any { return &c.BuildExecutor }},
	{"BUILD_WORKERS", func(c *Config) any { return &c.BuildWorkers }},
	{"BUILD_TIMEOUT", func(c *Config) any { return &c.BuildTimeout }},
	{"BUILD_WORKER_LEASE", func(c *Config) any { return &c.BuildWorkerLease }},
	{"BUILD_CONTEXT_MAX_BYTES", func(c *Config) any { return &c.BuildContextMaxBytes }},
	{"BUILD_MAX_QUEUED", func(c *Config) any { return &c.BuildMaxQueued }},
	{"BUILD_REGISTRY_URL", func(c *Config) any { return &c.BuildRegistryURL }},
	{"OUTBOUND_ALLOWED_NETWORKS", func(c *Config) any { return &c.OutboundAllowedNetworks }},
	{"OUTBOUND_ALLOWED_HOSTS", func(c *Config) any { return &c.OutboundAllowedHosts }},
	{"FEATURE_GARBAGE_COLLECTION", func(c *Config) any { return &c.FeatureGarbageCollection }},
	{"GARBAGE_COLLECTION_FREQUENCY", func(c *Config) any { return &c.GarbageCollectionFrequency }},
	{"BLOB_COLLECTION_GRACE", func(c *Config) any { return &c.BlobCollectionGrace }},
	{"PUSH_TEMP_TAG_EXPIRATION_SEC", func(c *Config) any { return &c.PushTempTagExpirationSec }},
	{"BLOB_ORPHAN_SWEEP_INTERVAL", func(c *Config) any { return &c.BlobOrphanSweepInterval }},
	{"FEATURE_AUTO_PRUNE", func(c *Config) any { return &c.FeatureAutoPrune }},
	{"AUTO_PRUNING_POLL_PERIOD", func(c *Config) any { return &c.AutoPruningPollPeriod }},
	{"FEATURE_APP_SPECIFIC_TOKENS", func(c *Config) any { return &c.FeatureAppSpecificTokens }},
	{"APP_SPECIFIC_TOKEN_EXPIRATION", func(c *Config) any { return &c.AppSpecificTokenExpiration }},
	{"FEATURE_LOG_EXPORT", func(c *Config) any { return &c.FeatureLogExport }},
	{"EXPORT_ACTION_LOGS_SECONDS", func(c *Config) any { return &c.ExportActionLogsSeconds }},
}

// envPrefix is prepended to a key's name to form its override variable.
const envPrefix = "WHARF_"

// Load reads the YAML file at path ("" = no file, defaults only), applies env
// overrides from getenv (nil = no environment), validates, and returns every
// problem at once (errors.Join of one error per problem, each naming the key).
// A file that cannot be read or parsed is a single problem. Unknown keys are
// kept in Config.Unknown (the caller logs them once) and are not an error.
// On error the returned *Config is nil.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	raw := map[string]any{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if raw, err = parseYAML(data); err != nil {
			return nil, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	fromEnv, problems := applyEnv(raw, getenv)
	c, bad, decodeProblems := decode(raw, fromEnv)
	problems = append(problems, decodeProblems...)
	problems = append(problems, c.validate(bad)...)
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return &c, nil
}

// parseYAML decodes a config file into a map with string keys all the way
// down, so Raw can be encoded as JSON by the config dump.
func parseYAML(data []byte) (map[string]any, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	switch m := normalize(doc).(type) {
	case nil: // an empty file (or only comments) is an empty config
		return map[string]any{}, nil
	case map[string]any:
		return m, nil
	default:
		return nil, fmt.Errorf("the file must be a YAML mapping of keys to values, got %s", describe(doc))
	}
}

// normalize converts the map[any]any that YAML produces for mappings with
// non-string keys into map[string]any, recursively, and copies everything
// else as is. Keys are formatted with fmt.Sprint: Quay keys are strings, so a
// number or boolean key can only be an unknown key, never a wharf one.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = normalize(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalize(x)
		}
		return out
	default:
		return v
	}
}

// unknownKeys returns the keys of raw that no entry of keys names, sorted.
func unknownKeys(raw map[string]any) []string {
	var unknown []string
	for k := range raw {
		if !slices.ContainsFunc(keys, func(k2 key) bool { return k2.name == k }) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	return unknown
}
