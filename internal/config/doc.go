// Package config is wharf's one typed configuration tree: the keys of Red Hat
// Quay's config.yaml that wharf understands, with the environment variables
// that override them.
//
// # Sources and precedence
//
// [Load] reads a Quay config.yaml (keys are Quay's upper-case names), then
// applies environment overrides, then validates. For every key K below except
// DISTRIBUTED_STORAGE_CONFIG the variable WHARF_<K> replaces the file's value,
// so a container can change one setting without rewriting the file. An empty
// or unset variable overrides nothing. Environment values are text:
//
//   - lists are comma-separated; spaces around items and empty items are
//     dropped ("alice, bob," is [alice bob]);
//   - booleans are true/false/1/0, case-insensitive; anything else is a problem;
//   - integers are decimal;
//   - durations are Quay duration strings (see below).
//
// Overrides are written into [Config.Raw] too, so the superuser config dump
// shows what the server really runs with (secrets masked by [Config.Redacted]).
//
// A YAML null counts as "not set": the default applies. Keys wharf does not
// know (Quay has hundreds: BUILDLOGS_REDIS, USER_EVENTS_REDIS, ...) are not an
// error; they are kept in Raw and listed in [Config.Unknown] so the caller can
// log them once and a Quay config.yaml can be reused unchanged.
//
// # Keys
//
//	key                                default                           env override
//	---------------------------------  --------------------------------  ------------------------------------
//	SUPER_USERS                        []                                WHARF_SUPER_USERS
//	GLOBAL_READONLY_SUPER_USERS        []                                WHARF_GLOBAL_READONLY_SUPER_USERS
//	FEATURE_SUPER_USERS                true                              WHARF_FEATURE_SUPER_USERS
//	FEATURE_USER_INITIALIZE            true                              WHARF_FEATURE_USER_INITIALIZE
//	FEATURE_USER_CREATION              true                              WHARF_FEATURE_USER_CREATION
//	FEATURE_QUOTA_MANAGEMENT           true                              WHARF_FEATURE_QUOTA_MANAGEMENT
//	FEATURE_EDIT_QUOTA                 true                              WHARF_FEATURE_EDIT_QUOTA
//	FEATURE_MAILING                    false                             WHARF_FEATURE_MAILING
//	FEATURE_ANONYMOUS_ACCESS           true                              WHARF_FEATURE_ANONYMOUS_ACCESS
//	FEATURE_SUPERUSER_CONFIGDUMP       true                              WHARF_FEATURE_SUPERUSER_CONFIGDUMP
//	DEFAULT_SYSTEM_REJECT_QUOTA_BYTES  0 (no system quota)               WHARF_DEFAULT_SYSTEM_REJECT_QUOTA_BYTES
//	SERVER_HOSTNAME                    "" (from the listen address)      WHARF_SERVER_HOSTNAME
//	PREFERRED_URL_SCHEME               http                              WHARF_PREFERRED_URL_SCHEME
//	DB_URI                             "" (embedded SQLite file)         WHARF_DB_URI
//	DISTRIBUTED_STORAGE_CONFIG         {default: [LocalStorage, {}]}     none (structured value)
//	DISTRIBUTED_STORAGE_PREFERENCE     [the only location] or [default]  WHARF_DISTRIBUTED_STORAGE_PREFERENCE
//	TAG_EXPIRATION_OPTIONS             [0s, 1d, 1w, 2w, 4w]              WHARF_TAG_EXPIRATION_OPTIONS
//	DEFAULT_TAG_EXPIRATION             2w                                WHARF_DEFAULT_TAG_EXPIRATION
//	SECRET_KEY                         "" (generated and stored)         WHARF_SECRET_KEY
//	PAGE_TOKEN_KEY                     "" (derived from SECRET_KEY)      WHARF_PAGE_TOKEN_KEY
//	AUTHENTICATION_TYPE                Database                          WHARF_AUTHENTICATION_TYPE
//	FRESH_LOGIN_TIMEOUT                10m                               WHARF_FRESH_LOGIN_TIMEOUT
//	ACTION_LOG_ROTATION_THRESHOLD      30d                               WHARF_ACTION_LOG_ROTATION_THRESHOLD
//	ACTION_LOG_AUDIT_LOGINS            true                              WHARF_ACTION_LOG_AUDIT_LOGINS
//	ACTION_LOG_AUDIT_LOGIN_FAILURES    false                             WHARF_ACTION_LOG_AUDIT_LOGIN_FAILURES
//	REGISTRY_STATE                     normal                            WHARF_REGISTRY_STATE
//	BOOTSTRAP_SECRET                   "" (off)                          WHARF_BOOTSTRAP_SECRET
//	FEATURE_BUILD_SUPPORT              true                              WHARF_FEATURE_BUILD_SUPPORT
//	BUILD_EXECUTOR                     builtin (or buildah)              WHARF_BUILD_EXECUTOR
//	BUILD_WORKERS                      1 (builds run at once per serve)  WHARF_BUILD_WORKERS
//	BUILD_TIMEOUT                      1h                                WHARF_BUILD_TIMEOUT
//	BUILD_WORKER_LEASE                 30s (a dead worker's build waits)  WHARF_BUILD_WORKER_LEASE
//	BUILD_CONTEXT_MAX_BYTES            1073741824                        WHARF_BUILD_CONTEXT_MAX_BYTES
//	BUILD_MAX_QUEUED                   0 (no limit per namespace)        WHARF_BUILD_MAX_QUEUED
//	BUILD_REGISTRY_URL                 "" (the process's own listener)   WHARF_BUILD_REGISTRY_URL
//	OUTBOUND_ALLOWED_NETWORKS          [] (CIDRs re-allowed for URLs)    WHARF_OUTBOUND_ALLOWED_NETWORKS
//	OUTBOUND_ALLOWED_HOSTS             [] (hosts re-allowed for URLs)    WHARF_OUTBOUND_ALLOWED_HOSTS
//	FEATURE_GARBAGE_COLLECTION         true                              WHARF_FEATURE_GARBAGE_COLLECTION
//	GARBAGE_COLLECTION_FREQUENCY       30 (seconds between runs)         WHARF_GARBAGE_COLLECTION_FREQUENCY
//	BLOB_COLLECTION_GRACE              1h                                WHARF_BLOB_COLLECTION_GRACE
//	PUSH_TEMP_TAG_EXPIRATION_SEC       3600                              WHARF_PUSH_TEMP_TAG_EXPIRATION_SEC
//	BLOB_ORPHAN_SWEEP_INTERVAL         1d                                WHARF_BLOB_ORPHAN_SWEEP_INTERVAL
//	FEATURE_AUTO_PRUNE                 false                             WHARF_FEATURE_AUTO_PRUNE
//	AUTO_PRUNING_POLL_PERIOD           30 (seconds between runs)         WHARF_AUTO_PRUNING_POLL_PERIOD
//	FEATURE_APP_SPECIFIC_TOKENS        true                              WHARF_FEATURE_APP_SPECIFIC_TOKENS
//	APP_SPECIFIC_TOKEN_EXPIRATION      0 (app tokens never expire)       WHARF_APP_SPECIFIC_TOKEN_EXPIRATION
//	FEATURE_LOG_EXPORT                 true                              WHARF_FEATURE_LOG_EXPORT
//	EXPORT_ACTION_LOGS_SECONDS         3600 (an exported file's life)    WHARF_EXPORT_ACTION_LOGS_SECONDS
//
// Defaults differ from Quay's where a self-hosted registry needs it
// (FEATURE_MAILING off: no SMTP server is assumed; quota management,
// user initialization and the redacted config dump on).
//
// # Rules
//
//   - Types are checked: lists of strings, booleans, integers, strings, and
//     durations must be what the key says; a wrong type is a problem naming
//     the key and the value (secret values are masked in the message too).
//   - SUPER_USERS and GLOBAL_READONLY_SUPER_USERS hold no empty username.
//   - DEFAULT_SYSTEM_REJECT_QUOTA_BYTES >= 0 (an integer; 1.5e9 is refused).
//   - PREFERRED_URL_SCHEME is http or https; REGISTRY_STATE is normal or
//     readonly; AUTHENTICATION_TYPE is Database (the only engine wharf has).
//   - SERVER_HOSTNAME is host[:port]: no scheme, path or spaces.
//   - DB_URI, if set, starts with postgresql://, postgres:// or sqlite://.
//   - DISTRIBUTED_STORAGE_CONFIG maps a location name to Quay's two-element
//     list [Driver, {params}]. Drivers: LocalStorage (storage_path, if given,
//     a non-empty string; the caller fills it from the data dir when absent),
//     S3Storage (s3_bucket), RadosGWStorage (bucket_name). Every name in
//     DISTRIBUTED_STORAGE_PREFERENCE must be a configured location.
//   - DEFAULT_TAG_EXPIRATION is one of TAG_EXPIRATION_OPTIONS.
//   - FRESH_LOGIN_TIMEOUT and ACTION_LOG_ROTATION_THRESHOLD are > 0.
//   - GARBAGE_COLLECTION_FREQUENCY, AUTO_PRUNING_POLL_PERIOD and
//     BLOB_ORPHAN_SWEEP_INTERVAL are > 0;
//     BLOB_COLLECTION_GRACE and PUSH_TEMP_TAG_EXPIRATION_SEC are >= 0.
//
// [Load] and [Config.Validate] report every problem at once (errors.Join, one
// error per problem, each starting with the key) so an operator fixes a
// config file in one pass. A YAML syntax error is a single problem.
//
// # Durations
//
// Quay writes durations as "<integer><unit>" with unit s, m, h, d (24h) or
// w (7d), e.g. "2w"; a bare "0" is also accepted. See [ParseDuration].
//
// # Secrets
//
// [Config.Redacted] masks, at any depth, the values of keys named (in any
// case) password, db_uri, secret_key, access_key, client_secret,
// s3_access_key, s3_secret_key, cloudfront_key_id, sts_user_access_key,
// sts_user_secret_key, ldap_admin_passwd, page_token_key,
// security_scanner_v4_psk, database_secret_key, enable_health_debug_secret
// and bootstrap_secret, as Quay's config dump does: "hunter2" becomes
// "******* (7)".
package config
