package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

func add(dest string, sources ...string) *dockerfile.Copy {
	return &dockerfile.Copy{Base: src("ADD"), Add: true, Sources: sources, Dest: dest}
}

func gzipped(t testing.TB, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestAddArchive(t *testing.T) {
	archive := tarBytes(t, []tarEntry{
		{name: "./pkg/", typ: tar.TypeDir, mode: 0o755, uid: 33},
		{name: "./pkg/bin", body: "bin", mode: 0o755, uid: 33},
		{name: "pkg/hard", typ: tar.TypeLink, link: "./pkg/bin"},
		{name: "pkg/soft", typ: tar.TypeSymlink, link: "bin"},
		{name: "../../escape", body: "kept inside"},
	})
	bz2, err := os.ReadFile(filepath.Join("testdata", "hello.tar.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	ctxDir := writeContext(t, map[string]fsEntry{
		"pkg.tar":     {body: string(archive)},
		"pkg.tgz":     {body: gzipped(t, archive)},
		"hello.tbz":   {body: string(bz2)},
		"notes.gz":    {body: gzipped(t, []byte("just text, not a tar"))},
		"plain.txt":   {body: "plain"},
		"data.tar.xz": {body: "\xfd7zXZ\x00rest"},
	})
	unpacked := map[string]layerEntry{
		"opt/":         {typ: tar.TypeDir, mode: 0o755, mtime: testNow},
		"opt/pkg/":     {typ: tar.TypeDir, mode: 0o755, uid: 33, gid: 33, mtime: fileTime},
		"opt/pkg/bin":  {typ: tar.TypeReg, mode: 0o755, uid: 33, gid: 33, body: "bin", mtime: fileTime},
		"opt/pkg/hard": {typ: tar.TypeLink, mode: 0o644, link: "opt/pkg/bin", mtime: fileTime},
		"opt/pkg/soft": {typ: tar.TypeSymlink, mode: 0o644, link: "bin", mtime: fileTime},
		"opt/escape":   {typ: tar.TypeReg, mode: 0o644, body: "kept inside", mtime: fileTime},
	}
	tests := []struct {
		name string
		ins  *dockerfile.Copy
		want map[string]layerEntry
		err  string
	}{
		{name: "plain tar", ins: add("/opt", "pkg.tar"), want: unpacked},
		{name: "gzip tar", ins: add("/opt/", "pkg.tgz"), want: unpacked},
		{name: "bzip2 tar", ins: add("/", "hello.tbz"), want: map[string]layerEntry{
			"hello/":          {typ: tar.TypeDir, mode: 0o750, uid: 33, gid: 33, mtime: time.Unix(1700000000, 0)},
			"hello/world.txt": {typ: tar.TypeReg, mode: 0o640, uid: 33, gid: 33, body: "hi from bzip2\n", mtime: time.Unix(1700000000, 0)},
		}},
		{name: "chown beats the archive's owners", ins: &dockerfile.Copy{Base: src("ADD"), Add: true, Sources: []string{"hello.tbz"}, Dest: "/", Chown: "5:6"}, want: map[string]layerEntry{
			"hello/":          {typ: tar.TypeDir, mode: 0o750, uid: 5, gid: 6, mtime: time.Unix(1700000000, 0)},
			"hello/world.txt": {typ: tar.TypeReg, mode: 0o640, uid: 5, gid: 6, body: "hi from bzip2\n", mtime: time.Unix(1700000000, 0)},
		}},
		{name: "gzip without a tar is copied", ins: add("/d/", "notes.gz"), want: map[string]layerEntry{
			"d/":         {typ: tar.TypeDir, mode: 0o755, mtime: testNow},
			"d/notes.gz": {typ: tar.TypeReg, mode: 0o644, body: gzipped(t, []byte("just text, not a tar")), mtime: fileTime},
		}},
		{name: "plain file", ins: add("/p.txt", "plain.txt"), want: map[string]layerEntry{
			"p.txt": {typ: tar.TypeReg, mode: 0o644, body: "plain", mtime: fileTime},
		}},
		{name: "xz refused", ins: add("/", "data.tar.xz"), err: "xz-compressed archives are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Build(context.Background(), stages(newStage(from("scratch", ""), tt.ins)), opts(t, ctxDir))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, got := lastLayer(t, img)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(layerEntry{})); diff != "" {
				t.Errorf("layer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAddURL(t *testing.T) {
	var fetched []string
	fetch := func(_ context.Context, url string) (io.ReadCloser, error) {
		fetched = append(fetched, url)
		if strings.Contains(url, "missing") {
			return nil, errors.New("404 Not Found")
		}
		return io.NopCloser(strings.NewReader("downloaded " + url)), nil
	}
	const u = "https://example.com/dl/tool-1.0.tar.gz?sig=abc"
	tests := []struct {
		name  string
		ins   *dockerfile.Copy
		fetch func(context.Context, string) (io.ReadCloser, error)
		path  string
		err   string
	}{
		{name: "into a directory", ins: add("/opt/", u), fetch: fetch, path: "opt/tool-1.0.tar.gz"},
		{name: "to a file", ins: add("/opt/tool.tgz", u), fetch: fetch, path: "opt/tool.tgz"},
		{name: "no file name in the URL", ins: add("/opt/", "https://example.com/"), fetch: fetch, err: "cannot name the file"},
		{name: "fetch fails", ins: add("/opt/", "https://example.com/missing"), fetch: fetch, err: "404 Not Found"},
		{name: "no Fetch", ins: add("/opt/", u), err: "downloading URLs is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, "")
			o.Fetch = tt.fetch
			img, err := Build(context.Background(), stages(newStage(from("scratch", ""), tt.ins)), o)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, entries := lastLayer(t, img)
			want := layerEntry{typ: tar.TypeReg, mode: 0o600, body: "downloaded " + u, mtime: testNow}
			if diff := cmp.Diff(want, entries[tt.path], cmp.AllowUnexported(layerEntry{})); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.path, diff)
			}
			// The download was spooled in ScratchDir and removed again.
			if left, _ := filepath.Glob(filepath.Join(o.ScratchDir, "add-*")); len(left) != 0 {
				t.Errorf("left behind %v", left)
			}
		})
	}
}

// TestContextConfinement checks that nothing outside the build context is
// ever read: not through ../, not through a symlink given as a source.
func TestContextConfinement(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("TOP SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctxDir := writeContext(t, map[string]fsEntry{
		"ok.txt":       {body: "ok"},
		"passwd-link":  {link: "/etc/passwd"},
		"secret-link":  {link: secret},
		"outside-dir":  {link: outside},
		"up-link":      {link: "../" + filepath.Base(outside)},
		"inside-link":  {link: "ok.txt"},
		"sub/relative": {link: "../ok.txt"},
	})
	tests := []struct {
		name    string
		sources []string
		err     string
	}{
		{name: "parent path", sources: []string{"../etc/passwd"}, err: "forbidden path outside the build context"},
		{name: "parent path after a name", sources: []string{"sub/../../x"}, err: "forbidden path outside the build context"},
		{name: "symlink to /etc/passwd", sources: []string{"passwd-link"}, err: "passwd-link"},
		{name: "symlink to a file outside", sources: []string{"secret-link"}, err: "secret-link"},
		{name: "symlink to a directory outside", sources: []string{"outside-dir"}, err: "outside-dir"},
		{name: "relative symlink climbing out", sources: []string{"up-link"}, err: "up-link"},
		{name: "file below an outside symlink", sources: []string{"outside-dir/secret"}, err: "outside-dir/secret"},
		{name: "wildcard reaching a symlink outside", sources: []string{"secret-*"}, err: "secret-link"},
		{name: "missing file", sources: []string{"nope.txt"}, err: "file not found in build context: nope.txt"},
		{name: "wildcard matching nothing", sources: []string{"*.nope"}, err: "COPY failed: no source files were specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, ctxDir)
			_, err := Build(context.Background(), stages(newStage(from("scratch", ""), cp("/dst/", tt.sources...))), o)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.err)
			}
			if left, _ := os.ReadDir(o.ScratchDir); len(left) != 0 {
				t.Errorf("scratch directory holds %v after a refused COPY", left)
			}
		})
	}
	t.Run("symlinks within the context", func(t *testing.T) {
		img, err := Build(context.Background(), stages(newStage(from("scratch", ""), cp("/dst/", "inside-link", "/sub"))), opts(t, ctxDir))
		if err != nil {
			t.Fatal(err)
		}
		_, entries := lastLayer(t, img)
		if e := entries["dst/inside-link"]; e.typ != tar.TypeReg || e.body != "ok" {
			t.Errorf("top-level symlink within the context not followed: %+v", e)
		}
		if e := entries["dst/relative"]; e.typ != tar.TypeSymlink || e.link != "../ok.txt" {
			t.Errorf("symlink below a copied directory not kept as a symlink: %+v", e)
		}
	})
}

// FuzzAddArchive feeds arbitrary bytes to ADD as a context file: Build must
// not panic, and any layer it writes names only clean relative paths.
func FuzzAddArchive(f *testing.F) {
	seed := tarBytes(f, []tarEntry{
		{name: "../../up", body: "x"},
		{name: "d/", typ: tar.TypeDir},
		{name: "d/l", typ: tar.TypeSymlink, link: "/"},
		{name: "d/h", typ: tar.TypeLink, link: "../../up"},
	})
	f.Add(seed)
	f.Add([]byte(gzipped(f, seed)))
	f.Add([]byte("BZh91AY&SY"))
	f.Add(craftedTar(f, withRecords(dirHdr("d/"), "v", "SCHILY.xattr.user.x", "comment"),
		withRecords(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "g"}, "c", "comment"),
		linkHdr(tar.TypeSymlink, "d/"+strings.Repeat("l", 200), strings.Repeat("../", 100))))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctxDir := t.TempDir()
		if err := os.WriteFile(filepath.Join(ctxDir, "in"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		// Budgets, as the worker sets: a tiny input can unpack into
		// gigabytes, which would only make the fuzzer crawl.
		o := opts(t, ctxDir)
		o.MaxLayerBytes = 1 << 20
		o.Limits = fuzzLimits
		img, err := Build(context.Background(), stages(newStage(from("scratch", ""), add("/dest/", "in"))), o)
		if err != nil {
			return
		}
		names, _ := lastLayer(t, img)
		for _, n := range names {
			if clean := strings.TrimSuffix(n, "/"); clean == "" || clean != filepath.ToSlash(filepath.Clean(clean)) || strings.HasPrefix(clean, "/") || strings.HasPrefix(clean, "..") {
				t.Errorf("layer entry %q", n)
			}
		}
	})
}
