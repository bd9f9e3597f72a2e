package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/config"
)

func TestSweepScratch(t *testing.T) {
	dir := t.TempDir()
	old, fresh := filepath.Join(dir, "build-old"), filepath.Join(dir, "build-fresh")
	for _, d := range []string{old, fresh} {
		if err := os.MkdirAll(filepath.Join(d, "context"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	sweepScratch(dir, time.Now().Add(-time.Hour), slog.New(slog.DiscardHandler))
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("a directory older than any build survived: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a directory a running build may use was removed: %v", err)
	}
}

// TestBuildExecutorNeedsBuildah: BUILD_EXECUTOR buildah without buildah
// (or unshare) on PATH stops start-up, as the README says, rather than
// failing every build; builtin needs nothing.
func TestBuildExecutorNeedsBuildah(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	cfg := config.Default()
	cfg.FeatureBuildSupport, cfg.BuildWorkers = true, 1
	cfg.BuildExecutor = "buildah"
	if e, err := BuildExecutor(&cfg); err == nil || !strings.Contains(err.Error(), "buildah cannot be run") {
		t.Errorf("buildah missing: executor %v, error %v; want a start-up error", e, err)
	}
	cfg.BuildExecutor = "builtin"
	if e, err := BuildExecutor(&cfg); err != nil || e == nil || e.Name() != "builtin" {
		t.Errorf("builtin: executor %v, error %v", e, err)
	}
}
