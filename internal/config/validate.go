package config

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Validate returns every problem at once (errors.Join), nil if none. It checks
// values, not types: Load has already refused values of the wrong type, and a
// Config built in Go cannot have them. Each problem starts with the key.
func (c *Config) Validate() error {
	return errors.Join(c.validate(nil)...)
}

// validate checks c. Keys in bad already have a reported problem (Load could
// not read them, so they hold defaults); checks that relate them to another
// key are skipped so one mistake is reported once.
func (c *Config) validate(bad map[string]bool) []error {
	var problems []error
	add := func(key, format string, args ...any) {
		problems = append(problems, problemf(key, format, args...))
	}

	for _, list := range []struct {
		key   string
		names []string
	}{
		{"SUPER_USERS", c.SuperUsers},
		{"GLOBAL_READONLY_SUPER_USERS", c.GlobalReadonlySuperUsers},
	} {
		for i, name := range list.names {
			if strings.TrimSpace(name) == "" {
				add(fmt.Sprintf("%s[%d]", list.key, i), "a username must not be empty")
			}
		}
	}
	if c.DefaultSystemRejectQuotaBytes < 0 {
		add("DEFAULT_SYSTEM_REJECT_QUOTA_BYTES", "must be >= 0 (0 means no system-wide quota), got %d", c.DefaultSystemRejectQuotaBytes)
	}
	if strings.ContainsAny(c.ServerHostname, "/ \t\r\n") {
		// A URL here would end up inside every generated link and token
		// audience; Quay takes host[:port] and the scheme separately.
		add("SERVER_HOSTNAME", "want host[:port] without scheme or path, got %q", c.ServerHostname)
	}
	if c.PreferredURLScheme != "http" && c.PreferredURLScheme != "https" {
		add("PREFERRED_URL_SCHEME", "want http or https, got %q", c.PreferredURLScheme)
	}
	if c.DBURI != "" && !hasAnyPrefix(c.DBURI, "postgresql://", "postgres://", "sqlite://") {
		// The value is a credential: show only its length.
		add("DB_URI", "must start with postgresql://, postgres:// or sqlite:// (or be empty for the embedded database), got %q", mask(c.DBURI))
	}
	problems = append(problems, c.validateStorage(bad)...)
	for i, d := range c.TagExpirationOptions {
		if d < 0 {
			add(fmt.Sprintf("TAG_EXPIRATION_OPTIONS[%d]", i), "must not be negative, got %s", d)
		}
	}
	if !bad["TAG_EXPIRATION_OPTIONS"] && !bad["DEFAULT_TAG_EXPIRATION"] &&
		!slices.Contains(c.TagExpirationOptions, c.DefaultTagExpiration) {
		add("DEFAULT_TAG_EXPIRATION", "%s is not one of TAG_EXPIRATION_OPTIONS %v", c.DefaultTagExpiration, c.TagExpirationOptions)
	}
	if c.AuthenticationType != "Database" {
		add("AUTHENTICATION_TYPE", "%q is not supported: wharf has only \"Database\"", c.AuthenticationType)
	}
	if c.FreshLoginTimeout <= 0 {
		// Zero would make every fresh-login call refuse every session.
		add("FRESH_LOGIN_TIMEOUT", "must be > 0, got %s", c.FreshLoginTimeout)
	}
	if c.ActionLogRotationThreshold <= 0 {
		add("ACTION_LOG_ROTATION_THRESHOLD", "must be > 0, got %s", c.ActionLogRotationThreshold)
	}
	if c.RegistryState != "normal" && c.RegistryState != "readonly" {
		add("REGISTRY_STATE", "want normal or readonly, got %q", c.RegistryState)
	}
	if c.GarbageCollectionFrequency <= 0 {
		add("GARBAGE_COLLECTION_FREQUENCY", "must be > 0 seconds, got %d", c.GarbageCollectionFrequency)
	}
	if c.BlobCollectionGrace < 0 {
		add("BLOB_COLLECTION_GRACE", "must not be negative, got %s", c.BlobCollectionGrace)
	}
	if c.PushTempTagExpirationSec < 0 {
		add("PUSH_TEMP_TAG_EXPIRATION_SEC", "must be >= 0 seconds, got %d", c.PushTempTagExpirationSec)
	}
	if c.BlobOrphanSweepInterval <= 0 {
		add("BLOB_ORPHAN_SWEEP_INTERVAL", "must be > 0, got %s", c.BlobOrphanSweepInterval)
	}
	if c.AutoPruningPollPeriod <= 0 {
		add("AUTO_PRUNING_POLL_PERIOD", "must be > 0 seconds, got %d", c.AutoPruningPollPeriod)
	}
	if c.ExportActionLogsSeconds <= 0 {
		add("EXPORT_ACTION_LOGS_SECONDS", "must be > 0 seconds, got %d", c.ExportActionLogsSeconds)
	}
	problems = append(problems, c.validateBuilds()...)
	return problems
}

func (c *Config) validateBuilds() []error {
	var problems []error
	add := func(key, format string, args ...any) {
		problems = append(problems, problemf(key, format, args...))
	}
	if c.BuildExecutor != "builtin" && c.BuildExecutor != "buildah" {
		add("BUILD_EXECUTOR", "want builtin or buildah, got %q", c.BuildExecutor)
	}
	if c.BuildWorkers < 0 || c.BuildWorkers > 64 {
		add("BUILD_WORKERS", "want 0 to 64, got %d", c.BuildWorkers)
	}
	if c.BuildTimeout <= 0 {
		add("BUILD_TIMEOUT", "must be > 0, got %s", c.BuildTimeout)
	}
	if c.BuildWorkerLease < time.Second {
		add("BUILD_WORKER_LEASE", "must be at least 1s, got %s", c.BuildWorkerLease)
	}
	if c.BuildMaxQueued < 0 {
		add("BUILD_MAX_QUEUED", "must be >= 0 (0 means no limit), got %d", c.BuildMaxQueued)
	}
	if c.BuildContextMaxBytes <= 0 {
		add("BUILD_CONTEXT_MAX_BYTES", "must be > 0, got %d", c.BuildContextMaxBytes)
	}
	if c.BuildRegistryURL != "" {
		// No user info either: workers log in with build tokens, and the
		// config dump would show a password in the URL unmasked.
		if u, err := url.Parse(c.BuildRegistryURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			if err != nil {
				add("BUILD_REGISTRY_URL", "want http(s)://host[:port], got a value that is not a URL")
			} else {
				add("BUILD_REGISTRY_URL", "want http(s)://host[:port], got %q", u.Redacted()) // never a password
			}
		}
	}
	for i, cidr := range c.OutboundAllowedNetworks {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			add(fmt.Sprintf("OUTBOUND_ALLOWED_NETWORKS[%d]", i), "want a CIDR such as 10.0.0.0/8, got %q", cidr)
		}
	}
	return problems
}

// validateStorage checks each location's driver and the parameters wharf
// reads itself; drivers check the rest when they are built.
func (c *Config) validateStorage(bad map[string]bool) []error {
	const key = "DISTRIBUTED_STORAGE_CONFIG"
	var problems []error
	add := func(key, format string, args ...any) {
		problems = append(problems, problemf(key, format, args...))
	}
	if len(c.Storage) == 0 && !bad[key] {
		add(key, "at least one storage location is needed")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Storage)) {
		loc := c.Storage[name]
		where := key + "." + name
		switch loc.Driver {
		case driverLocal:
			if p, ok := loc.Params["storage_path"]; ok && p != nil {
				if s, ok := p.(string); !ok || s == "" {
					add(where, "storage_path must be a non-empty string, got %s", describe(p))
				}
			}
		case driverS3:
			requireString(add, where, loc.Params, "s3_bucket")
		case driverRadosGW:
			requireString(add, where, loc.Params, "bucket_name")
		default:
			add(where, "unsupported driver %q: want %s, %s or %s", loc.Driver, driverLocal, driverS3, driverRadosGW)
		}
	}
	const prefKey = "DISTRIBUTED_STORAGE_PREFERENCE"
	if len(c.StoragePreference) == 0 && !bad[prefKey] {
		add(prefKey, "at least one location is needed")
	}
	if !bad[key] && !bad[prefKey] {
		for _, name := range c.StoragePreference {
			if _, ok := c.Storage[name]; !ok {
				add(prefKey, "location %q is not in %s (have %s)", name, key, strings.Join(slices.Sorted(maps.Keys(c.Storage)), ", "))
			}
		}
	}
	return problems
}

func requireString(add func(string, string, ...any), where string, params map[string]any, param string) {
	if s, ok := params[param].(string); !ok || s == "" {
		add(where, "%s must be a non-empty string, got %s", param, describe(params[param]))
	}
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(s, p) })
}
