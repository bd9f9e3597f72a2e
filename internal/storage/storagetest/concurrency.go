package storagetest

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wharf-registry/wharf/internal/storage"
)

// concurrencyTests check that concurrent calls neither corrupt nor mix data.
var concurrencyTests = []test{
	{"ConcurrentWriters", testConcurrentWriters},
	{"ConcurrentWritesToOneKey", testConcurrentWritesToOneKey},
}

// testConcurrentWriters runs uploads to different keys side by side, some in
// the same directory, interleaving their writes.
func testConcurrentWriters(t *testing.T, d storage.Driver) {
	const writers = 8
	size := func(i int) int64 { return 300<<10 + int64(i)*4099 }
	// Some writers share a directory, as uploads of one repository would.
	keyOf := func(i int) string { return fmt.Sprintf("uploads/u%d/data%d", i%3, i) }
	var wg sync.WaitGroup
	for i := range writers {
		key := keyOf(i)
		wg.Go(func() {
			w, err := d.Writer(t.Context(), key, false)
			if err != nil {
				t.Errorf("Writer(%q): %v", key, err)
				return
			}
			defer w.Close()
			src := stream(byte(i), size(i))
			for _, n := range []int64{1000, 100 << 10, size(i)} {
				if _, err := io.CopyN(w, src, n); err != nil && err != io.EOF {
					t.Errorf("write %q: %v", key, err)
					return
				}
			}
			if err := w.Commit(t.Context()); err != nil {
				t.Errorf("Commit(%q): %v", key, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := range writers {
		key := keyOf(i)
		got, n := readHash(t, d, key, 0)
		if want := streamHash(t, byte(i), size(i), 0); got != want || n != size(i) {
			t.Errorf("%s: %d bytes, sha256 %s; want %d bytes, %s", key, n, got, size(i), want)
		}
	}
}

// testConcurrentWritesToOneKey races PutContent against Writer+Commit on one
// key while a reader watches: every read, and the end result, must be one of
// the two contents whole, never a mix or a truncation.
func testConcurrentWritesToOneKey(t *testing.T, d storage.Driver) {
	const key, rounds = "manifests/latest", 10
	a := bytes.Repeat([]byte("a"), 1<<20)
	b := bytes.Repeat([]byte("b"), 700<<10+1)
	whole := func(got []byte) bool { return bytes.Equal(got, a) || bytes.Equal(got, b) }
	ctx := t.Context()
	if err := d.PutContent(ctx, key, a); err != nil {
		t.Fatalf("PutContent: %v", err)
	}

	var done atomic.Bool
	var writers, reader sync.WaitGroup
	writers.Go(func() {
		for range rounds {
			if err := d.PutContent(ctx, key, a); err != nil {
				t.Errorf("PutContent: %v", err)
				return
			}
		}
	})
	writers.Go(func() {
		for range rounds {
			w, err := d.Writer(ctx, key, false)
			if err != nil {
				t.Errorf("Writer: %v", err)
				return
			}
			for _, part := range [][]byte{b[:1], b[1 : 300<<10], b[300<<10:]} {
				if _, err := w.Write(part); err != nil {
					t.Errorf("Write: %v", err)
				}
			}
			if err := w.Commit(ctx); err != nil {
				t.Errorf("Commit: %v", err)
				return
			}
		}
	})
	reader.Go(func() {
		reads := 0
		for !done.Load() || reads == 0 {
			got, err := d.GetContent(ctx, key)
			if err != nil {
				t.Errorf("GetContent during writes: %v", err)
				return
			}
			if !whole(got) {
				t.Errorf("GetContent during writes = %s, a mix", abbrev(got))
				return
			}
			reads++
		}
	})
	writers.Wait()
	done.Store(true)
	reader.Wait()

	got, err := d.GetContent(ctx, key)
	if err != nil {
		t.Fatalf("GetContent: %v", err)
	}
	if !whole(got) {
		t.Fatalf("final content = %s, want one of the two whole", abbrev(got))
	}
}
