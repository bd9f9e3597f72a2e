package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/wharf-registry/wharf/internal/buildcontext"
	"github.com/wharf-registry/wharf/internal/dockerfile"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// heapCeiling is what a build may take of the heap whatever its archives
// hold: the budgets keep it well below.
const heapCeiling = 256 << 20

// peakHeap runs fn and returns the most heap its objects took meanwhile,
// above what was in use before, sampled every millisecond. runtime/metrics
// reads without stopping the world, so sampling this often is cheap.
func peakHeap(t *testing.T, fn func()) uint64 {
	t.Helper()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base := read()
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	peak := <-done
	if peak < base {
		return 0
	}
	return peak - base
}

// TestAddXattrBomb is the reported attack, as the worker runs it: a
// build context upload holding a Dockerfile and a 19 KB bzip2 tar of
// 1,500 directories, each with a 1 MB SCHILY.xattr.user.x record, which
// the Dockerfile adds to a scratch image. The context is extracted with
// the worker's limits (the nested tar is one small file to it) and built
// with the worker's layer budget. It used to take the heap past 2 GB; it
// must fail on the attribute limit within a small heap.
//
// testdata/xattr-bomb.tar.bz2 is archive/tar output (PAX format, entries
// d0000/ to d1499/, mode 0755, each with the record set to 1,000,000
// times "A") compressed with bzip2 -9.
func TestAddXattrBomb(t *testing.T) {
	bomb, err := os.ReadFile(filepath.Join("testdata", "xattr-bomb.tar.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	const text = "FROM scratch\nADD inner.tar.bz2 /x/\n"
	upload := tarBytes(t, []tarEntry{{name: "Dockerfile", body: text}, {name: "inner.tar.bz2", body: string(bomb)}})
	ctxDir := filepath.Join(t.TempDir(), "ctx")
	o := opts(t, ctxDir)
	o.MaxLayerBytes = 2 << 30 // the worker's: twice the default BUILD_CONTEXT_MAX_BYTES
	var berr error
	peak := peakHeap(t, func() {
		if _, err := buildcontext.Extract(context.Background(), bytes.NewReader(upload), ctxDir, buildcontext.DefaultLimits()); err != nil {
			t.Fatal(err)
		}
		df, err := dockerfile.Parse(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		_, berr = Build(context.Background(), df, o)
	})
	t.Logf("context of %d bytes: peak heap %d KiB, %v", len(upload), peak>>10, berr)
	want := `line 2: ADD failed: archive inner.tar.bz2: entry "d0000/" has 1000019 bytes of attributes (PAX records, extended attributes), more than the 65536 allowed per entry`
	if !wharf.IsCode(berr, wharf.Invalid) || wharf.ErrorMessage(berr) != want {
		t.Errorf("err = %v, want Invalid: %s", berr, want)
	}
	if peak > 32<<20 {
		t.Errorf("peak heap %d MiB, want under 32 MiB", peak>>20)
	}
}

// craftedTar writes hdrs as a tar archive; a regular file's content is
// Size zero bytes.
func craftedTar(t testing.TB, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(make([]byte, h.Size)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Headers of crafted archives.

func regHdr(name string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, ModTime: fileTime}
}

func dirHdr(name string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: fileTime}
}

func linkHdr(typ byte, name, target string) *tar.Header {
	return &tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o777, ModTime: fileTime}
}

// withRecords adds PAX records to h, each key with value.
func withRecords(h *tar.Header, value string, keys ...string) *tar.Header {
	h.Format = tar.FormatPAX
	if h.PAXRecords == nil {
		h.PAXRecords = map[string]string{}
	}
	for _, k := range keys {
		h.PAXRecords[k] = value
	}
	return h
}

// many returns n headers made by mk.
func many(n int, mk func(i int) *tar.Header) []*tar.Header {
	out := make([]*tar.Header, n)
	for i := range out {
		out[i] = mk(i)
	}
	return out
}

// longPath is a path of about n bytes, unique to i, in components of a
// length real filesystems allow.
func longPath(i, n int) string {
	seg := strings.Repeat("p", 250) + "/"
	return strings.Repeat(seg, n/len(seg)) + fmt.Sprintf("f%07d", i)
}

func xattrKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("SCHILY.xattr.user.%04d", i)
	}
	return keys
}

// TestAddArchiveLimits: an archive ADD unpacks meets the per-entry limits
// and counts against the build's budgets; each refusal is a wharf.Invalid
// error naming the line, the archive, and the limit.
func TestAddArchiveLimits(t *testing.T) {
	long := strings.Repeat("n/", 2100) + "f"
	tests := []struct {
		name     string
		entries  []*tar.Header
		lim      Limits
		maxLayer int64
		want     string
	}{
		{name: "name too long", entries: []*tar.Header{regHdr(long)},
			want: `archive in.tar: entry "` + strings.Repeat("n/", 100) + `..." has a name longer than 4096 bytes`},
		{name: "symlink target too long", entries: []*tar.Header{linkHdr(tar.TypeSymlink, "l", long)},
			want: `archive in.tar: entry "l" has a link target longer than 4096 bytes`},
		{name: "hard link target too long", entries: []*tar.Header{regHdr("f"), linkHdr(tar.TypeLink, "h", long)},
			want: `archive in.tar: entry "h" has a link target longer than 4096 bytes`},
		{name: "huge PAX record", entries: []*tar.Header{withRecords(regHdr("f"), strings.Repeat("c", 70<<10), "comment")},
			want: `archive in.tar: entry "f" has 71687 bytes of attributes (PAX records, extended attributes), more than the 65536 allowed per entry`},
		{name: "many extended attributes on one entry", entries: []*tar.Header{withRecords(dirHdr("d/"), "0123456789", xattrKeys(3000)...)},
			want: `archive in.tar: entry "d/" has 96000 bytes of attributes`},
		{name: "huge global PAX header", entries: []*tar.Header{withRecords(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "g"}, strings.Repeat("c", 70<<10), "comment")},
			want: `archive in.tar: entry "g" has 71687 bytes of attributes`},
		{name: "extended attributes in total", lim: Limits{MaxAttrBytes: 100 << 10},
			entries: many(20, func(i int) *tar.Header {
				return withRecords(dirHdr(fmt.Sprintf("d%d/", i)), strings.Repeat("x", 10<<10), "SCHILY.xattr.user.x")
			}),
			want: "the build's new layers would hold more than 102400 bytes of extended attributes"},
		{name: "many entries", lim: Limits{MaxEntries: 40},
			entries: many(50, func(i int) *tar.Header { return regHdr(fmt.Sprint(i)) }),
			want:    "the build would write more than 40 entries to its layers (including those of the archives ADD unpacks)"},
		{name: "many duplicate directories", lim: Limits{MaxEntries: 40},
			entries: many(50, func(int) *tar.Header { return dirHdr("d/") }),
			want:    "the build would write more than 40 entries"},
		{name: "many global PAX headers", lim: Limits{MaxEntries: 40},
			entries: many(50, func(int) *tar.Header {
				return withRecords(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "g"}, "c", "comment")
			}),
			want: "the build would write more than 40 entries"},
		{name: "PAX records read", lim: Limits{MaxHeaderBytes: 100 << 10},
			entries: many(20, func(int) *tar.Header {
				return withRecords(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "g"}, strings.Repeat("c", 10<<10), "comment")
			}),
			want: "the build would read more than 102400 bytes of entry names, link targets and PAX records from its archives and base images"},
		{name: "names against the layer budget", maxLayer: 50_000,
			entries: many(100, func(i int) *tar.Header { return regHdr(longPath(i, 1000)) }),
			want:    "the build's new layers would hold more than 50000 bytes"},
		{name: "attributes against the layer budget", maxLayer: 50_000,
			entries: many(10, func(i int) *tar.Header {
				return withRecords(regHdr(fmt.Sprint(i)), strings.Repeat("x", 10<<10), "SCHILY.xattr.user.x")
			}),
			want: "the build's new layers would hold more than 50000 bytes"},
		{name: "index memory", lim: Limits{MaxIndexBytes: 1 << 20},
			entries: many(2000, func(i int) *tar.Header { return regHdr(longPath(i, 1000)) }),
			want:    "the build would keep more than 1 MiB in memory about the filesystems it reads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, writeContext(t, map[string]fsEntry{"in.tar": {body: string(craftedTar(t, tt.entries...))}}))
			o.Limits, o.MaxLayerBytes = tt.lim, tt.maxLayer
			_, err := Build(context.Background(), stages(newStage(from("scratch", ""), add("/x/", "in.tar"))), o)
			if !wharf.IsCode(err, wharf.Invalid) || !strings.HasPrefix(wharf.ErrorMessage(err), "line 1: ADD failed: ") ||
				!strings.Contains(wharf.ErrorMessage(err), tt.want) {
				t.Fatalf("err = %v, want an Invalid error with the line and %q", err, tt.want)
			}
		})
	}
}

// craftedImage is a linux/amd64 image with one layer per header list,
// bottom first.
func craftedImage(t *testing.T, layers ...[]*tar.Header) v1.Image {
	t.Helper()
	img := empty.Image
	for _, hdrs := range layers {
		data := craftedTar(t, hdrs...)
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
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestBaseImageLimits: the layers of a base image meet the per-entry
// limits, whether or not an entry shows in the flattened filesystem, and
// count against MaxImageEntries and the build's memory, read for FROM or
// for COPY --from.
func TestBaseImageLimits(t *testing.T) {
	long := strings.Repeat("n/", 2100) + "f"
	tests := []struct {
		name   string
		layers [][]*tar.Header
		lim    Limits
		want   string
	}{
		{name: "huge extended attribute",
			layers: [][]*tar.Header{{withRecords(dirHdr("d/"), strings.Repeat("A", 1_000_000), "SCHILY.xattr.user.x")}},
			want:   `example.com/bomb: entry "d/" has 1000019 bytes of attributes (PAX records, extended attributes), more than the 65536 allowed per entry`},
		{name: "long name in a lower layer's hidden entry",
			layers: [][]*tar.Header{{regHdr(long)}, {regHdr(".wh.n")}},
			want:   "has a name longer than 4096 bytes"},
		{name: "long name in a whiteout",
			layers: [][]*tar.Header{{regHdr("f")}, {regHdr(long + "/.wh.x")}},
			want:   "has a name longer than 4096 bytes"},
		{name: "long symlink target",
			layers: [][]*tar.Header{{linkHdr(tar.TypeSymlink, "l", long)}},
			want:   `example.com/bomb: entry "l" has a link target longer than 4096 bytes`},
		{name: "many entries", lim: Limits{MaxImageEntries: 100},
			layers: [][]*tar.Header{many(60, func(int) *tar.Header { return regHdr("f") }), many(60, func(int) *tar.Header { return dirHdr("d/") })},
			want:   "image example.com/bomb has more than 100 entries in its layers"},
		{name: "PAX records read", lim: Limits{MaxHeaderBytes: 100 << 10},
			layers: [][]*tar.Header{many(20, func(i int) *tar.Header {
				return withRecords(regHdr(fmt.Sprint(i)), strings.Repeat("c", 10<<10), "comment")
			})},
			want: "the build would read more than 102400 bytes of entry names, link targets and PAX records"},
		{name: "many long names", lim: Limits{MaxIndexBytes: 1 << 20},
			layers: [][]*tar.Header{many(2000, func(i int) *tar.Header { return regHdr(longPath(i, 1000)) })},
			want:   "the build would keep more than 1 MiB in memory about the filesystems it reads"},
		{name: "many long whiteouts", lim: Limits{MaxIndexBytes: 1 << 20},
			layers: [][]*tar.Header{{regHdr("f")}, many(2000, func(i int) *tar.Header { return regHdr(longPath(i, 1000) + "/.wh.x") })},
			want:   "the build would keep more than 1 MiB in memory about the filesystems it reads"},
		{name: "many long opaque markers", lim: Limits{MaxIndexBytes: 1 << 20},
			layers: [][]*tar.Header{{regHdr("f")}, many(2000, func(i int) *tar.Header { return regHdr(longPath(i, 1000) + "/.wh..wh..opq") })},
			want:   "the build would keep more than 1 MiB in memory about the filesystems it reads"},
	}
	for _, tt := range tests {
		for _, copyFrom := range []bool{false, true} {
			name := tt.name + " FROM"
			base, ins := "example.com/bomb", cp("/x/", "a.txt")
			if copyFrom {
				name = tt.name + " COPY --from"
				base, ins = "scratch", copyFromImage("example.com/bomb", "/", "/")
			}
			t.Run(name, func(t *testing.T) {
				reg := &registry{images: map[string]v1.Image{"example.com/bomb": craftedImage(t, tt.layers...)}}
				o := opts(t, writeContext(t, map[string]fsEntry{"a.txt": {body: "a"}}))
				o.Base, o.Limits = reg.base, tt.lim
				_, err := Build(context.Background(), stages(newStage(from(base, ""), ins)), o)
				if !wharf.IsCode(err, wharf.Invalid) || !strings.Contains(wharf.ErrorMessage(err), tt.want) {
					t.Fatalf("err = %v, want an Invalid error with %q", err, tt.want)
				}
			})
		}
	}
}

func copyFromImage(from, dest string, sources ...string) *dockerfile.Copy {
	c := cp(dest, sources...)
	c.From = from
	return c
}

// TestIndexMemoryGivenBack: a stage's index is given back when the stage
// is built, and what a walk remembers when the walk ends; the index of a
// COPY --from source stays for the build.
func TestIndexMemoryGivenBack(t *testing.T) {
	img := craftedImage(t, many(1000, func(i int) *tar.Header { return regHdr(longPath(i, 500)) }))
	b := newBudget(Limits{}, 0)
	x, err := indexImage(context.Background(), img, "image big", b, false)
	if err != nil {
		t.Fatal(err)
	}
	one := b.mem.used
	if x.kept.release(); b.mem.used != 0 {
		t.Fatalf("%d bytes still counted once the index and its walk are dropped", b.mem.used)
	}
	// Room for one index and the walk that reads it (which remembers as
	// many paths), not for two indexes.
	lim := Limits{MaxIndexBytes: one * 5 / 2}
	reg := &registry{images: map[string]v1.Image{"big": img}}
	tests := []struct {
		name string
		df   *dockerfile.Dockerfile
		fail bool
	}{
		{name: "stage after stage", df: stages(
			newStage(from("big", "one"), cp("/a", "a.txt")),
			newStage(from("one", ""), cp("/b", "a.txt")))},
		{name: "a source index stays", fail: true, df: stages(
			newStage(from("big", ""), copyFromImage("big", "/c/", "/p"), cp("/b", "a.txt")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, writeContext(t, map[string]fsEntry{"a.txt": {body: "a"}}))
			o.Base, o.Limits = reg.base, lim
			_, err := Build(context.Background(), tt.df, o)
			if tt.fail != (err != nil) || (tt.fail && !strings.Contains(err.Error(), "in memory")) {
				t.Fatalf("err = %v, want failure %v", err, tt.fail)
			}
		})
	}
}
