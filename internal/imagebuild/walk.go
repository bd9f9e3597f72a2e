package imagebuild

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Names by which a layer deletes what lower layers hold (the OCI image
// spec's whiteouts): ".wh.x" deletes x, and an opaque marker deletes
// everything the lower layers hold in its directory.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// walkImage calls fn for each entry of img's flattened filesystem, with
// the entry's absolute clean path; r reads its content. what names img in
// messages.
//
// Layers are read from the top down, so fn sees an upper layer's entries
// first. An entry is shown when no layer above it (nor an earlier entry
// of its own layer) has one at its path, and nothing above hides it: a
// whiteout, a non-directory at one of its parents, or an opaque marker in
// one of its parents' directories.
//
// Base images are the user's: every entry meets the per-entry limits
// and counts against Limits.MaxHeaderBytes before anything of it is
// kept, the entries of all layers together count against
// Limits.MaxImageEntries, and the paths the walk remembers to apply these
// rules count against the build's memory until it returns.
func walkImage(ctx context.Context, img v1.Image, what string, b *budget, fn func(p string, hdr *tar.Header, r io.Reader) error) error {
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("read the layers of %s: %w", what, err)
	}
	w := imageWalk{what: what, budget: b, seen: map[string]bool{}, opaque: map[string]bool{}, kept: tally{mem: &b.mem}}
	defer w.kept.release()
	for i := len(layers) - 1; i >= 0; i-- {
		if err := w.layer(ctx, layers[i], fn); err != nil {
			return err
		}
	}
	return nil
}

// imageWalk is the state of one walkImage.
type imageWalk struct {
	what    string
	budget  *budget
	entries int
	// seen holds the paths shown or deleted so far: true where nothing
	// below may show (a non-directory, a whiteout), false for a directory.
	seen map[string]bool
	// opaque holds the directories whose lower layers' contents are
	// hidden.
	opaque map[string]bool
	kept   tally
}

// layer walks one layer, and reads it to its end, so that a layer read
// from a registry has its digest checked.
func (w *imageWalk) layer(ctx context.Context, l v1.Layer, fn func(p string, hdr *tar.Header, r io.Reader) error) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("read the layers of %s: %w", w.what, err)
	}
	defer rc.Close()
	r := ctxReader{ctx, rc}
	tr := tar.NewReader(r)
	// Whiteouts and opaque markers delete what lower layers hold only:
	// the layer itself may create the same path again.
	var deleted, opaque []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read the layers of %s: %w", w.what, err)
		}
		if w.entries++; w.entries > w.budget.lim.MaxImageEntries {
			return limitf("%s has more than %d entries in its layers", w.what, w.budget.lim.MaxImageEntries)
		}
		if err := w.budget.read(w.what, hdr); err != nil {
			return err
		}
		p := path.Clean("/" + hdr.Name)
		dir, base := path.Dir(p), path.Base(p)
		var show bool
		switch {
		case base == opaqueMarker:
			err = w.remember(&opaque, dir)
		case strings.HasPrefix(base, whiteoutPrefix):
			err = w.remember(&deleted, path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
		default:
			show, err = w.see(p, hdr.Typeflag != tar.TypeDir)
		}
		if err == nil && show {
			err = fn(p, hdr, tr)
		}
		if err != nil {
			return err
		}
	}
	for _, d := range opaque {
		w.opaque[d] = true
	}
	for _, p := range deleted {
		w.seen[p] = true
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("read the layers of %s: %w", w.what, err)
	}
	return nil
}

// remember appends p to list, counting it against the build's memory
// until the walk ends.
func (w *imageWalk) remember(list *[]string, p string) error {
	if err := w.kept.take(seenCost + int64(len(p))); err != nil {
		return err
	}
	*list = append(*list, p)
	return nil
}

// see notes an entry at p, which hides what is below it in lower layers
// if hides, and reports whether it shows: no entry above is at p and
// nothing above hides it.
func (w *imageWalk) see(p string, hides bool) (bool, error) {
	if p == "/" {
		return false, nil
	}
	for d := path.Dir(p); ; d = path.Dir(d) {
		if w.seen[d] || w.opaque[d] {
			return false, nil
		}
		if d == "/" {
			break
		}
	}
	if above, ok := w.seen[p]; ok {
		// A directory above stays, but a file here still deletes what
		// the layers further down hold below it.
		if hides && !above {
			w.seen[p] = true
		}
		return false, nil
	}
	if err := w.kept.take(seenCost + int64(len(p))); err != nil {
		return false, err
	}
	w.seen[p] = hides
	return true, nil
}
