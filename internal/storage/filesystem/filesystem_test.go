package filesystem_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/storage/storagetest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func newDriver(t testing.TB, root string) *filesystem.Driver {
	t.Helper()
	d, err := filesystem.New(root, filesystem.Options{Fsync: true})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDriver(t *testing.T) {
	storagetest.RunDriverSuite(t, func(t *testing.T) storage.Driver {
		return newDriver(t, t.TempDir())
	})
}

// TestDriverWithoutFsync runs the suite on the default configuration too:
// atomicity must not depend on fsync.
func TestDriverWithoutFsync(t *testing.T) {
	storagetest.RunDriverSuite(t, func(t *testing.T) storage.Driver {
		d, err := filesystem.New(t.TempDir(), filesystem.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

// TestFilesystem checks what only this driver can show, beyond the suite.
func TestFilesystem(t *testing.T) {
	t.Run("staging", testStaging)
	t.Run("conflict", testConflict)
	t.Run("purge staging", testPurgeStaging)
	t.Run("modes", testModes)
	t.Run("copy", testCopy)
}

// testCopy copies files around the small-file size through io.Copy (the
// reader's WriteTo, as a response does), from the start and from offsets.
func testCopy(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t, t.TempDir())
	const small = 64 << 10
	for _, size := range []int{0, 1, 4096, small - 1, small, small + 1, 5 << 20} {
		content := make([]byte, size)
		for i := range content {
			content[i] = byte(i*7 + i/251)
		}
		key := fmt.Sprintf("copy/%d", size)
		if err := d.PutContent(ctx, key, content); err != nil {
			t.Fatal(err)
		}
		for _, offset := range []int{0, 1, size / 2, size} {
			if offset > size {
				continue
			}
			r, err := d.Reader(ctx, key, int64(offset))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			n, err := io.Copy(&out, r)
			r.Close()
			if err != nil || n != int64(size-offset) || !bytes.Equal(out.Bytes(), content[offset:]) {
				t.Errorf("size %d from %d: copied %d bytes (%v), content equal %v", size, offset, n, err,
					bytes.Equal(out.Bytes(), content[offset:]))
			}
		}
	}
	// A canceled context stops a copy before it starts, small or large.
	for _, key := range []string{"copy/4096", fmt.Sprintf("copy/%d", 5<<20)} {
		canceled, cancel := context.WithCancel(ctx)
		r, err := d.Reader(canceled, key, 0)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := io.Copy(io.Discard, r); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: copy after cancel: %v, want context.Canceled", key, err)
		}
		r.Close()
	}
}

// testModes checks that every directory and file the driver creates is its
// owner's alone: blobs are the layers of private repositories.
func testModes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "storage")
	d := newDriver(t, root)
	ctx := t.Context()
	if err := d.PutContent(ctx, "blobs/sha256/ab/abcdef", []byte("x")); err != nil {
		t.Fatal(err)
	}
	w, err := d.Writer(ctx, "uploads/u1/data", false)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	w.Close() // leaves resumable data in staging
	w, err = d.Writer(ctx, "uploads/u2/data", false)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("done"))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	seen := 0
	err = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 10 {
		t.Errorf("walked %d entries, want the root, staging, blobs and uploads", seen)
	}
}

// testStaging checks that the staging directory holds exactly the files it
// should, and that foreign entries in the root never surface as keys.
func testStaging(t *testing.T) {
	root := t.TempDir()
	d := newDriver(t, root)
	ctx := t.Context()
	staged := func(sub string) int {
		t.Helper()
		entries, err := os.ReadDir(filepath.Join(root, ".wharf~staging", sub))
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	wantStaged := func(when string, tmp, resume int) {
		t.Helper()
		if gotTmp, gotResume := staged("tmp"), staged("resume"); gotTmp != tmp || gotResume != resume {
			t.Errorf("%s: staging holds %d tmp and %d resume files, want %d and %d",
				when, gotTmp, gotResume, tmp, resume)
		}
	}

	if err := d.PutContent(ctx, "a/put", []byte("x")); err != nil {
		t.Fatal(err)
	}
	wantStaged("after PutContent", 0, 0)

	w, err := d.Writer(ctx, "a/upload", false)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	wantStaged("while writing", 1, 0)
	w.Close()
	wantStaged("after Close", 0, 1)

	// Two resumers race for the closed data: exactly one gets it.
	w1, err1 := d.Writer(ctx, "a/upload", true)
	_, err2 := d.Writer(ctx, "a/upload", true)
	if err1 != nil || !wharf.IsCode(err2, wharf.NotFound) {
		t.Fatalf("resuming twice: %v, %v; want success, then NotFound", err1, err2)
	}
	if err := w1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wantStaged("after Commit", 0, 0)

	w, _ = d.Writer(ctx, "a/cancelled", false)
	w.Write([]byte("gone"))
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	wantStaged("after Cancel", 0, 0)

	for _, dir := range []string{"lost+found", "a/odd~name"} {
		if err := os.Mkdir(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, "f"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if keys, _ := d.List(ctx, ""); len(keys) != 1 || keys[0] != "a" {
		t.Errorf(`List("") = %q, want only "a"`, keys)
	}
	var walked []string
	d.Walk(ctx, "", func(fi storage.FileInfo) error { walked = append(walked, fi.Path); return nil })
	if len(walked) != 2 {
		t.Errorf(`Walk("") = %q, want a/put and a/upload`, walked)
	}
}

// testConflict checks that a file cannot take a directory's place or the
// reverse.
func testConflict(t *testing.T) {
	d := newDriver(t, t.TempDir())
	ctx := t.Context()
	if err := d.PutContent(ctx, "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a/b/c", "a"} {
		if err := d.PutContent(ctx, key, []byte("y")); !wharf.IsCode(err, wharf.Conflict) {
			t.Errorf("PutContent(%q) = %v, want Conflict", key, err)
		}
	}
}

// testPurgeStaging checks that abandoned staging files go, fresh ones stay.
func testPurgeStaging(t *testing.T) {
	d := newDriver(t, t.TempDir())
	ctx := t.Context()
	w, _ := d.Writer(ctx, "abandoned", false)
	w.Write([]byte("x"))
	w.Close()
	if n, err := d.PurgeStaging(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("PurgeStaging(an hour ago) = %d, %v; want 0 removed", n, err)
	}
	if n, err := d.PurgeStaging(ctx, time.Now().Add(time.Second)); err != nil || n != 1 {
		t.Errorf("PurgeStaging(now) = %d, %v; want 1 removed", n, err)
	}
	if _, err := d.Writer(ctx, "abandoned", true); !wharf.IsCode(err, wharf.NotFound) {
		t.Errorf("Writer(appendTo) after purge = %v, want NotFound", err)
	}
}

// BenchmarkWrite64MiB measures a streamed upload, fsyncs included (see
// storagetest.BenchmarkWrite).
func BenchmarkWrite64MiB(b *testing.B) {
	storagetest.BenchmarkWrite(b, newDriver(b, b.TempDir()))
}

// BenchmarkRead64MiB measures streaming a blob out, from the page cache
// after the first round (see storagetest.BenchmarkRead).
func BenchmarkRead64MiB(b *testing.B) {
	storagetest.BenchmarkRead(b, newDriver(b, b.TempDir()))
}
