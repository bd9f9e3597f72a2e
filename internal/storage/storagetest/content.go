package storagetest

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// contentTests cover whole-file access: PutContent, GetContent, Reader, Stat
// and the key rules.
var contentTests = []test{
	{"PutGet", testPutGet},
	{"PutEmpty", testPutEmpty},
	{"Overwrite", testOverwrite},
	{"NotFound", testNotFound},
	{"ReaderOffsets", testReaderOffsets},
	{"InvalidKeys", testInvalidKeys},
	{"CancelledContext", testCancelledContext},
}

func testPutGet(t *testing.T, d storage.Driver) {
	before := time.Now()
	put(t, d, "blobs/sha256/ab/abcdef", "hello, blob")
	wantContent(t, d, "blobs/sha256/ab/abcdef", "hello, blob")

	fi, err := d.Stat(t.Context(), "blobs/sha256/ab/abcdef")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if fi.Path != "blobs/sha256/ab/abcdef" || fi.Size != 11 || fi.IsDir {
		t.Errorf("Stat = %+v, want path blobs/sha256/ab/abcdef, size 11, not a directory", fi)
	}
	// Generous bounds: a remote backend's clock may be off from ours.
	if fi.ModTime.Before(before.Add(-time.Hour)) || fi.ModTime.After(time.Now().Add(time.Hour)) {
		t.Errorf("Stat ModTime = %v, want about %v", fi.ModTime, before)
	}
}

func testPutEmpty(t *testing.T, d storage.Driver) {
	put(t, d, "empty", "")
	wantContent(t, d, "empty", "")
	fi, err := d.Stat(t.Context(), "empty")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if fi.Size != 0 || fi.IsDir {
		t.Errorf("Stat = %+v, want an empty file", fi)
	}
}

func testOverwrite(t *testing.T, d storage.Driver) {
	put(t, d, "over/key", "a longer first version")
	put(t, d, "over/key", "short")
	// No tail of the longer version may survive.
	wantContent(t, d, "over/key", "short")
	put(t, d, "over/key", "and a much longer third version")
	wantContent(t, d, "over/key", "and a much longer third version")
}

// testNotFound checks that every method reports a missing file as NotFound,
// including the cases where the key exists but as something else.
func testNotFound(t *testing.T, d storage.Driver) {
	put(t, d, "dir/file", "x")
	ctx := t.Context()
	nop := func(storage.FileInfo) error { return nil }
	calls := []struct {
		name string
		call func() error
	}{
		{"GetContent(missing)", func() error { _, err := d.GetContent(ctx, "missing"); return err }},
		{"GetContent(prefix)", func() error { _, err := d.GetContent(ctx, "dir"); return err }},
		{"GetContent(below a file)", func() error { _, err := d.GetContent(ctx, "dir/file/x"); return err }},
		{"Reader(missing)", func() error { _, err := d.Reader(ctx, "missing", 0); return err }},
		{"Reader(prefix)", func() error { _, err := d.Reader(ctx, "dir", 0); return err }},
		{"Stat(missing)", func() error { _, err := d.Stat(ctx, "dir/missing"); return err }},
		{"Stat(below a file)", func() error { _, err := d.Stat(ctx, "dir/file/x"); return err }},
		{"List(missing)", func() error { _, err := d.List(ctx, "missing"); return err }},
		{"List(file)", func() error { _, err := d.List(ctx, "dir/file"); return err }},
		{"Move(missing)", func() error { return d.Move(ctx, "missing", "elsewhere") }},
		{"Move(prefix)", func() error { return d.Move(ctx, "dir", "elsewhere") }},
		{"Delete(missing)", func() error { return d.Delete(ctx, "dir/missing") }},
		{"Walk(missing)", func() error { return d.Walk(ctx, "missing", nop) }},
		{"Walk(file)", func() error { return d.Walk(ctx, "dir/file", nop) }},
		{"Writer(missing, appendTo)", func() error { _, err := d.Writer(ctx, "missing", true); return err }},
		{"Writer(committed, appendTo)", func() error { _, err := d.Writer(ctx, "dir/file", true); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			wantCode(t, err, wharf.NotFound, c.name)
			var werr *wharf.Error
			if !errors.As(err, &werr) {
				t.Errorf("%s: %T is not a *wharf.Error", c.name, err)
			}
		})
	}
	// A failed Move must not have created its destination.
	wantAbsent(t, d, "elsewhere")
	wantContent(t, d, "dir/file", "x")
}

func testReaderOffsets(t *testing.T, d storage.Driver) {
	const content = "0123456789abcdef"
	put(t, d, "r/key", content)
	for _, tc := range []struct {
		name   string
		offset int64
		want   string
	}{
		{"start", 0, content},
		{"middle", 7, content[7:]},
		{"last byte", int64(len(content) - 1), content[len(content)-1:]},
		{"end", int64(len(content)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := d.Reader(t.Context(), "r/key", tc.offset)
			if err != nil {
				t.Fatalf("Reader(%d): %v", tc.offset, err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("Reader(%d) read %q, want %q", tc.offset, got, tc.want)
			}
		})
	}
	for _, offset := range []int64{int64(len(content) + 1), 1 << 40, -1} {
		_, err := d.Reader(t.Context(), "r/key", offset)
		wantCode(t, err, wharf.Invalid, "Reader past the end or negative")
	}
}

// badKeys break the key rules of storage.ValidPath.
var badKeys = []string{
	"/abs", "trailing/", "a//b", "..", "../up", "a/../b", "a/..", ".", "a/./b",
	"sp ace", `back\slash`, "tilde~", "colon:", "quest?ion", "star*", "nul\x00",
	"ümlaut", "new\nline", "per%cent",
}

func testInvalidKeys(t *testing.T, d storage.Driver) {
	put(t, d, "good", "x")
	ctx := t.Context()
	nop := func(storage.FileInfo) error { return nil }
	for _, key := range append([]string{""}, badKeys...) {
		calls := map[string]func() error{
			"GetContent": func() error { _, err := d.GetContent(ctx, key); return err },
			"PutContent": func() error { return d.PutContent(ctx, key, []byte("x")) },
			"Reader":     func() error { _, err := d.Reader(ctx, key, 0); return err },
			"Writer":     func() error { _, err := d.Writer(ctx, key, false); return err },
			"Stat":       func() error { _, err := d.Stat(ctx, key); return err },
			"Move src":   func() error { return d.Move(ctx, key, "dst") },
			"Move dst":   func() error { return d.Move(ctx, "good", key) },
			"Delete":     func() error { return d.Delete(ctx, key) },
		}
		if key != "" { // "" is the top of the key space for List and Walk
			calls["List"] = func() error { _, err := d.List(ctx, key); return err }
			calls["Walk"] = func() error { return d.Walk(ctx, key, nop) }
		}
		for name, call := range calls {
			wantCode(t, call(), wharf.Invalid, name+"("+key+")")
		}
	}
	// Nothing above may have had an effect.
	wantKeys(t, `List("")`, list(t, d, ""), []string{"good"})
	wantContent(t, d, "good", "x")
}

// testCancelledContext checks that a done context stops calls before they
// change anything, with an error that wraps the context's.
func testCancelledContext(t *testing.T, d storage.Driver) {
	put(t, d, "kept", "x")
	ctx := cancelled(t)
	calls := map[string]func() error{
		"GetContent": func() error { _, err := d.GetContent(ctx, "kept"); return err },
		"PutContent": func() error { return d.PutContent(ctx, "new", []byte("x")) },
		"Reader":     func() error { return readAllErr(d.Reader(ctx, "kept", 0)) },
		"Writer":     func() error { return writeOneErr(d.Writer(ctx, "new", false)) },
		"Delete":     func() error { return d.Delete(ctx, "kept") },
		"Move":       func() error { return d.Move(ctx, "kept", "new") },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", name, err)
		}
	}
	wantContent(t, d, "kept", "x")
	wantAbsent(t, d, "new")
}

// readAllErr drains a Reader's result and returns the first error.
func readAllErr(r io.ReadCloser, err error) error {
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.ReadAll(r)
	return err
}

// writeOneErr writes through a Writer's result and cancels it, returning the
// first error from Writer or Write.
func writeOneErr(w storage.FileWriter, err error) error {
	if err != nil {
		return err
	}
	defer w.Cancel(context.Background())
	_, err = w.Write([]byte("x"))
	return err
}
