package s3

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/wharf"
)

func TestFromQuayParams(t *testing.T) {
	for _, tc := range []struct {
		name   string
		driver string
		params map[string]any
		want   Config
	}{
		{"S3Storage on AWS", "S3Storage", map[string]any{
			"s3_bucket": "quay-prod", "storage_path": "/datastorage/registry",
			"s3_access_key": "AK", "s3_secret_key": "SK", "s3_region": "us-east-2",
		}, Config{Bucket: "quay-prod", RootDirectory: "/datastorage/registry", AccessKey: "AK", SecretKey: "SK", Region: "us-east-2", Secure: true}},
		{"S3Storage with host and port", "S3Storage", map[string]any{
			"s3_bucket": "b", "host": "s3.example.com", "port": 8443,
		}, Config{Bucket: "b", Endpoint: "s3.example.com:8443", Secure: true}},
		{"S3Storage with a port string", "S3Storage", map[string]any{
			"s3_bucket": "b", "host": "s3.example.com", "port": "9000",
		}, Config{Bucket: "b", Endpoint: "s3.example.com:9000", Secure: true}},
		{"S3Storage with endpoint_url", "S3Storage", map[string]any{
			"s3_bucket": "b", "endpoint_url": "http://127.0.0.1:8333", "host": "ignored",
		}, Config{Bucket: "b", Endpoint: "http://127.0.0.1:8333", Secure: true}},
		{"RadosGWStorage", "RadosGWStorage", map[string]any{
			"hostname": "rgw.local", "is_secure": false, "port": 7480, "access_key": "AK",
			"secret_key": "SK", "bucket_name": "quay", "storage_path": "/registry",
			"maximum_chunk_size_mb": 100, "server_side_assembly": true,
		}, Config{Endpoint: "rgw.local:7480", Bucket: "quay", AccessKey: "AK", SecretKey: "SK", RootDirectory: "/registry"}},
		{"RHOCSStorage, is_secure as a string", "RHOCSStorage", map[string]any{
			"hostname": "noobaa.svc", "is_secure": "true", "bucket_name": "quay",
		}, Config{Endpoint: "noobaa.svc", Secure: true, Bucket: "quay"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromQuayParams(tc.driver, tc.params)
			if err != nil {
				t.Fatalf("FromQuayParams: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromQuayParamsProblems(t *testing.T) {
	for _, tc := range []struct {
		name   string
		driver string
		params map[string]any
		want   []string // in the message, all of them
	}{
		{"not S3", "LocalStorage", nil, []string{`"LocalStorage" is not an S3 driver`}},
		{"S3Storage missing bucket", "S3Storage", map[string]any{"s3_secret_key": "hunter2"}, []string{"s3_bucket is required"}},
		{"S3Storage host with scheme", "S3Storage", map[string]any{"s3_bucket": "b", "host": "https://s3"}, []string{"host must not start with"}},
		{"S3Storage bad port", "S3Storage", map[string]any{"s3_bucket": "b", "host": "h", "port": "eighty"}, []string{"port must be a port number"}},
		{"RadosGW everything wrong", "RadosGWStorage", map[string]any{
			"bucket_name": 5, "is_secure": "maybe", "port": 70000, "secret_key": 1234,
		}, []string{"hostname is required", "bucket_name must be a string, got int", "is_secure must be true or false",
			"port must be a port number", "secret_key must be a string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromQuayParams(tc.driver, tc.params)
			if !wharf.IsCode(err, wharf.Invalid) {
				t.Fatalf("FromQuayParams = %v, want Invalid", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			for _, secret := range []string{"hunter2", "1234"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q repeats a secret value", err)
				}
			}
		})
	}
}

func TestEndpointURL(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		secure   bool
		want     string
		ok       bool
	}{
		{"", false, "", true},
		{"127.0.0.1:8333", false, "http://127.0.0.1:8333", true},
		{"s3.example.com", true, "https://s3.example.com", true},
		{"http://127.0.0.1:8333/", true, "http://127.0.0.1:8333", true},
		{"ftp://x", false, "", false},
		{"http://", false, "", false},
	} {
		got, err := endpointURL(tc.endpoint, tc.secure)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("endpointURL(%q, %v) = %q, %v; want %q, ok=%v", tc.endpoint, tc.secure, got, err, tc.want, tc.ok)
		}
	}
}
