package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
)

// sharedTool returns the path of a script in ../shared/tools (beside the
// repository, where CI puts it). Outside CI a missing tool skips the test
// loudly; under CI it fails, so CI can never pass by not running it.
func sharedTool(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "tools", name))
	if err == nil {
		if _, err = os.Stat(path); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found beside the repository (%v): CI must run it", name, err)
	}
	t.Skipf("*** %s not found beside the repository (%v): this suite is NOT running ***", name, err)
	return ""
}

var conformanceSummary = regexp.MustCompile(`(?m)^conformance: (\d+) passed, (\d+) failed, (\d+) skipped$`)

// TestOCIConformance runs the OCI distribution-spec conformance suite (all
// workflows, OCI 1.1) against the built binary with a user's password, so
// the token flow is exercised, on every database engine.
func TestOCIConformance(t *testing.T) {
	script := sharedTool(t, "conformance.sh")
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		s := startWharf(t, engineEnv(t, engine))
		s.initialize(t, "conformer", "conformance-pw1", "conformer@example.com")
		cmd := exec.Command("bash", script, s.URL, "conformer/repo1", "conformer", "conformance-pw1")
		cmd.Env = childEnv("RESULTS_DIR=" + t.TempDir())
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
