package imagebuild

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/wharf-registry/wharf/internal/dockerfile"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// testContext is the build context of the COPY tests.
var testContext = map[string]fsEntry{
	"a.txt":          {body: "alpha"},
	"b.txt":          {body: "bravo", mode: 0o600},
	"run.sh":         {body: "#!/bin/sh\n", mode: 0o755},
	"dir/x":          {body: "x"},
	"dir/sub/y":      {body: "y"},
	"dir/link":       {link: "sub/y"},
	"dir/outside":    {link: "/etc/passwd"},
	"docs/notes.md":  {body: "notes"},
	"docs/guide.txt": {body: "guide"},
}

func TestCopyFromScratch(t *testing.T) {
	ctxDir := writeContext(t, testContext)
	root := func(uid int) layerEntry {
		return layerEntry{typ: tar.TypeDir, mode: 0o755, uid: uid, gid: uid, mtime: testNow}
	}
	file := func(body string, mode int64, uid, gid int) layerEntry {
		return layerEntry{typ: tar.TypeReg, mode: mode, uid: uid, gid: gid, body: body, mtime: fileTime}
	}
	tests := []struct {
		name string
		ins  []dockerfile.Instruction
		want map[string]layerEntry
	}{{
		name: "file into directory",
		ins:  []dockerfile.Instruction{cp("/app/", "a.txt")},
		want: map[string]layerEntry{"app/": root(0), "app/a.txt": file("alpha", 0o644, 0, 0)},
	}, {
		name: "file renamed",
		ins:  []dockerfile.Instruction{cp("/app/renamed", "b.txt")},
		want: map[string]layerEntry{"app/": root(0), "app/renamed": file("bravo", 0o600, 0, 0)},
	}, {
		name: "directory contents, symlinks kept",
		ins:  []dockerfile.Instruction{cp("/data", "dir")},
		want: map[string]layerEntry{
			"data/":        root(0),
			"data/x":       file("x", 0o644, 0, 0),
			"data/sub/":    {typ: tar.TypeDir, mode: 0o755, mtime: modTime(t, ctxDir, "dir/sub")},
			"data/sub/y":   file("y", 0o644, 0, 0),
			"data/link":    {typ: tar.TypeSymlink, mode: 0o777, link: "sub/y", mtime: modTime(t, ctxDir, "dir/link")},
			"data/outside": {typ: tar.TypeSymlink, mode: 0o777, link: "/etc/passwd", mtime: modTime(t, ctxDir, "dir/outside")},
		},
	}, {
		name: "wildcard makes the destination a directory",
		ins:  []dockerfile.Instruction{cp("/txt", "*.txt")},
		want: map[string]layerEntry{"txt/": root(0), "txt/a.txt": file("alpha", 0o644, 0, 0), "txt/b.txt": file("bravo", 0o600, 0, 0)},
	}, {
		name: "wildcard in a directory",
		ins:  []dockerfile.Instruction{cp("/d/", "docs/*.md")},
		want: map[string]layerEntry{"d/": root(0), "d/notes.md": file("notes", 0o644, 0, 0)},
	}, {
		name: "several sources",
		ins:  []dockerfile.Instruction{cp("/multi", "a.txt", "run.sh")},
		want: map[string]layerEntry{"multi/": root(0), "multi/a.txt": file("alpha", 0o644, 0, 0), "multi/run.sh": file("#!/bin/sh\n", 0o755, 0, 0)},
	}, {
		name: "chown numeric user and group",
		ins:  []dockerfile.Instruction{&dockerfile.Copy{Base: src("COPY"), Sources: []string{"a.txt"}, Dest: "/o/", Chown: "1000:1001"}},
		want: map[string]layerEntry{"o/": {typ: tar.TypeDir, mode: 0o755, uid: 1000, gid: 1001, mtime: testNow}, "o/a.txt": file("alpha", 0o644, 1000, 1001)},
	}, {
		name: "chown user only uses the uid as gid",
		ins:  []dockerfile.Instruction{&dockerfile.Copy{Base: src("COPY"), Sources: []string{"a.txt"}, Dest: "/o/", Chown: "42"}},
		want: map[string]layerEntry{"o/": root(42), "o/a.txt": file("alpha", 0o644, 42, 42)},
	}, {
		name: "chmod",
		ins:  []dockerfile.Instruction{&dockerfile.Copy{Base: src("COPY"), Sources: []string{"a.txt", "run.sh"}, Dest: "/m/", Chmod: "0640"}},
		want: map[string]layerEntry{"m/": root(0), "m/a.txt": file("alpha", 0o640, 0, 0), "m/run.sh": file("#!/bin/sh\n", 0o640, 0, 0)},
	}, {
		name: "relative destination under WORKDIR",
		ins: []dockerfile.Instruction{
			&dockerfile.Workdir{Base: src("WORKDIR /srv"), Path: "/srv"},
			&dockerfile.Workdir{Base: src("WORKDIR www"), Path: "www"},
			cp(".", "a.txt"),
		},
		want: map[string]layerEntry{"srv/": root(0), "srv/www/": root(0), "srv/www/a.txt": file("alpha", 0o644, 0, 0)},
	}, {
		name: "whole context",
		ins:  []dockerfile.Instruction{cp("/ctx/", "docs/../docs")},
		want: map[string]layerEntry{"ctx/": root(0), "ctx/notes.md": file("notes", 0o644, 0, 0), "ctx/guide.txt": file("guide", 0o644, 0, 0)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, ctxDir)
			img, err := Build(context.Background(), stages(newStage(from("scratch", ""), tt.ins...)), o)
			if err != nil {
				t.Fatal(err)
			}
			names, got := lastLayer(t, img)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(layerEntry{})); diff != "" {
				t.Errorf("layer (-want +got):\n%s\nnames: %v", diff, names)
			}
			checkParentsFirst(t, names)
		})
	}
}

// modTime is the mtime of a context entry the tests did not set, such as
// a symlink's.
func modTime(t *testing.T, dir, name string) time.Time {
	t.Helper()
	info, err := os.Lstat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return info.ModTime()
}

// checkParentsFirst fails if an entry precedes its parent directory.
func checkParentsFirst(t *testing.T, names []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range names {
		if i := strings.LastIndex(strings.TrimSuffix(n, "/"), "/"); i >= 0 && !seen[n[:i+1]] {
			t.Errorf("%s comes before its parent directory", n)
		}
		seen[n] = true
	}
}

func TestScratchImage(t *testing.T) {
	o := opts(t, writeContext(t, testContext))
	o.Platform = v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	img, err := Build(context.Background(), stages(newStage(from("scratch", ""), cp("/", "a.txt"))), o)
	if err != nil {
		t.Fatal(err)
	}
	cf := configFile(t, img)
	if cf.OS != "linux" || cf.Architecture != "arm64" || cf.Variant != "v8" {
		t.Errorf("platform %s/%s/%s, want linux/arm64/v8", cf.OS, cf.Architecture, cf.Variant)
	}
	if !cf.Created.Equal(testNow) {
		t.Errorf("created %v, want %v", cf.Created, testNow)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("media types %s, %s; want OCI", m.MediaType, m.Config.MediaType)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
		t.Fatalf("layers %+v, want one OCI layer", m.Layers)
	}
	if len(cf.RootFS.DiffIDs) != 1 {
		t.Fatalf("diff ids %v", cf.RootFS.DiffIDs)
	}
	layers, _ := img.Layers()
	if d, _ := layers[0].DiffID(); d != cf.RootFS.DiffIDs[0] {
		t.Errorf("diff id %s, config says %s", d, cf.RootFS.DiffIDs[0])
	}
	want := []v1.History{{Created: v1.Time{Time: testNow}, CreatedBy: "COPY a.txt / # buildkit", Comment: "buildkit.dockerfile.v0"}}
	if diff := cmp.Diff(want, cf.History); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// TestLayerBudget: the build's new layers together may hold at most
// MaxLayerBytes of file content and names, however often a COPY repeats.
func TestLayerBudget(t *testing.T) {
	ctxDir := writeContext(t, map[string]fsEntry{"big.bin": {body: strings.Repeat("x", 1000)}})
	df := &dockerfile.Dockerfile{Escape: '\\', Stages: []dockerfile.Stage{{
		From:         dockerfile.From{Image: "scratch"},
		Instructions: []dockerfile.Instruction{cp("/a", "big.bin"), cp("/b", "big.bin"), cp("/c", "big.bin")},
	}}}
	for _, tc := range []struct {
		max  int64
		fail bool
	}{{0, false}, {3003, false}, {3002, true}} {
		_, err := Build(context.Background(), df, Options{ContextDir: ctxDir, ScratchDir: t.TempDir(), MaxLayerBytes: tc.max})
		if (err != nil) != tc.fail || (tc.fail && wharf.ErrorMessage(err) != "line 1: COPY failed: the build's new layers would hold more than 3002 bytes") {
			t.Errorf("MaxLayerBytes %d: %v, want failure %v", tc.max, err, tc.fail)
		}
	}
}
