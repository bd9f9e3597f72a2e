package imagebuild

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

// multiStage is a three-stage build: "build" makes files, "unused" is not
// needed by "final" (and could not be built), "final" copies from "build".
func multiStage() *dockerfile.Dockerfile {
	copyFrom := func(from, dest string, sources ...string) *dockerfile.Copy {
		c := cp(dest, sources...)
		c.From, c.Original = from, "COPY --from="+from+" "+strings.Join(sources, " ")+" "+dest
		return c
	}
	return stages(
		newStage(from("scratch", "build"),
			&dockerfile.Copy{Base: src("COPY dir /out"), Sources: []string{"dir"}, Dest: "/out", Chown: "7:8"},
			&dockerfile.Copy{Base: src("COPY a.txt /out/a.txt"), Sources: []string{"a.txt"}, Dest: "/out/a.txt"},
		),
		newStage(from("scratch", "unused"), &dockerfile.Run{Base: src("RUN make"), Command: dockerfile.Command{Args: []string{"make"}, Shell: true}}),
		newStage(from("build", "final"),
			copyFrom("build", "/app/", "/out/sub", "/out/a.txt"),
			copyFrom("0", "/copy/", "out/link"),
			copyFrom("build", "/all", "/out"),
		),
	)
}

func TestMultiStage(t *testing.T) {
	ctxDir := writeContext(t, testContext)
	t.Run("final", func(t *testing.T) {
		o := opts(t, ctxDir)
		log := &recLog{}
		o.Log = log
		img, err := Build(context.Background(), multiStage(), o)
		if err != nil {
			t.Fatal(err)
		}
		wantSteps := []string{
			"1/7 FROM scratch", "2/7 COPY dir /out", "3/7 COPY a.txt /out/a.txt",
			"4/7 FROM build", "5/7 COPY --from=build /out/sub /out/a.txt /app/", "6/7 COPY --from=0 out/link /copy/", "7/7 COPY --from=build /out /all",
		}
		if diff := cmp.Diff(wantSteps, log.steps); diff != "" {
			t.Errorf("steps (-want +got):\n%s", diff)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 5 {
			t.Fatalf("%d layers, want the build stage's 2 and 3 of its own", len(layers))
		}
		_, app := readLayer(t, layers[2])
		want := map[string]layerEntry{
			// /app/ is new; /out/sub's contents keep the build stage's
			// ownership (7:8) and mtimes.
			"app/":      {typ: tar.TypeDir, mode: 0o755, mtime: testNow},
			"app/y":     {typ: tar.TypeReg, mode: 0o644, uid: 7, gid: 8, body: "y", mtime: fileTime},
			"app/a.txt": {typ: tar.TypeReg, mode: 0o644, body: "alpha", mtime: fileTime},
		}
		if diff := cmp.Diff(want, app, cmp.AllowUnexported(layerEntry{})); diff != "" {
			t.Errorf("COPY --from layer (-want +got):\n%s", diff)
		}
		// A symlink source is followed within the source image.
		if _, cp := readLayer(t, layers[3]); cp["copy/link"].body != "y" {
			t.Errorf("COPY --from of a symlink: %+v", cp)
		}
		names, all := readLayer(t, layers[4])
		checkParentsFirst(t, names)
		for _, n := range []string{"all/", "all/x", "all/sub/", "all/sub/y", "all/a.txt"} {
			if _, ok := all[n]; !ok {
				t.Errorf("COPY --from of a directory lacks %s: %v", n, names)
			}
		}
		if l := all["all/link"]; l.typ != tar.TypeSymlink || l.link != "sub/y" {
			t.Errorf("symlink below a copied directory: %+v", l)
		}
	})
	t.Run("target", func(t *testing.T) {
		o := opts(t, ctxDir)
		log := &recLog{}
		o.Log, o.Target = log, "BUILD"
		img, err := Build(context.Background(), multiStage(), o)
		if err != nil {
			t.Fatal(err)
		}
		if len(log.steps) != 3 || !strings.HasPrefix(log.steps[2], "3/3 ") {
			t.Errorf("steps %v, want only the build stage's 3", log.steps)
		}
		if layers, _ := img.Layers(); len(layers) != 2 {
			t.Errorf("%d layers, want 2", len(layers))
		}
	})
	t.Run("target needing RUN", func(t *testing.T) {
		o := opts(t, ctxDir)
		o.Target = "unused"
		if _, err := Build(context.Background(), multiStage(), o); !errors.Is(err, ErrRunUnsupported) {
			t.Fatalf("err = %v, want ErrRunUnsupported", err)
		}
	})
	t.Run("unknown target", func(t *testing.T) {
		o := opts(t, ctxDir)
		o.Target = "nope"
		if _, err := Build(context.Background(), multiStage(), o); err == nil || !strings.Contains(err.Error(), `target stage "nope"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRunUnsupported(t *testing.T) {
	o := opts(t, "")
	log := &recLog{}
	o.Log = log
	run := &dockerfile.Run{Base: src("RUN true"), Command: dockerfile.Command{Args: []string{"true"}, Shell: true}}
	_, err := Build(context.Background(), stages(newStage(from("scratch", ""), run)), o)
	if !errors.Is(err, ErrRunUnsupported) {
		t.Fatalf("err = %v, want ErrRunUnsupported", err)
	}
	const want = "RUN is not supported by the built-in executor (it has no container runtime): set BUILD_EXECUTOR: buildah in the configuration to build Dockerfiles with RUN steps"
	if err.Error() != want {
		t.Errorf("message %q", err)
	}
	if len(log.steps) != 0 {
		t.Errorf("steps %v: RUN should be refused before anything runs", log.steps)
	}
}

func TestArgs(t *testing.T) {
	base := testImage(t, v1.Config{Env: []string{"FROM_BASE=base"}}, []tarEntry{{name: "etc/hostname", body: "h"}})
	reg := &registry{images: map[string]v1.Image{"example.com/app:2.0": base}}
	ctxDir := writeContext(t, map[string]fsEntry{"v2.0/f": {body: "2.0"}, "v1.0/f": {body: "1.0"}})
	df := &dockerfile.Dockerfile{
		Escape: '\\',
		MetaArgs: []dockerfile.ArgDecl{
			{Name: "REPO", Default: strp("example.com")},
			{Name: "VERSION", Default: strp("1.0")},
			{Name: "IMAGE", Default: strp("$REPO/app:${VERSION}")},
		},
		Stages: []dockerfile.Stage{newStage(from("${IMAGE}", ""),
			&dockerfile.Arg{Base: src("ARG"), Args: []dockerfile.ArgDecl{{Name: "VERSION"}, {Name: "IMAGE"}, {Name: "LOCAL", Default: strp("in-$VERSION")}, {Name: "TARGETARCH"}}},
			&dockerfile.Env{Base: src("ENV"), Pairs: []dockerfile.KeyValue{{Key: "LOCAL", Value: "env-wins"}}},
			&dockerfile.Arg{Base: src("ARG"), Args: []dockerfile.ArgDecl{{Name: "LOCAL", Default: strp("ignored")}}},
			&dockerfile.Label{Base: src("LABEL"), Pairs: []dockerfile.KeyValue{
				{Key: "version", Value: "$VERSION"}, {Key: "image", Value: "$IMAGE"}, {Key: "local", Value: "$LOCAL"},
				{Key: "arch", Value: "$TARGETARCH"}, {Key: "base", Value: "$FROM_BASE"}, {Key: "repo", Value: "${REPO:-undeclared}"},
			}},
			cp("/files/", "v${VERSION}/f"),
		)},
	}
	o := opts(t, ctxDir)
	log := &recLog{}
	o.Base, o.Log = reg.base, log
	o.BuildArgs = map[string]string{"VERSION": "2.0", "TYPO": "x"}
	img, err := Build(context.Background(), df, o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"example.com/app:2.0"}, reg.pulls); diff != "" {
		t.Errorf("pulls (-want +got):\n%s", diff)
	}
	want := map[string]string{
		"version": "2.0", "image": "example.com/app:2.0", "local": "env-wins",
		"arch": "amd64", "base": "base", "repo": "undeclared",
	}
	if diff := cmp.Diff(want, configFile(t, img).Config.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if _, entries := lastLayer(t, img); entries["files/f"].body != "2.0" {
		t.Errorf("COPY source not expanded with the build arg: %v", entries)
	}
	if last := log.output[len(log.output)-1]; last != "[Warning] One or more build-args [TYPO] were not consumed" {
		t.Errorf("last output %q", last)
	}
}

func TestChownByName(t *testing.T) {
	accounts := []tarEntry{
		{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\napp:x:1500:1600::/home/app:/bin/sh\n"},
		{name: "etc/group", body: "root:x:0:\nstaff:x:50:app\n"},
	}
	base := testImage(t, v1.Config{}, accounts)
	ctxDir := writeContext(t, map[string]fsEntry{"f": {body: "f"}, "passwd": {body: "late:x:900:900::/:/bin/sh\n"}})
	chown := func(spec string) *dockerfile.Copy {
		return &dockerfile.Copy{Base: src("COPY"), Sources: []string{"f"}, Dest: "/home/f", Chown: spec}
	}
	tests := []struct {
		name     string
		ins      []dockerfile.Instruction
		uid, gid int
		err      string
	}{
		{name: "user and group", ins: []dockerfile.Instruction{chown("app:staff")}, uid: 1500, gid: 50},
		{name: "user only", ins: []dockerfile.Instruction{chown("app")}, uid: 1500, gid: 1500},
		{name: "name and number", ins: []dockerfile.Instruction{chown("12:staff")}, uid: 12, gid: 50},
		{name: "user added earlier in the stage", ins: []dockerfile.Instruction{cp("/etc/passwd", "passwd"), chown("late")}, uid: 900, gid: 900},
		{name: "unknown user", ins: []dockerfile.Instruction{chown("nobody")}, err: `user "nobody"`},
		{name: "unknown group", ins: []dockerfile.Instruction{chown("app:wheel")}, err: `group "wheel"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, ctxDir)
			o.Base = (&registry{images: map[string]v1.Image{"base": base}}).base
			img, err := Build(context.Background(), stages(newStage(from("base", ""), tt.ins...)), o)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one mentioning %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, entries := lastLayer(t, img)
			if e := entries["home/f"]; e.uid != tt.uid || e.gid != tt.gid {
				t.Errorf("owner %d:%d, want %d:%d", e.uid, e.gid, tt.uid, tt.gid)
			}
		})
	}
}

// TestDestinationInImage checks that an existing directory or a symlink to
// one is written into, never replaced, and that existing directories are
// not put in the layer again.
func TestDestinationInImage(t *testing.T) {
	base := testImage(t, v1.Config{}, []tarEntry{
		{name: "usr/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/local/bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "bin", typ: tar.TypeSymlink, link: "usr/bin"},
		{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
		{name: "etc/motd", body: "hi"},
	})
	ctxDir := writeContext(t, map[string]fsEntry{"tool": {body: "tool", mode: 0o755}, "conf/a": {body: "a"}})
	tests := []struct {
		name  string
		ins   *dockerfile.Copy
		names []string
	}{
		{name: "existing directory without slash", ins: cp("/usr/local/bin", "tool"), names: []string{"usr/local/bin/tool"}},
		{name: "symlinked directory", ins: cp("/bin/", "tool"), names: []string{"usr/bin/tool"}},
		{name: "symlink in the parent path", ins: cp("/bin/renamed", "tool"), names: []string{"usr/bin/renamed"}},
		{name: "directory into a sticky directory", ins: cp("/tmp/conf", "conf"), names: []string{"tmp/conf/", "tmp/conf/a"}},
		{name: "replacing a file", ins: cp("/etc/motd", "tool"), names: []string{"etc/motd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, ctxDir)
			o.Base = (&registry{images: map[string]v1.Image{"base": base}}).base
			img, err := Build(context.Background(), stages(newStage(from("base", ""), tt.ins)), o)
			if err != nil {
				t.Fatal(err)
			}
			names, _ := lastLayer(t, img)
			if diff := cmp.Diff(tt.names, names); diff != "" {
				t.Errorf("layer entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	ctxDir := writeContext(t, testContext)
	t.Run("before the build", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Build(ctx, stages(newStage(from("scratch", ""), cp("/", "a.txt"))), opts(t, ctxDir))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("while a layer is written", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		o := opts(t, ctxDir)
		o.Fetch = func(context.Context, string) (io.ReadCloser, error) {
			cancel()
			return io.NopCloser(strings.NewReader("late")), nil
		}
		add := &dockerfile.Copy{Base: src("ADD"), Add: true, Sources: []string{"a.txt", "https://example.com/x"}, Dest: "/d/"}
		_, err := Build(ctx, stages(newStage(from("scratch", ""), add)), o)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if left, _ := os.ReadDir(o.ScratchDir); len(left) != 0 {
			t.Errorf("scratch directory holds %v after a cancelled build", left)
		}
	})
}

// TestAddURLSpoolBounded checks that ADD <url> stops reading a download
// that cannot fit in MaxLayerBytes rather than spooling all of it first.
func TestAddURLSpoolBounded(t *testing.T) {
	o := opts(t, writeContext(t, testContext))
	o.MaxLayerBytes = 1 << 10
	var served int64
	o.Fetch = func(context.Context, string) (io.ReadCloser, error) {
		return io.NopCloser(readerFunc(func(p []byte) (int, error) {
			served += int64(len(p))
			if served > 64<<20 {
				return 0, io.EOF
			}
			return len(p), nil
		})), nil
	}
	_, err := Build(context.Background(), stages(newStage(from("scratch", ""), add("/big", "https://example.com/big"))), o)
	if err == nil || !strings.Contains(err.Error(), "would hold more than 1024 bytes") {
		t.Fatalf("err = %v, want the layer budget refused", err)
	}
	if served > 64<<10 {
		t.Errorf("read %d bytes of the download for a 1 KiB budget", served)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
