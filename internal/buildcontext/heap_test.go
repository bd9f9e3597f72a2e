package buildcontext_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/buildcontext"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// peakHeap runs fn and returns the most heap its objects took meanwhile
// (live or not yet collected), above what was in use before, sampled
// every millisecond. runtime/metrics reads without stopping the world.
func peakHeap(fn func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base := read()
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	return max(<-done, base) - base
}

// TestExtractKeepsNamesBounded: Extract keeps the names of what it wrote
// until it returns (to set directory times, to check hard links). A
// context of 100,000 entries with 4,000-byte names used to keep 400 MB;
// the default MaxHeaderBytes stops it at 64 MiB of names, and the heap
// stays well under 256 MiB.
func TestExtractKeepsNamesBounded(t *testing.T) {
	// One directory written over and over: no disk to speak of, but a
	// new name string each time.
	name := strings.Repeat(strings.Repeat("d", 249)+"/", 16)
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() {
		zw := gzip.NewWriter(pw)
		tw := tar.NewWriter(zw)
		var err error
		for i := 0; i < 100_000 && err == nil; i++ {
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: testTime})
		}
		if err == nil {
			err = tw.Close()
		}
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	s := newSandbox(t)
	var err error
	peak := peakHeap(func() {
		_, err = buildcontext.Extract(context.Background(), pr, s.dest, buildcontext.Limits{})
	})
	t.Logf("peak heap %d MiB", peak>>20)
	if want := "build context has more than 64 MiB of entry names, link targets and attributes"; wharf.ErrorMessage(err) != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if peak > 256<<20 {
		t.Errorf("peak heap %d MiB, want under 256 MiB", peak>>20)
	}
	s.checkContained(t)
}
