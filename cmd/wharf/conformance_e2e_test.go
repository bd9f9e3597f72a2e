package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
)

var conformanceSummary = regexp.MustCompile(`(?m)^conformance: (\d+) passed, (\d+) failed, (\d+) skipped$`)

// TestOCIConformance runs the OCI distribution-spec conformance suite (all
// workflows, OCI 1.1) against the built binary with a user's password, so
// the token flow is exercised, on every database engine with the
// filesystem driver.
func TestOCIConformance(t *testing.T) {
	runConformance(t)
}

// TestOCIConformanceS3 runs the suite with blobs in S3 (the local SeaweedFS
// that scripts/test-s3.sh starts, named by WHARF_TEST_S3).
func TestOCIConformanceS3(t *testing.T) {
	config := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config, []byte(s3StorageYAML(t, "conformance")), 0o600); err != nil {
		t.Fatal(err)
	}
	runConformance(t, "--config", config)
}

// s3StorageYAML is the config.yaml storage of a test whose blobs go to the
// S3 server WHARF_TEST_S3 names, under a prefix of its own.
func s3StorageYAML(t *testing.T, prefix string) string {
	t.Helper()
	raw := os.Getenv("WHARF_TEST_S3")
	if raw == "" {
		unavailable(t, "WHARF_TEST_S3 is not set (WHARF_TEST_S3=$(scripts/test-s3.sh) starts a local S3 server)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("WHARF_TEST_S3: %v", err)
	}
	secret, _ := u.User.Password()
	return fmt.Sprintf(`DISTRIBUTED_STORAGE_CONFIG:
  s3:
    - S3Storage
    - endpoint_url: %s://%s
      s3_bucket: %s
      s3_access_key: %s
      s3_secret_key: %s
      storage_path: /%s-%d
DISTRIBUTED_STORAGE_PREFERENCE: [s3]
`, u.Scheme, u.Host, strings.Trim(u.Path, "/"), u.User.Username(), secret, prefix, time.Now().UnixNano())
}

// runConformance runs scripts/conformance.sh against a fresh server per
// database engine and fails on any failed conformance test.
func runConformance(t *testing.T, args ...string) {
	program := clientTool(t, "oci-conformance")
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "conformance.sh"))
	if err != nil {
		t.Fatal(err)
	}
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		s := startWharf(t, engineEnv(t, engine), args...)
		s.initialize(t, "conformer", "conformance-pw1", "conformer@example.com")
		cmd := exec.Command("bash", script, s.URL, "conformer/repo1", "conformer", "conformance-pw1")
		cmd.Env = childEnv("RESULTS_DIR="+t.TempDir(), "CONFORMANCE_BIN="+program)
		out, err := cmd.CombinedOutput()
		m := conformanceSummary.FindSubmatch(out)
		if m == nil {
			t.Fatalf("no conformance summary (%v):\n%s", err, tail(out, 4000))
		}
		t.Logf("%s", m[0])
		if string(m[2]) != "0" || err != nil {
			t.Fatalf("conformance failures (%v):\n%s", err, tail(out, 8000))
		}
	})
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
