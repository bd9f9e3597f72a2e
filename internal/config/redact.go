package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// secretKeys are the key names (lower case) whose values the config dump
// masks: Quay's list, plus bootstrap_secret which only wharf has.
var secretKeys = map[string]bool{
	"password":                   true,
	"db_uri":                     true,
	"secret_key":                 true,
	"access_key":                 true,
	"client_secret":              true,
	"s3_access_key":              true,
	"s3_secret_key":              true,
	"cloudfront_key_id":          true,
	"sts_user_access_key":        true,
	"sts_user_secret_key":        true,
	"ldap_admin_passwd":          true,
	"page_token_key":             true,
	"security_scanner_v4_psk":    true,
	"database_secret_key":        true,
	"enable_health_debug_secret": true,
	"bootstrap_secret":           true,
}

func isSecret(key string) bool { return secretKeys[strings.ToLower(key)] }

// Redacted returns Raw with secret values masked the way Quay's config dump
// does: at any depth, inside mappings and lists, the value of a key named in
// the package doc becomes "<min(len,10) asterisks> (<len>)". The result is a
// deep copy; changing it does not change Raw. A null secret stays null: it
// hides nothing and tells the operator the key is unset.
func (c *Config) Redacted() map[string]any {
	out := make(map[string]any, len(c.Raw))
	for k, v := range c.Raw {
		out[k] = redactEntry(k, v)
	}
	return out
}

func redactEntry(key string, v any) any {
	if v != nil && isSecret(key) {
		return mask(v)
	}
	return redactValue(v)
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = redactEntry(k, x)
		}
		return out
	case map[any]any: // only if a caller filled Raw by hand; Load never does
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = redactEntry(fmt.Sprint(k), x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = redactValue(x)
		}
		return out
	case []string: // likewise: Load stores lists as []any
		return append([]string(nil), t...)
	default:
		return v
	}
}

// mask hides a secret but keeps its length, which is what an operator needs
// to spot an empty or truncated value. Length counts characters, as Python's
// len does, so the dump matches Quay's for non-ASCII secrets.
func mask(v any) string {
	s, ok := v.(string)
	if !ok {
		s = fmt.Sprint(v)
	}
	n := utf8.RuneCountInString(s)
	return strings.Repeat("*", min(n, 10)) + fmt.Sprintf(" (%d)", n)
}
