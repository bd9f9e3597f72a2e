package storagetest

import (
	"errors"
	"maps"
	"testing"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// treeTests cover the key space as a tree: prefixes, List, Walk, Move and
// Delete.
var treeTests = []test{
	{"StatPrefix", testStatPrefix},
	{"List", testList},
	{"EmptyDriver", testEmptyDriver},
	{"Walk", testWalk},
	{"Move", testMove},
	{"Delete", testDelete},
}

func testStatPrefix(t *testing.T, d storage.Driver) {
	put(t, d, "s/a/b", "xyz")
	for _, key := range []string{"s", "s/a"} {
		fi, err := d.Stat(t.Context(), key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", key, err)
		}
		if !fi.IsDir || fi.Size != 0 || fi.Path != key {
			t.Errorf("Stat(%q) = %+v, want a prefix of size 0", key, fi)
		}
	}
	// A file has nothing below it.
	wantAbsent(t, d, "s/a/b/c")
}

func testList(t *testing.T, d storage.Driver) {
	for _, key := range []string{"l/a", "l/b/c", "l/b/d", "l/e/f/g", "l-x", "m"} {
		put(t, d, key, key)
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"l", "l-x", "m"}},
		{"l", []string{"l/a", "l/b", "l/e"}},
		{"l/b", []string{"l/b/c", "l/b/d"}},
		{"l/e", []string{"l/e/f"}},
		{"l/e/f", []string{"l/e/f/g"}},
	} {
		t.Run("prefix "+tc.prefix, func(t *testing.T) {
			wantKeys(t, "List("+tc.prefix+")", list(t, d, tc.prefix), tc.want)
		})
	}
}

// testEmptyDriver checks the top of an empty key space: present, but empty.
func testEmptyDriver(t *testing.T, d storage.Driver) {
	if keys := list(t, d, ""); len(keys) != 0 {
		t.Errorf(`List("") on an empty driver = %q, want none`, keys)
	}
	if got := walk(t, d, ""); len(got) != 0 {
		t.Errorf(`Walk("") on an empty driver visited %v`, got)
	}
}

func testWalk(t *testing.T, d storage.Driver) {
	files := map[string]int64{
		"blobs/sha256/ab/ab01": 1, "blobs/sha256/ab/ab02": 22,
		"blobs/sha256/cd/cd01": 333, "blobs/sha256x/ab/other": 4, "uploads/u1/data": 5,
	}
	for key, size := range files {
		put(t, d, key, string(make([]byte, size)))
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"blobs/sha256/ab/ab01", "blobs/sha256/ab/ab02", "blobs/sha256/cd/cd01", "blobs/sha256x/ab/other", "uploads/u1/data"}},
		{"blobs/sha256", []string{"blobs/sha256/ab/ab01", "blobs/sha256/ab/ab02", "blobs/sha256/cd/cd01"}},
		{"blobs/sha256/cd", []string{"blobs/sha256/cd/cd01"}},
	} {
		t.Run("prefix "+tc.prefix, func(t *testing.T) {
			want := map[string]int64{}
			for _, key := range tc.want {
				want[key] = files[key]
			}
			if got := walk(t, d, tc.prefix); !maps.Equal(got, want) {
				t.Errorf("Walk(%q) = %v, want %v", tc.prefix, got, want)
			}
		})
	}
	t.Run("stops at an error", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := d.Walk(t.Context(), "blobs", func(storage.FileInfo) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("Walk returned %v after %d calls, want the callback's error after 1", err, calls)
		}
	})
}

func testMove(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	t.Run("to a new prefix", func(t *testing.T) {
		put(t, d, "uploads/u1/data", "blob")
		if err := d.Move(ctx, "uploads/u1/data", "blobs/sha256/ab/ab01"); err != nil {
			t.Fatalf("Move: %v", err)
		}
		wantContent(t, d, "blobs/sha256/ab/ab01", "blob")
		wantAbsent(t, d, "uploads/u1/data")
		// The emptied prefix is gone with it.
		wantAbsent(t, d, "uploads")
	})
	t.Run("over an existing file", func(t *testing.T) {
		put(t, d, "src", "new content")
		put(t, d, "dst", "a longer, older content")
		if err := d.Move(ctx, "src", "dst"); err != nil {
			t.Fatalf("Move: %v", err)
		}
		wantContent(t, d, "dst", "new content")
		wantAbsent(t, d, "src")
	})
	t.Run("keeps siblings", func(t *testing.T) {
		put(t, d, "dir/a", "a")
		put(t, d, "dir/b", "b")
		if err := d.Move(ctx, "dir/a", "moved"); err != nil {
			t.Fatalf("Move: %v", err)
		}
		wantKeys(t, "List(dir)", list(t, d, "dir"), []string{"dir/b"})
		wantContent(t, d, "moved", "a")
	})
	t.Run("missing source", func(t *testing.T) {
		wantCode(t, d.Move(ctx, "missing", "dst"), wharf.NotFound, "Move(missing)")
		wantContent(t, d, "dst", "new content")
	})
}

func testDelete(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	t.Run("file", func(t *testing.T) {
		put(t, d, "f/one", "1")
		put(t, d, "f/two", "2")
		if err := d.Delete(ctx, "f/one"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantAbsent(t, d, "f/one")
		wantContent(t, d, "f/two", "2")
		wantCode(t, d.Delete(ctx, "f/one"), wharf.NotFound, "Delete twice")
	})
	t.Run("recursive", func(t *testing.T) {
		for _, key := range []string{"r/a/1", "r/a/b/2", "r/a/b/c/3", "r/ab", "r/a-b/4"} {
			put(t, d, key, key)
		}
		if err := d.Delete(ctx, "r/a"); err != nil {
			t.Fatalf("Delete(r/a): %v", err)
		}
		for _, key := range []string{"r/a", "r/a/1", "r/a/b", "r/a/b/c/3"} {
			wantAbsent(t, d, key)
		}
		// Keys that merely start with the same letters are not below "r/a".
		wantKeys(t, "List(r)", list(t, d, "r"), []string{"r/a-b", "r/ab"})
		wantContent(t, d, "r/ab", "r/ab")
		wantContent(t, d, "r/a-b/4", "r/a-b/4")
	})
	t.Run("prunes emptied prefixes", func(t *testing.T) {
		put(t, d, "p/q/r/only", "x")
		if err := d.Delete(ctx, "p/q/r/only"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantAbsent(t, d, "p")
		for _, key := range list(t, d, "") {
			if key == "p" {
				t.Errorf(`List("") still shows the emptied prefix "p"`)
			}
		}
	})
}
