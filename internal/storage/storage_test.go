package storage_test

import (
	"path"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func TestValidPath(t *testing.T) {
	for _, tc := range []struct {
		key   string
		valid bool
	}{
		{"blobs/sha256/ab/abcdef0123", true},
		{"uploads/0b9d3c1e-7a4f-4c1e-9d1a-2f3b4c5d6e7f/data", true},
		{"a", true},
		{"A.b_c-d/...x/.hidden", true},
		{"", false},
		{"/abs", false},
		{"trailing/", false},
		{"a//b", false},
		{".", false},
		{"..", false},
		{"a/../b", false},
		{"a/./b", false},
		{"../up", false},
		{"sp ace", false},
		{`back\slash`, false},
		{".wharf~staging/tmp", false},
		{"lost+found", false},
		{"ümlaut", false},
		{"nul\x00", false},
	} {
		t.Run(tc.key, func(t *testing.T) {
			err := storage.ValidPath(tc.key)
			if tc.valid && err != nil {
				t.Errorf("ValidPath(%q) = %v, want nil", tc.key, err)
			}
			if !tc.valid && !wharf.IsCode(err, wharf.Invalid) {
				t.Errorf("ValidPath(%q) = %v, want Invalid", tc.key, err)
			}
		})
	}
	if err := storage.ValidPrefix(""); err != nil {
		t.Errorf(`ValidPrefix("") = %v, want nil`, err)
	}
	if err := storage.ValidPrefix("a/"); !wharf.IsCode(err, wharf.Invalid) {
		t.Errorf(`ValidPrefix("a/") = %v, want Invalid`, err)
	}
}

// FuzzValidPath checks that every accepted key is a clean, relative path that
// cannot climb out of a driver's root.
func FuzzValidPath(f *testing.F) {
	for _, seed := range []string{"blobs/sha256/ab/abc", "a/../b", "/x", "a//b", "..", ".a/b.", "x~y"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if storage.ValidPath(key) != nil {
			return
		}
		if path.Clean(key) != key || path.IsAbs(key) || key == "." {
			t.Errorf("ValidPath accepted unclean key %q", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == ".." || strings.ContainsAny(seg, "\\:~\x00") {
				t.Errorf("ValidPath accepted key %q with segment %q", key, seg)
			}
		}
	})
}
