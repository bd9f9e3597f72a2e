package storagetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// writerTests cover FileWriter: the path of blob uploads.
var writerTests = []test{
	{"WriterCommit", testWriterCommit},
	{"WriterEmpty", testWriterEmpty},
	{"WriterReplacesAtCommit", testWriterReplacesAtCommit},
	{"WriterUncommittedInvisible", testWriterUncommittedInvisible},
	{"WriterResume", testWriterResume},
	{"WriterRestartDiscards", testWriterRestartDiscards},
	{"WriterCancel", testWriterCancel},
	{"WriterFinished", testWriterFinished},
	{"WriterContextCancel", testWriterContextCancel},
	{"ReaderContextCancel", testReaderContextCancel},
	{"LargeStreamedWrite", testLargeStreamedWrite},
}

func testWriterCommit(t *testing.T, d storage.Driver) {
	w := newWriter(t, d, "uploads/u1/data", false)
	defer w.Close()
	if w.Size() != 0 {
		t.Errorf("new writer Size = %d, want 0", w.Size())
	}
	writeAll(t, w, "hello", ", ", "world")
	if w.Size() != 12 {
		t.Errorf("Size after writes = %d, want 12", w.Size())
	}
	commit(t, w)
	if w.Size() != 12 {
		t.Errorf("Size after Commit = %d, want 12", w.Size())
	}
	wantContent(t, d, "uploads/u1/data", "hello, world")
	fi, err := d.Stat(t.Context(), "uploads/u1/data")
	if err != nil || fi.Size != 12 {
		t.Errorf("Stat after Commit = %+v, %v; want size 12", fi, err)
	}
	// Committing consumes the upload: there is nothing left to resume.
	_, err = d.Writer(t.Context(), "uploads/u1/data", true)
	wantCode(t, err, wharf.NotFound, "Writer(appendTo) after Commit")
}

func testWriterEmpty(t *testing.T, d storage.Driver) {
	w := newWriter(t, d, "empty", false)
	commit(t, w)
	wantContent(t, d, "empty", "")
}

func testWriterReplacesAtCommit(t *testing.T, d storage.Driver) {
	put(t, d, "key", "old content")
	w := newWriter(t, d, "key", false)
	writeAll(t, w, "new")
	// Until Commit, readers keep seeing the old file.
	wantContent(t, d, "key", "old content")
	commit(t, w)
	wantContent(t, d, "key", "new")
}

// testWriterUncommittedInvisible checks that neither an open nor a closed
// writer shows through any read method.
func testWriterUncommittedInvisible(t *testing.T, d storage.Driver) {
	put(t, d, "other", "x")
	w := newWriter(t, d, "uploads/u1/data", false)
	defer w.Cancel(t.Context())
	writeAll(t, w, "secret partial data")
	check := func(t *testing.T) {
		ctx := t.Context()
		_, err := d.GetContent(ctx, "uploads/u1/data")
		wantCode(t, err, wharf.NotFound, "GetContent")
		_, err = d.Reader(ctx, "uploads/u1/data", 0)
		wantCode(t, err, wharf.NotFound, "Reader")
		wantAbsent(t, d, "uploads/u1/data")
		wantAbsent(t, d, "uploads")
		_, err = d.List(ctx, "uploads")
		wantCode(t, err, wharf.NotFound, "List(uploads)")
		wantKeys(t, `List("")`, list(t, d, ""), []string{"other"})
		if got := walk(t, d, ""); len(got) != 1 {
			t.Errorf(`Walk("") = %v, want only "other"`, got)
		}
	}
	t.Run("open", check)
	closeWriter(t, w)
	t.Run("closed", check)
}

// testWriterResume writes a file the way the registry runs a chunked upload:
// one writer per PATCH request, each resuming where the last one closed.
func testWriterResume(t *testing.T, d storage.Driver) {
	const key = "uploads/u1/data"
	chunks := []int64{1, 4093, 1<<20 + 7, 0, 65537, 3}
	var total int64
	for _, n := range chunks {
		total += n
	}
	data := stream(7, total)
	var written int64
	for i, n := range chunks {
		w := newWriter(t, d, key, i > 0)
		if w.Size() != written {
			t.Fatalf("round %d: resumed Size = %d, want %d", i, w.Size(), written)
		}
		if _, err := io.CopyN(w, data, n); err != nil {
			t.Fatalf("round %d: write: %v", i, err)
		}
		written += n
		if w.Size() != written {
			t.Fatalf("round %d: Size after write = %d, want %d", i, w.Size(), written)
		}
		if i < len(chunks)-1 {
			closeWriter(t, w)
			wantAbsent(t, d, key)
		} else {
			commit(t, w)
		}
	}
	got, n := readHash(t, d, key, 0)
	if want := streamHash(t, 7, total, 0); got != want || n != total {
		t.Fatalf("resumed file: %d bytes, sha256 %s; want %d bytes, %s", n, got, total, want)
	}
}

// testWriterRestartDiscards checks that a fresh writer (appendTo false)
// discards data a closed writer left behind.
func testWriterRestartDiscards(t *testing.T, d storage.Driver) {
	w := newWriter(t, d, "key", false)
	writeAll(t, w, "stale data")
	closeWriter(t, w)

	w = newWriter(t, d, "key", false)
	if w.Size() != 0 {
		t.Errorf("fresh writer Size = %d, want 0", w.Size())
	}
	writeAll(t, w, "new")
	commit(t, w)
	wantContent(t, d, "key", "new")
	_, err := d.Writer(t.Context(), "key", true)
	wantCode(t, err, wharf.NotFound, "Writer(appendTo) after a restart was committed")
}

func testWriterCancel(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	t.Run("open writer", func(t *testing.T) {
		put(t, d, "kept", "committed")
		w := newWriter(t, d, "kept", false)
		writeAll(t, w, "discard me")
		if err := w.Cancel(ctx); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		wantContent(t, d, "kept", "committed")
		_, err := d.Writer(ctx, "kept", true)
		wantCode(t, err, wharf.NotFound, "Writer(appendTo) after Cancel")
	})
	t.Run("closed writer", func(t *testing.T) {
		// The registry cancels an abandoned upload by resuming it first.
		w := newWriter(t, d, "uploads/u2/data", false)
		writeAll(t, w, "abandoned")
		closeWriter(t, w)
		w = newWriter(t, d, "uploads/u2/data", true)
		if err := w.Cancel(ctx); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		_, err := d.Writer(ctx, "uploads/u2/data", true)
		wantCode(t, err, wharf.NotFound, "Writer(appendTo) after Cancel")
		wantAbsent(t, d, "uploads")
	})
}

// testWriterFinished checks the calls a finished writer still accepts: Close
// always, Cancel after Cancel; everything else fails.
func testWriterFinished(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	mustFail := func(t *testing.T, what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: got no error", what)
		}
	}
	t.Run("committed", func(t *testing.T) {
		w := newWriter(t, d, "a", false)
		writeAll(t, w, "x")
		commit(t, w)
		_, err := w.Write([]byte("y"))
		mustFail(t, "Write after Commit", err)
		mustFail(t, "Commit after Commit", w.Commit(ctx))
		mustFail(t, "Cancel after Commit", w.Cancel(ctx))
		if err := w.Close(); err != nil {
			t.Errorf("Close after Commit: %v", err)
		}
		wantContent(t, d, "a", "x")
	})
	t.Run("cancelled", func(t *testing.T) {
		w := newWriter(t, d, "b", false)
		if err := w.Cancel(ctx); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		_, err := w.Write([]byte("y"))
		mustFail(t, "Write after Cancel", err)
		mustFail(t, "Commit after Cancel", w.Commit(ctx))
		if err := w.Cancel(ctx); err != nil {
			t.Errorf("Cancel after Cancel: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close after Cancel: %v", err)
		}
		wantAbsent(t, d, "b")
	})
	t.Run("closed", func(t *testing.T) {
		w := newWriter(t, d, "c", false)
		writeAll(t, w, "x")
		closeWriter(t, w)
		_, err := w.Write([]byte("y"))
		mustFail(t, "Write after Close", err)
		mustFail(t, "Commit after Close", w.Commit(ctx))
		mustFail(t, "Cancel after Close", w.Cancel(ctx))
		if err := w.Close(); err != nil {
			t.Errorf("Close after Close: %v", err)
		}
		// The failed calls left the closed data alone.
		w = newWriter(t, d, "c", true)
		if w.Size() != 1 {
			t.Errorf("resumed Size = %d, want 1", w.Size())
		}
		commit(t, w)
		wantContent(t, d, "c", "x")
	})
	t.Run("commit with a cancelled context", func(t *testing.T) {
		w := newWriter(t, d, "e", false)
		writeAll(t, w, "x")
		if err := w.Commit(cancelled(t)); !errors.Is(err, context.Canceled) {
			t.Errorf("Commit with a cancelled context = %v, want context.Canceled", err)
		}
		wantAbsent(t, d, "e")
		if err := w.Cancel(ctx); err != nil {
			t.Errorf("Cancel after a failed Commit: %v", err)
		}
		_, err := d.Writer(ctx, "e", true)
		wantCode(t, err, wharf.NotFound, "Writer(appendTo) after a failed Commit")
	})
}

// testWriterContextCancel checks that a long write stops once the context
// given to Writer is done.
func testWriterContextCancel(t *testing.T, d storage.Driver) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w, err := d.Writer(ctx, "uploads/u1/data", false)
	if err != nil {
		t.Fatalf("Writer: %v", err)
	}
	writeAll(t, w, "first chunk")
	cancel()
	if _, err := w.Write([]byte("second chunk")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after cancel = %v, want context.Canceled", err)
	}
	if err := w.Cancel(t.Context()); err != nil {
		t.Errorf("Cancel: %v", err)
	}
	wantAbsent(t, d, "uploads/u1/data")
}

// testReaderContextCancel checks that a long read stops once its context is
// done, both through Read and through io.Copy (which may use WriteTo).
func testReaderContextCancel(t *testing.T, d storage.Driver) {
	const size = 4 << 20
	w := newWriter(t, d, "big", false)
	if _, err := io.Copy(w, stream(3, size)); err != nil {
		t.Fatalf("write: %v", err)
	}
	commit(t, w)
	for _, how := range []string{"Read", "io.Copy"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r, err := d.Reader(ctx, "big", 0)
			if err != nil {
				t.Fatalf("Reader: %v", err)
			}
			defer r.Close()
			if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
				t.Fatalf("first read: %v", err)
			}
			cancel()
			var n int64
			if how == "Read" {
				n, err = io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{r}, make([]byte, 32<<10))
			} else {
				n, err = io.Copy(io.Discard, r)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("reading on after cancel: %d bytes, %v; want context.Canceled", n, err)
			}
		})
	}
}

// testLargeStreamedWrite streams tens of MiB in odd-sized chunks and checks
// them by hash, holding only one chunk in memory at a time.
func testLargeStreamedWrite(t *testing.T, d storage.Driver) {
	var size int64 = 32 << 20
	if testing.Short() {
		size = 4 << 20
	}
	const key = "blobs/sha256/9f/large"
	w := newWriter(t, d, key, false)
	defer w.Close()
	src := stream(42, size)
	h := sha256.New()
	buf := make([]byte, 1<<20+3)
	sizes := []int{1, 7, 4093, 65537, 1<<20 + 3, 123457, 511}
	for i := 0; ; i++ {
		n, err := io.ReadFull(src, buf[:sizes[i%len(sizes)]])
		if n > 0 {
			h.Write(buf[:n])
			if _, err := w.Write(buf[:n]); err != nil {
				t.Fatalf("Write(%d bytes): %v", n, err)
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if w.Size() != size {
		t.Fatalf("Size = %d, want %d", w.Size(), size)
	}
	commit(t, w)
	want := hex.EncodeToString(h.Sum(nil))

	fi, err := d.Stat(t.Context(), key)
	if err != nil || fi.Size != size {
		t.Fatalf("Stat = %+v, %v; want size %d", fi, err, size)
	}
	if got, n := readHash(t, d, key, 0); got != want || n != size {
		t.Fatalf("read back %d bytes, sha256 %s; want %d bytes, %s", n, got, size, want)
	}
	// An odd offset deep inside, as a resumed download would ask for.
	offset := size/3 + 1
	if got, n := readHash(t, d, key, offset); got != streamHash(t, 42, size, offset) || n != size-offset {
		t.Fatalf("read from offset %d: %d bytes, hash mismatch", offset, n)
	}
}
