package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

// testNow is the clock of every test build.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fileTime is the mtime of files the tests create.
var fileTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// recLog records what Build logs.
type recLog struct {
	steps  []string
	output []string
}

func (l *recLog) Step(n, total int, source string) {
	l.steps = append(l.steps, fmt.Sprintf("%d/%d %s", n, total, source))
}

func (l *recLog) Output(line string) { l.output = append(l.output, line) }

// fsEntry is a file to create in a test context; link makes a symlink.
type fsEntry struct {
	body string
	mode os.FileMode
	link string
	dir  bool
}

// writeContext creates a build context directory holding files.
func writeContext(t *testing.T, files map[string]fsEntry) string {
	t.Helper()
	dir := t.TempDir()
	for name, e := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case e.link != "":
			if err := os.Symlink(e.link, p); err != nil {
				t.Fatal(err)
			}
			continue
		case e.dir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		default:
			mode := e.mode
			if mode == 0 {
				mode = 0o644
			}
			if err := os.WriteFile(p, []byte(e.body), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil { // past the umask
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(p, fileTime, fileTime); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tarEntry is an entry of a tar the tests build.
type tarEntry struct {
	name string
	typ  byte
	body string
	link string
	mode int64
	uid  int
}

func tarBytes(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ, mode := e.typ, e.mode
		if typ == 0 {
			typ = tar.TypeReg
		}
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: mode, Uid: e.uid, Gid: e.uid, ModTime: fileTime}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testImage builds a linux/amd64 Docker v2 image with cfg and one layer
// per entry list.
func testImage(t *testing.T, cfg v1.Config, layers ...[]tarEntry) v1.Image {
	t.Helper()
	img := empty.Image
	for _, entries := range layers {
		data := tarBytes(t, entries)
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture, cf.Config = "linux", "amd64", cfg
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// registry serves images by reference to Options.Base and counts pulls.
type registry struct {
	images map[string]v1.Image
	pulls  []string
}

func (r *registry) base(_ context.Context, ref string) (v1.Image, error) {
	r.pulls = append(r.pulls, ref)
	img, ok := r.images[ref]
	if !ok {
		return nil, fmt.Errorf("%s: not found", ref)
	}
	return img, nil
}

// layerEntry is a tar entry of a built layer.
type layerEntry struct {
	typ      byte
	mode     int64
	uid, gid int
	body     string
	link     string
	mtime    time.Time
}

// readLayer returns the entry names of l in order and the entries by name.
func readLayer(t *testing.T, l v1.Layer) ([]string, map[string]layerEntry) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	entries := map[string]layerEntry{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, entries
		}
		if err != nil {
			t.Fatal(err)
		}
		// A PAX header without records reads back as USTAR; only GNU
		// extensions would be wrong.
		if hdr.Format == tar.FormatGNU {
			t.Errorf("%s: GNU format, want PAX", hdr.Name)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		entries[hdr.Name] = layerEntry{hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, string(body), hdr.Linkname, hdr.ModTime}
	}
}

// lastLayer returns the entries of img's top layer.
func lastLayer(t *testing.T, img v1.Image) ([]string, map[string]layerEntry) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) == 0 {
		t.Fatal("image has no layers")
	}
	return readLayer(t, layers[len(layers)-1])
}

func configFile(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

// opts returns Options for a test build with a fresh scratch directory.
func opts(t *testing.T, contextDir string) Options {
	return Options{ContextDir: contextDir, ScratchDir: t.TempDir(), Now: func() time.Time { return testNow }}
}

// Helpers that build AST nodes, so tests read like Dockerfiles.

func from(image, name string) dockerfile.From {
	return dockerfile.From{Base: src("FROM " + image), Image: image, Name: name}
}

func src(s string) dockerfile.Base {
	return dockerfile.Base{Position: dockerfile.Position{Line: 1}, Original: s}
}

func cp(dest string, sources ...string) *dockerfile.Copy {
	return &dockerfile.Copy{Base: src("COPY"), Sources: sources, Dest: dest}
}

func stages(ss ...dockerfile.Stage) *dockerfile.Dockerfile {
	return &dockerfile.Dockerfile{Escape: '\\', Stages: ss}
}

func newStage(f dockerfile.From, ins ...dockerfile.Instruction) dockerfile.Stage {
	return dockerfile.Stage{From: f, Instructions: ins}
}

func strp(s string) *string { return &s }
