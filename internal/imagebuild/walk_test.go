package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestWalkImage checks how layers flatten: upper layers win, whiteouts
// and opaque markers delete from lower layers only.
func TestWalkImage(t *testing.T) {
	dir := func(name string) tarEntry { return tarEntry{name: name, typ: tar.TypeDir, mode: 0o755} }
	file := func(name, body string) tarEntry { return tarEntry{name: name, body: body} }
	tests := []struct {
		name   string
		layers [][]tarEntry // bottom first
		want   map[string]string
	}{{
		name:   "upper file wins",
		layers: [][]tarEntry{{file("f", "lower")}, {file("f", "upper")}},
		want:   map[string]string{"/f": "upper"},
	}, {
		name:   "first entry of a layer wins",
		layers: [][]tarEntry{{file("f", "one"), file("./f", "two")}},
		want:   map[string]string{"/f": "one"},
	}, {
		name:   "whiteout deletes a file and a directory with its contents",
		layers: [][]tarEntry{{file("f", "x"), dir("d/"), file("d/x", "x"), file("keep", "k")}, {file(".wh.f", ""), file(".wh.d", "")}},
		want:   map[string]string{"/keep": "k"},
	}, {
		name:   "opaque marker hides lower contents, not its own layer's",
		layers: [][]tarEntry{{dir("d/"), file("d/old", "o")}, {dir("d/"), file("d/.wh..wh..opq", ""), file("d/new", "n")}},
		want:   map[string]string{"/d": "dir", "/d/new": "n"},
	}, {
		name:   "whiteout then the same path again in one layer",
		layers: [][]tarEntry{{dir("p/"), file("p/old", "o")}, {file(".wh.p", ""), dir("p/"), file("p/new", "n")}},
		want:   map[string]string{"/p": "dir", "/p/new": "n"},
	}, {
		name:   "a whiteout below a directory still deletes further down",
		layers: [][]tarEntry{{dir("p/"), file("p/old", "o")}, {file(".wh.p", "")}, {dir("p/")}},
		want:   map[string]string{"/p": "dir"},
	}, {
		name:   "a file below a directory still hides further down",
		layers: [][]tarEntry{{dir("p/"), file("p/old", "o")}, {file("p", "f")}, {dir("p/")}},
		want:   map[string]string{"/p": "dir"},
	}, {
		name:   "a file above hides a lower directory's contents",
		layers: [][]tarEntry{{dir("p/"), file("p/old", "o")}, {file("p", "f")}},
		want:   map[string]string{"/p": "f"},
	}, {
		name:   "names are cleaned as if rooted",
		layers: [][]tarEntry{{file("../../etc/x", "x"), file("./a/../b", "b")}},
		want:   map[string]string{"/etc/x": "x", "/b": "b"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := testImage(t, v1.Config{}, tt.layers...)
			got := map[string]string{}
			err := walkImage(context.Background(), img, "image test", newBudget(Limits{}, 0), func(p string, hdr *tar.Header, r io.Reader) error {
				if hdr.Typeflag == tar.TypeDir {
					got[p] = "dir"
					return nil
				}
				body, err := io.ReadAll(r)
				got[p] = string(body)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

// fuzzLimits keep a fuzzed build small.
var fuzzLimits = Limits{MaxEntries: 1000, MaxAttrBytes: 64 << 10, MaxHeaderBytes: 1 << 20, MaxImageEntries: 1000, MaxIndexBytes: 1 << 20}

// FuzzBaseImageLayer feeds arbitrary bytes to the executor as the layer
// of a base image, copied whole with COPY --from: Build must not panic,
// must fail only with a refusal, and any layer it writes names only clean
// relative paths.
func FuzzBaseImageLayer(f *testing.F) {
	f.Add(craftedTar(f, dirHdr("usr/"), regHdr("usr/f"), linkHdr(tar.TypeLink, "usr/h", "usr/f"),
		linkHdr(tar.TypeSymlink, "usr/l", "../../etc"), regHdr("usr/.wh.gone"), regHdr("opt/.wh..wh..opq")))
	f.Add(craftedTar(f, withRecords(dirHdr("d/"), "v", "SCHILY.xattr.user.x"), regHdr(".wh.d"), regHdr("d/x")))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		})
		if err != nil {
			return
		}
		img, err := mutate.AppendLayers(empty.Image, l)
		if err != nil {
			return
		}
		o := opts(t, "")
		o.Base = (&registry{images: map[string]v1.Image{"fuzz": img}}).base
		o.MaxLayerBytes, o.Limits = 1<<20, fuzzLimits
		img, err = Build(context.Background(), stages(newStage(from("scratch", ""), copyFromImage("fuzz", "/out/", "/"))), o)
		var coded *wharf.Error
		if errors.As(err, &coded) && coded.Code != wharf.Invalid {
			t.Fatalf("err = %v, want a refusal", err)
		}
		if err != nil {
			return
		}
		names, _ := lastLayer(t, img)
		for _, n := range names {
			if clean := strings.TrimSuffix(n, "/"); clean == "" || clean != path.Clean(clean) || strings.HasPrefix(clean, "/") || strings.HasPrefix(clean, "..") {
				t.Errorf("layer entry %q", n)
			}
		}
	})
}
