package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
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
