// Package storagetest is the conformance suite every storage.Driver must
// pass. A driver's own test file only constructs drivers:
//
//	func TestDriver(t *testing.T) {
//		storagetest.RunDriverSuite(t, func(t *testing.T) storage.Driver {
//			d, err := filesystem.New(t.TempDir(), filesystem.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return d
//		})
//	}
//
// Each subtest gets a fresh, empty driver, so subtests may assert on the whole
// key space (List and Walk of ""); a cloud driver gives each one its own
// bucket prefix.
package storagetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// test is one conformance check, run against a fresh driver.
type test struct {
	name string
	run  func(t *testing.T, d storage.Driver)
}

// RunDriverSuite runs every conformance check as a subtest, each against a
// driver from newDriver, which must return an empty driver and arrange its
// own cleanup (t.Cleanup, t.TempDir).
func RunDriverSuite(t *testing.T, newDriver func(t *testing.T) storage.Driver) {
	var tests []test
	tests = append(tests, contentTests...)
	tests = append(tests, writerTests...)
	tests = append(tests, treeTests...)
	tests = append(tests, concurrencyTests...)
	tests = append(tests, test{"DeleteFilesRemovesFilesAndIgnoresMissingOnes", deleteFiles})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newDriver(t))
		})
	}
}

// deleteFiles checks storage.FilesDeleter, for drivers that have it:
// the named files go, a missing one is no error, the rest stays.
func deleteFiles(t *testing.T, d storage.Driver) {
	fd, ok := d.(storage.FilesDeleter)
	if !ok {
		t.Skip("the driver deletes files one by one")
	}
	ctx := context.Background()
	for _, k := range []string{"blobs/a/1", "blobs/a/2", "blobs/b/3"} {
		put(t, d, k, k)
	}
	if err := fd.DeleteFiles(ctx, []string{"blobs/a/1", "blobs/b/3", "blobs/never"}); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]bool{"blobs/a/1": false, "blobs/a/2": true, "blobs/b/3": false} {
		_, err := d.Stat(ctx, k)
		if got := err == nil; got != want || (err != nil && !wharf.IsCode(err, wharf.NotFound)) {
			t.Errorf("%s present %v (%v), want %v", k, got, err, want)
		}
	}
	if err := fd.DeleteFiles(ctx, []string{"../escape"}); !wharf.IsCode(err, wharf.Invalid) {
		t.Errorf("DeleteFiles of a bad key: %v, want Invalid", err)
	}
}

// put stores content at key or fails the test.
func put(t *testing.T, d storage.Driver, key, content string) {
	t.Helper()
	if err := d.PutContent(t.Context(), key, []byte(content)); err != nil {
		t.Fatalf("PutContent(%q): %v", key, err)
	}
}

// wantContent fails the test unless key holds exactly want.
func wantContent(t *testing.T, d storage.Driver, key, want string) {
	t.Helper()
	got, err := d.GetContent(t.Context(), key)
	if err != nil {
		t.Fatalf("GetContent(%q): %v", key, err)
	}
	if string(got) != want {
		t.Fatalf("GetContent(%q) = %s, want %s", key, abbrev(got), abbrev([]byte(want)))
	}
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, err error, code wharf.Code, call string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %s", call, code)
	}
	if !wharf.IsCode(err, code) {
		t.Fatalf("%s: got %v (code %s), want code %s", call, err, wharf.ErrorCode(err), code)
	}
}

// wantAbsent fails the test unless key is neither a file nor a prefix.
func wantAbsent(t *testing.T, d storage.Driver, key string) {
	t.Helper()
	_, err := d.Stat(t.Context(), key)
	wantCode(t, err, wharf.NotFound, "Stat("+key+")")
}

// list returns List(prefix) or fails the test.
func list(t *testing.T, d storage.Driver, prefix string) []string {
	t.Helper()
	keys, err := d.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

// walk returns the keys Walk(prefix) visits, with their sizes.
func walk(t *testing.T, d storage.Driver, prefix string) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	err := d.Walk(t.Context(), prefix, func(fi storage.FileInfo) error {
		if fi.IsDir {
			t.Errorf("Walk(%q) visited %q as a directory", prefix, fi.Path)
		}
		if _, dup := got[fi.Path]; dup {
			t.Errorf("Walk(%q) visited %q twice", prefix, fi.Path)
		}
		got[fi.Path] = fi.Size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk(%q): %v", prefix, err)
	}
	return got
}

// wantKeys fails the test unless got and want hold the same keys in order.
func wantKeys(t *testing.T, call string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", call, got, want)
	}
}

// newWriter opens a writer or fails the test.
func newWriter(t *testing.T, d storage.Driver, key string, appendTo bool) storage.FileWriter {
	t.Helper()
	w, err := d.Writer(t.Context(), key, appendTo)
	if err != nil {
		t.Fatalf("Writer(%q, %v): %v", key, appendTo, err)
	}
	return w
}

// writeAll writes each chunk through w or fails the test.
func writeAll(t *testing.T, w storage.FileWriter, chunks ...string) {
	t.Helper()
	for _, c := range chunks {
		if n, err := w.Write([]byte(c)); err != nil || n != len(c) {
			t.Fatalf("Write(%d bytes) = %d, %v", len(c), n, err)
		}
	}
}

// commit commits w or fails the test.
func commit(t *testing.T, w storage.FileWriter) {
	t.Helper()
	if err := w.Commit(t.Context()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// closeWriter closes w or fails the test.
func closeWriter(t *testing.T, w storage.FileWriter) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// stream returns n pseudo-random bytes determined by seed, so large content
// can be produced and checked again without keeping it in memory.
func stream(seed byte, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{seed}), n)
}

// streamHash returns the sha256 of stream(seed, n) from byte offset on.
func streamHash(t *testing.T, seed byte, n, offset int64) string {
	t.Helper()
	s := stream(seed, n)
	if _, err := io.CopyN(io.Discard, s, offset); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, s); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readHash returns the sha256 and length of key's content from offset on,
// streamed through Reader.
func readHash(t *testing.T, d storage.Driver, key string, offset int64) (string, int64) {
	t.Helper()
	r, err := d.Reader(t.Context(), key, offset)
	if err != nil {
		t.Fatalf("Reader(%q, %d): %v", key, offset, err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("reading %q from %d: %v", key, offset, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// cancelled returns a context that is already done.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// abbrev shows short content whole and long content by length, so a failed
// comparison of megabytes does not flood the log.
func abbrev(b []byte) string {
	if len(b) <= 64 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q… (%d bytes)", b[:32], len(b))
}
