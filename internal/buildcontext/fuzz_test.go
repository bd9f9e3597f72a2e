package buildcontext_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/buildcontext"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// FuzzExtract feeds arbitrary uploads to Extract: it must not panic, must
// write nothing outside the destination, must leave no symlink there that
// leads out, and must refuse with wharf.Invalid only.
func FuzzExtract(f *testing.F) {
	sample := tarball(f,
		dir("sub/", 0o755), file("sub/Dockerfile", "FROM scratch\n"), symlink("l", "sub/Dockerfile"),
		hardlink("h", "sub/Dockerfile"), symlink("up", "."), symlink("sub/x", "../sub/Dockerfile"))
	for _, seed := range [][]byte{
		sample,
		gzipped(f, sample),
		zipball(f, zipMember{name: "d/f", body: "x", mode: 0o644}, zipMember{name: "l", body: "d/f", mode: fs.ModeSymlink | 0o777}),
		[]byte("FROM scratch\nRUN true\n"),
		tarball(f, file("../evil", "x")),
		tarball(f, symlink("a", "/etc"), file("a/passwd", "x")),
		tarball(f, symlink("up", "."), symlink("up/up/l", "../../x")),
		tarball(f, special("null", tar.TypeChar)),
		tarball(f, withPAX(dir("d/", 0o755), "SCHILY.xattr.user.x", "v"), globalPAX("comment", "c"), symlink("d/"+strings.Repeat("l", 200), "..")),
		zipball(f, zipMember{name: "f", body: "x", mode: 0o644, comment: "c"}),
	} {
		f.Add(seed)
	}
	lim := buildcontext.Limits{MaxBytes: 1 << 20, MaxFiles: 200, MaxCompressedBytes: 1 << 20, MaxHeaderBytes: 64 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		_, err := buildcontext.Extract(context.Background(), bytes.NewReader(data), s.dest, lim)
		if err != nil && !wharf.IsCode(err, wharf.Invalid) {
			t.Errorf("error with code %q: %v", wharf.ErrorCode(err), err)
		}
		s.checkContained(t)
		if _, serr := os.Stat(s.dest); serr == nil {
			checkLinksInside(t, s.dest)
		}
	})
}

// checkLinksInside fails if a symlink under dest, resolved from the
// directory it really is in, leads outside dest.
func checkLinksInside(t *testing.T, dest string) {
	realDest, err := filepath.EvalSymlinks(dest)
	if err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		parent, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(realDest, filepath.Join(parent, target))
		if filepath.IsAbs(target) || err != nil || !filepath.IsLocal(rel) {
			t.Errorf("symlink %s -> %s leads outside %s", strings.TrimPrefix(p, dest), target, dest)
		}
		return nil
	})
}
