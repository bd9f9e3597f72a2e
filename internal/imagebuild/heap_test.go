package imagebuild

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/wharf-registry/wharf/internal/dockerfile"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// A bomb is a crafted archive: entries of one kind, which should drive
// one budget to its end, mixed at random with entries of every kind.
type bomb struct {
	name    string
	kind    entryKind
	entries int
	seed    uint64
	// breaks lets entries cross the per-entry limits now and then, and
	// mixes in other kinds more often; a bomb that must reach a
	// build-wide budget keeps within them.
	breaks bool
}

type entryKind int

const (
	hugeAttr  entryKind = iota // a directory with one large extended attribute
	manyAttrs                  // a directory with hundreds of small attributes
	longName                   // a file with a unique long name
	longLink                   // a symlink or hard link with a long target
	sameDir                    // the same directory again
	globalPAX                  // a global PAX header with a large record
	whiteout                   // a whiteout or opaque marker with a long name
	kinds
)

// linked is the file every hard link of a bomb links to, its first
// entry.
var linked = longPath(-1, 3000)

// write writes the bomb as a tar stream.
func (b bomb) write(w io.Writer) error {
	r := rand.New(rand.NewPCG(b.seed, uint64(b.kind)))
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(regHdr(linked)); err != nil {
		return err
	}
	others := 1000
	if b.breaks {
		others = 10
	}
	for i := range b.entries {
		kind := b.kind
		if r.IntN(others) == 0 {
			kind = entryKind(r.IntN(int(kinds)))
		}
		if err := tw.WriteHeader(b.entry(r, kind, i)); err != nil {
			return err
		}
	}
	return tw.Close()
}

// entry returns entry i of the bomb, of the given kind.
func (b bomb) entry(r *rand.Rand, kind entryKind, i int) *tar.Header {
	// upTo is a size or count near limit: above it now and then if the
	// bomb breaks limits, else in its upper quarter.
	upTo := func(limit int) int {
		if b.breaks && r.IntN(20) == 0 {
			return limit + 1 + r.IntN(limit)
		}
		return limit - r.IntN(limit/4)
	}
	unique := func(n int) string { return longPath(i, n) }
	switch kind {
	case hugeAttr:
		n := upTo(60_000)
		if b.breaks && r.IntN(5) == 0 {
			n = r.IntN(1_000_000) // archive/tar writes no PAX block over 1 MiB
		}
		return withRecords(dirHdr(fmt.Sprintf("h%d/", i)), strings.Repeat("A", n), "SCHILY.xattr.user.x")
	case manyAttrs:
		return withRecords(dirHdr(fmt.Sprintf("m%d/", i)), strings.Repeat("v", 1+r.IntN(32)), manyKeys[:upTo(1000)]...)
	case longName:
		return regHdr(unique(upTo(4000)))
	case longLink:
		if r.IntN(2) == 0 {
			return linkHdr(tar.TypeSymlink, fmt.Sprintf("s%d", i), unique(upTo(4000)))
		}
		return linkHdr(tar.TypeLink, unique(upTo(4000)), linked)
	case sameDir:
		return dirHdr("same/")
	case globalPAX:
		return withRecords(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "g"}, strings.Repeat("c", upTo(60_000)), "comment")
	default:
		if r.IntN(2) == 0 {
			return regHdr(unique(upTo(4000)) + "/.wh..wh..opq")
		}
		return regHdr(unique(upTo(4000)) + "/.wh.x")
	}
}

// manyKeys are the extended attribute names of manyAttrs entries.
var manyKeys = xattrKeys(2000)

// bombs are the archives of TestBuildHeapBounded: for each kind, one
// that drives a build-wide budget with the default limits, and smaller
// mixes that cross the per-entry limits too.
func bombs() []bomb {
	out := []bomb{
		// MaxAttrBytes for ADD; MaxIndexBytes for COPY --from, whose
		// source index keeps directories' attributes.
		{name: "large attributes", kind: hugeAttr, entries: 2500},
		{name: "many attributes", kind: manyAttrs, entries: 1200},
		// MaxIndexBytes.
		{name: "long names", kind: longName, entries: 30_000},
		{name: "long links", kind: longLink, entries: 30_000},
		{name: "whiteouts", kind: whiteout, entries: 30_000},
		// Entries that keep nothing: the heap stays flat. Their budgets
		// (MaxEntries, MaxHeaderBytes) take a million entries or a
		// gigabyte to reach; TestAddArchiveLimits tests them smaller.
		{name: "one directory", kind: sameDir, entries: 200_000},
		{name: "global headers", kind: globalPAX, entries: 2000},
	}
	for seed := range uint64(2) {
		for k := range kinds {
			out = append(out, bomb{name: fmt.Sprintf("mix %d of kind %d", seed, k), kind: k, entries: 500, seed: seed + 1, breaks: true})
		}
	}
	return out
}

// TestBuildHeapBounded builds crafted archives, added from the context
// with ADD and as a base image's layer copied whole with COPY --from, with
// the default limits and the worker's layer budget, and checks that the
// heap stays under heapCeiling whatever they hold: the build either
// succeeds or fails on a limit.
func TestBuildHeapBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds archives of up to a gigabyte")
	}
	for _, b := range bombs() {
		t.Run(b.name, func(t *testing.T) {
			// One gzip file serves as the context file and as the layer.
			dir := t.TempDir()
			archive := filepath.Join(dir, "in.tgz")
			if err := writeGzip(archive, b.write); err != nil {
				t.Fatal(err)
			}
			t.Run("ADD", func(t *testing.T) {
				checkHeap(t, opts(t, dir), stages(newStage(from("scratch", ""), add("/x/", "in.tgz"))))
			})
			t.Run("base layer", func(t *testing.T) {
				l, err := tarball.LayerFromFile(archive)
				if err != nil {
					t.Fatal(err)
				}
				img, err := mutate.AppendLayers(empty.Image, l)
				if err != nil {
					t.Fatal(err)
				}
				o := opts(t, writeContext(t, map[string]fsEntry{"a.txt": {body: "a"}}))
				o.Base = (&registry{images: map[string]v1.Image{"bomb": img}}).base
				checkHeap(t, o, stages(newStage(from("bomb", ""), cp("/a.txt", "a.txt"), copyFromImage("bomb", "/copy/", "/"))))
			})
		})
	}
}

// writeGzip writes what write produces to the file p, gzip-compressed for
// speed.
func writeGzip(p string, write func(io.Writer) error) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if err := write(zw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// checkHeap builds df with the worker's layer budget and fails if the
// heap passes heapCeiling or the build fails on a fault of the server
// (a coded error other than Invalid). Uncoded errors are the executor's
// refusals of a Dockerfile or archive, shown to the user as they are.
func checkHeap(t *testing.T, o Options, df *dockerfile.Dockerfile) {
	t.Helper()
	o.MaxLayerBytes = 2 << 30
	var err error
	peak := peakHeap(t, func() { _, err = Build(context.Background(), df, o) })
	msg := fmt.Sprint(err)
	t.Logf("peak heap %d MiB: %.300s", peak>>20, msg)
	var coded *wharf.Error
	if errors.As(err, &coded) && coded.Code != wharf.Invalid {
		t.Errorf("err = %.300s, want success or a refusal", msg)
	}
	if peak > heapCeiling {
		t.Errorf("peak heap %d MiB, want under %d MiB", peak>>20, heapCeiling>>20)
	}
}
