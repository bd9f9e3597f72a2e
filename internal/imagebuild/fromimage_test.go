package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

func copyFrom(from, dest string, sources ...string) *dockerfile.Copy {
	c := cp(dest, sources...)
	c.From = from
	return c
}

// toolsImage has two layers; the upper one deletes a file of the lower
// one and holds hard links whose file is sometimes outside a COPY's
// sources.
func toolsImage(t *testing.T) v1.Image {
	return testImage(t, v1.Config{},
		[]tarEntry{
			{name: "usr/", typ: tar.TypeDir, mode: 0o755},
			{name: "usr/lib/", typ: tar.TypeDir, mode: 0o700, uid: 3},
			{name: "usr/lib/deleted", body: "gone"},
			{name: "usr/bin/", typ: tar.TypeDir, mode: 0o755},
			{name: "usr/bin/tool-a", body: "A", mode: 0o755},
		},
		[]tarEntry{
			{name: "usr/lib/.wh.deleted", body: ""},
			{name: "usr/lib/git-core/", typ: tar.TypeDir, mode: 0o755},
			{name: "usr/lib/git-core/git", body: "GIT", mode: 0o755},
			{name: "usr/bin/git", typ: tar.TypeLink, link: "usr/lib/git-core/git"},
			{name: "usr/bin/tool-b", body: "B", mode: 0o750, uid: 9},
		},
	)
}

func TestCopyFromImage(t *testing.T) {
	tools := toolsImage(t)
	tests := []struct {
		name string
		ins  *dockerfile.Copy
		want map[string]layerEntry
	}{{
		name: "wildcard",
		ins:  copyFrom("example.com/tools:1", "/bin/", "/usr/bin/tool-*"),
		want: map[string]layerEntry{
			"bin/":       {typ: tar.TypeDir, mode: 0o755, mtime: testNow},
			"bin/tool-a": {typ: tar.TypeReg, mode: 0o755, body: "A", mtime: fileTime},
			"bin/tool-b": {typ: tar.TypeReg, mode: 0o750, uid: 9, gid: 9, body: "B", mtime: fileTime},
		},
	}, {
		name: "hard link whose file is not copied",
		ins:  copyFrom("example.com/tools:1", "/out/", "/usr/bin/git"),
		want: map[string]layerEntry{
			"out/":    {typ: tar.TypeDir, mode: 0o755, mtime: testNow},
			"out/git": {typ: tar.TypeReg, mode: 0o755, body: "GIT", mtime: fileTime},
		},
	}, {
		name: "hard link and file copied together, whiteouts applied",
		ins:  copyFrom("example.com/tools:1", "/u", "/usr"),
		want: map[string]layerEntry{
			"u/":                 {typ: tar.TypeDir, mode: 0o755, mtime: testNow},
			"u/bin/":             {typ: tar.TypeDir, mode: 0o755, mtime: fileTime},
			"u/bin/tool-a":       {typ: tar.TypeReg, mode: 0o755, body: "A", mtime: fileTime},
			"u/bin/tool-b":       {typ: tar.TypeReg, mode: 0o750, uid: 9, gid: 9, body: "B", mtime: fileTime},
			"u/bin/git":          {typ: tar.TypeLink, mode: 0o644, link: "u/lib/git-core/git", mtime: fileTime},
			"u/lib/":             {typ: tar.TypeDir, mode: 0o700, uid: 3, gid: 3, mtime: fileTime},
			"u/lib/git-core/":    {typ: tar.TypeDir, mode: 0o755, mtime: fileTime},
			"u/lib/git-core/git": {typ: tar.TypeReg, mode: 0o755, body: "GIT", mtime: fileTime},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := &registry{images: map[string]v1.Image{"example.com/tools:1": tools}}
			o := opts(t, "")
			o.Base = reg.base
			// FROM and COPY --from name the same image: it is pulled once.
			img, err := Build(context.Background(), stages(newStage(from("example.com/tools:1", ""), tt.ins)), o)
			if err != nil {
				t.Fatal(err)
			}
			names, got := lastLayer(t, img)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(layerEntry{})); diff != "" {
				t.Errorf("layer (-want +got):\n%s", diff)
			}
			checkParentsFirst(t, names)
			if len(reg.pulls) != 1 {
				t.Errorf("pulls %v, want one", reg.pulls)
			}
		})
	}
	t.Run("missing source", func(t *testing.T) {
		o := opts(t, "")
		o.Base = (&registry{images: map[string]v1.Image{"tools": tools}}).base
		_, err := Build(context.Background(), stages(newStage(from("scratch", ""), copyFrom("tools", "/", "/usr/lib/deleted"))), o)
		if err == nil || !strings.Contains(err.Error(), "/usr/lib/deleted: not found in the source image") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestStageReferences(t *testing.T) {
	tests := []struct {
		name   string
		df     *dockerfile.Dockerfile
		target string
		err    string
	}{
		{
			name:   "FROM a later stage",
			df:     stages(newStage(from("later", "first")), newStage(from("scratch", "later"))),
			target: "first",
			err:    `stage "later" is not defined before it is used`,
		},
		{
			name: "COPY --from itself",
			df:   stages(newStage(from("scratch", "self"), copyFrom("self", "/", "/x"))),
			err:  `stage "self" is not defined before it is used`,
		},
		{
			name: "COPY --from an index out of range",
			df:   stages(newStage(from("scratch", ""), copyFrom("3", "/", "/x"))),
			err:  "invalid stage index 3",
		},
		{
			name: "image without a source",
			df:   stages(newStage(from("example.com/x", ""))),
			err:  "no image source is configured",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, "")
			o.Target = tt.target
			_, err := Build(context.Background(), tt.df, o)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestFromPlatform(t *testing.T) {
	tests := []struct {
		platform string
		ok       bool
	}{
		{"linux/amd64", true},
		{"$BUILDPLATFORM", true},
		{"${TARGETOS}/${TARGETARCH}", true},
		{"linux/arm64", false},
		{"windows/amd64", false},
	}
	for _, tt := range tests {
		t.Run(tt.platform, func(t *testing.T) {
			f := from("scratch", "")
			f.Platform = tt.platform
			_, err := Build(context.Background(), stages(newStage(f)), opts(t, ""))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want success %v", err, tt.ok)
			}
		})
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1200: "1.2 kB", 5_500_000: "5.5 MB", 3_000_000_000: "3.0 GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestFilesystemReads counts how often a build reads the layers of the
// images it copies from and into: each COPY --from with --chown by name
// must not read the stage's and the source image's filesystems anew.
func TestFilesystemReads(t *testing.T) {
	reads := 0
	data := tarBytes(t, []tarEntry{
		{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/passwd", body: "app:x:1500:1600::/home/app:/bin/sh\n"},
		{name: "etc/group", body: "staff:x:50:app\n"},
		{name: "usr/bin/tool", body: "T", mode: 0o755},
	})
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		reads++
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	const copies = 4
	var ins []dockerfile.Instruction
	for i := range copies {
		c := copyFrom("example.com/base:1", fmt.Sprintf("/out/%d", i), "/usr/bin/tool")
		c.Chown = "app:staff"
		ins = append(ins, c)
	}
	o := opts(t, "")
	o.Base = (&registry{images: map[string]v1.Image{"example.com/base:1": img}}).base
	before := reads
	out, err := Build(context.Background(), stages(newStage(from("example.com/base:1", ""), ins...)), o)
	if err != nil {
		t.Fatal(err)
	}
	_, entries := lastLayer(t, out)
	if e := entries["out/3"]; e.uid != 1500 || e.gid != 50 || e.body != "T" {
		t.Errorf("out/3 = %+v, want T owned by 1500:50", e)
	}
	t.Logf("%d reads of the base layer", reads-before)
	// One read indexes the stage (accounts included), one indexes the
	// source, then one copy pass per COPY.
	if got, want := reads-before, 2+copies; got > want {
		t.Errorf("the base layer was read %d times for %d COPY --from --chown, want at most %d", got, copies, want)
	}
}
