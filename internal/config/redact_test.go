package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedacted(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]any
		want map[string]any
	}{
		{
			name: "top level",
			raw: map[string]any{
				"DB_URI":           "postgresql://quay:hunter2@db/quay",
				"SECRET_KEY":       "hunter2",
				"PAGE_TOKEN_KEY":   "",
				"BOOTSTRAP_SECRET": "0123456789abcdef",
				"SERVER_HOSTNAME":  "quay.example.com",
			},
			want: map[string]any{
				"DB_URI":           "********** (33)",
				"SECRET_KEY":       "******* (7)",
				"PAGE_TOKEN_KEY":   " (0)",
				"BOOTSTRAP_SECRET": "********** (16)",
				"SERVER_HOSTNAME":  "quay.example.com",
			},
		},
		{
			name: "nested in maps and lists",
			raw: map[string]any{
				"DISTRIBUTED_STORAGE_CONFIG": map[string]any{
					"s3": []any{"S3Storage", map[string]any{"s3_bucket": "b", "s3_access_key": "AKIA", "s3_secret_key": "wJalr"}},
				},
				"BUILDLOGS_REDIS": map[string]any{"host": "redis", "port": 6379, "Password": "r3d1s"},
				"GITHUB_LOGIN_CONFIG": map[string]any{"CLIENT_ID": "id", "CLIENT_SECRET": "cs",
					"deeper": []any{[]any{map[string]any{"ldap_admin_passwd": "pw"}}}},
			},
			want: map[string]any{
				"DISTRIBUTED_STORAGE_CONFIG": map[string]any{
					"s3": []any{"S3Storage", map[string]any{"s3_bucket": "b", "s3_access_key": "**** (4)", "s3_secret_key": "***** (5)"}},
				},
				"BUILDLOGS_REDIS": map[string]any{"host": "redis", "port": 6379, "Password": "***** (5)"},
				"GITHUB_LOGIN_CONFIG": map[string]any{"CLIENT_ID": "id", "CLIENT_SECRET": "** (2)",
					"deeper": []any{[]any{map[string]any{"ldap_admin_passwd": "** (2)"}}}},
			},
		},
		{
			name: "every secret name",
			raw: map[string]any{
				"PASSWORD": "x", "ACCESS_KEY": "x", "CLOUDFRONT_KEY_ID": "x", "STS_USER_ACCESS_KEY": "x",
				"STS_USER_SECRET_KEY": "x", "SECURITY_SCANNER_V4_PSK": "x", "DATABASE_SECRET_KEY": "x",
				"ENABLE_HEALTH_DEBUG_SECRET": "x", "not_a_password": "x",
			},
			want: map[string]any{
				"PASSWORD": "* (1)", "ACCESS_KEY": "* (1)", "CLOUDFRONT_KEY_ID": "* (1)", "STS_USER_ACCESS_KEY": "* (1)",
				"STS_USER_SECRET_KEY": "* (1)", "SECURITY_SCANNER_V4_PSK": "* (1)", "DATABASE_SECRET_KEY": "* (1)",
				"ENABLE_HEALTH_DEBUG_SECRET": "* (1)", "not_a_password": "x",
			},
		},
		{
			name: "non-string secrets",
			raw: map[string]any{
				"DATABASE_SECRET_KEY": 40157269433,
				"password":            []any{"a", "b"},
				"secret_key":          nil,
				"access_key":          "pässwörd",
			},
			want: map[string]any{
				"DATABASE_SECRET_KEY": "********** (11)",
				"password":            "***** (5)", // "[a b]"
				"secret_key":          nil,
				"access_key":          "******** (8)",
			},
		},
		{name: "nil raw", raw: nil, want: map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Raw: tt.raw}
			got := c.Redacted()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Redacted() mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("deep copy", func(t *testing.T) {
		inner := map[string]any{"host": "redis"}
		c := Config{Raw: map[string]any{"BUILDLOGS_REDIS": inner, "L": []any{"a"}}}
		got := c.Redacted()
		got["BUILDLOGS_REDIS"].(map[string]any)["host"] = "changed"
		got["L"].([]any)[0] = "changed"
		if inner["host"] != "redis" || c.Raw["L"].([]any)[0] != "a" {
			t.Errorf("Redacted shares structure with Raw: %v", c.Raw)
		}
	})

	t.Run("loaded config", func(t *testing.T) {
		c, err := Load("testdata/quay-config.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		got := c.Redacted()
		checks := map[string]any{
			"DB_URI":                  "********** (52)",
			"SECRET_KEY":              "********** (36)",
			"PAGE_TOKEN_KEY":          "********** (17)",
			"DATABASE_SECRET_KEY":     "********** (77)",
			"SECURITY_SCANNER_V4_PSK": "********** (16)",
			"LDAP_ADMIN_PASSWD":       "******* (7)",
			"SERVER_HOSTNAME":         "quay.example.com",
		}
		for k, want := range checks {
			if got[k] != want {
				t.Errorf("Redacted()[%s] = %#v, want %#v", k, got[k], want)
			}
		}
		if diff := cmp.Diff(map[string]any{"host": "redis.quay.svc", "port": 6379, "password": "********** (10)"}, got["BUILDLOGS_REDIS"]); diff != "" {
			t.Errorf("BUILDLOGS_REDIS (-want +got):\n%s", diff)
		}
		s3 := got["DISTRIBUTED_STORAGE_CONFIG"].(map[string]any)["s3_us_east"].([]any)[1].(map[string]any)
		if s3["s3_secret_key"] != "********** (40)" || s3["s3_access_key"] != "********** (20)" || s3["s3_bucket"] != "quay-prod" {
			t.Errorf("storage params not redacted: %v", s3)
		}
		if c.Raw["SECRET_KEY"] != "e8f9fd3e-9a37-4f2c-a8a4-6ad2b8a2d0b1" {
			t.Errorf("Redacted changed Raw")
		}
	})
}
