package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/wharf-registry/wharf/internal/buildcontext"
)

// owner is a --chown result.
type owner struct{ uid, gid int }

// layerWriter writes the tar of one COPY or ADD, gzip-compressed, to a
// temporary file. Paths given to it are where an entry should appear in
// the stage; it resolves them through the stage's symlinks (fs) and adds
// the parent directories the stage lacks, so the layer never replaces a
// directory or symlink it was meant to write into.
type layerWriter struct {
	ctx   context.Context
	f     *os.File
	zw    *gzip.Writer
	tw    *tar.Writer
	fs    *fsIndex
	owner *owner // nil keeps each entry's own uid/gid
	chmod int64  // permission bits for copied entries; -1 keeps theirs
	now   time.Time

	files  int
	bytes  int64
	budget *budget // the build's, shared by all its layers
}

func newLayerWriter(ctx context.Context, dir string, fs *fsIndex, own *owner, chmod int64, now time.Time, b *budget) (*layerWriter, error) {
	f, err := os.CreateTemp(dir, "layer-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("create layer file: %w", err)
	}
	fs.gen++
	zw := gzip.NewWriter(f)
	return &layerWriter{
		ctx: ctx, f: f, zw: zw, tw: tar.NewWriter(zw), fs: fs,
		owner: own, chmod: chmod, now: now, budget: b,
	}, nil
}

// finish completes the tarball and returns it as a layer of type mt.
func (w *layerWriter) finish(mt types.MediaType) (v1.Layer, error) {
	err := w.tw.Close()
	if err == nil {
		err = w.zw.Close()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	return tarball.LayerFromFile(w.f.Name(), tarball.WithMediaType(mt))
}

// discard removes the file of a layer that will not be used.
func (w *layerWriter) discard() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// dir makes p a directory and returns where it is, symlinks resolved.
// hdr, if not nil, is a copied directory whose metadata p takes;
// directories created only as parents get mode 0755.
func (w *layerWriter) dir(p string, hdr *tar.Header) (string, error) {
	resolved, n, ok, err := w.fs.resolve(p)
	if err != nil {
		return "", err
	}
	if ok {
		if n.typ != tar.TypeDir {
			return "", fmt.Errorf("cannot copy to %s: it exists and is not a directory", p)
		}
		if hdr != nil {
			err = w.put(resolved, hdr, nil, true)
		}
		return resolved, err
	}
	// resolved's existing prefix holds only directories, so create the
	// missing ones from the top down.
	for i := 1; i <= len(resolved); i++ {
		if i < len(resolved) && resolved[i] != '/' {
			continue
		}
		q := resolved[:i]
		if _, ok := w.fs.lookup(q); ok {
			continue
		}
		if q == resolved && hdr != nil {
			err = w.put(q, hdr, nil, true)
		} else {
			err = w.put(q, &tar.Header{Typeflag: tar.TypeDir, Mode: 0o755, ModTime: w.now}, nil, false)
		}
		if err != nil {
			return "", err
		}
	}
	return resolved, nil
}

// place returns where an entry for p goes: its parent resolved (and
// created), its own name kept, so a file or symlink at p replaces
// whatever p was rather than writing through it.
func (w *layerWriter) place(p string) (string, error) {
	parent, err := w.dir(path.Dir(p), nil)
	if err != nil {
		return "", err
	}
	return path.Join(parent, path.Base(p)), nil
}

// file writes a regular file, symlink or special file at p, reading a
// regular file's content from r, and returns where it landed.
func (w *layerWriter) file(p string, hdr *tar.Header, r io.Reader) (string, error) {
	dst, err := w.place(p)
	if err != nil {
		return "", err
	}
	return dst, w.put(dst, hdr, r, true)
}

// link writes a hard link at p to target, a path this layer holds.
func (w *layerWriter) link(p, target string, hdr *tar.Header) error {
	dst, err := w.place(p)
	if err != nil {
		return err
	}
	h := *hdr
	h.Typeflag = tar.TypeLink
	h.Linkname = strings.TrimPrefix(target, "/")
	h.Size = 0
	return w.put(dst, &h, nil, true)
}

// put writes one entry at the resolved path p. copied entries get
// --chmod; every entry gets --chown. The entry counts against the build's
// budget, even when it changes nothing, and the stage's index learns
// about it.
func (w *layerWriter) put(p string, hdr *tar.Header, r io.Reader, copied bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if err := w.budget.entry(); err != nil {
		return err
	}
	if p == "/" || (hdr.Typeflag == tar.TypeDir && w.fs.written(p)) {
		return nil
	}
	h := &tar.Header{
		Typeflag:   hdr.Typeflag,
		Name:       strings.TrimPrefix(p, "/"),
		Linkname:   hdr.Linkname,
		Size:       hdr.Size,
		Mode:       hdr.Mode,
		Uid:        hdr.Uid,
		Gid:        hdr.Gid,
		ModTime:    hdr.ModTime,
		Devmajor:   hdr.Devmajor,
		Devminor:   hdr.Devminor,
		PAXRecords: xattrs(hdr.PAXRecords),
		Format:     tar.FormatPAX,
	}
	if h.Typeflag == tar.TypeDir {
		h.Name += "/"
	}
	if h.Typeflag != tar.TypeReg {
		h.Size = 0
	}
	if copied && w.chmod >= 0 && h.Typeflag != tar.TypeSymlink {
		h.Mode = w.chmod
	}
	if w.owner != nil {
		h.Uid, h.Gid = w.owner.uid, w.owner.gid
	}
	attrs := int64(buildcontext.PAXBytes(h.PAXRecords))
	if err := w.budget.attrs(attrs); err != nil {
		return err
	}
	if err := w.budget.layer(int64(len(h.Name)+len(h.Linkname)) + attrs + h.Size); err != nil {
		return err
	}
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write layer: %w", err)
	}
	var kept bytes.Buffer // the content the index keeps, if any
	if h.Typeflag == tar.TypeReg {
		var src io.Reader = ctxReader{w.ctx, r}
		if keepsContent(p, h) {
			src = io.TeeReader(src, &kept)
		}
		if _, err := io.CopyN(w.tw, src, h.Size); err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
		w.files++
		w.bytes += h.Size
	}
	return w.fs.record(p, h, kept.Bytes())
}

// xattrs keeps the extended attributes of an entry (file capabilities,
// say) and drops other PAX records, which the header fields carry.
func xattrs(records map[string]string) map[string]string {
	var out map[string]string
	for k, v := range records {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}
