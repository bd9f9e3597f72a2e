package imagebuild

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// pick is one source of COPY --from, resolved in the source image.
type pick struct {
	src    string // path in the source image, symlinks resolved
	name   string // the base name the source was given by, for a file's target
	dir    bool   // src is a directory: its contents are copied
	target string // where src lands in the stage
}

// hardlink is a hard link entry waiting for the file it links to.
type hardlink struct {
	target string     // where the link lands in the stage
	src    string     // the image path it links to
	name   string     // the link's name in the image, for messages
	meta   *entryMeta // the link's own metadata
}

// cost is what l keeps in memory.
func (l hardlink) cost() int64 {
	return seenCost + int64(len(l.target)+len(l.src)+len(l.name)) + l.meta.cost()
}

// copyFromImage copies sources out of the image r names. Ownership and
// modes are kept, as Docker does between stages.
//
// The image's filesystem is streamed, not unpacked: a first pass indexes
// it to resolve the sources (once per build, see sourceIndex), a second
// copies the entries below them. The
// directories are written from the index before the second pass, because
// the flattened stream delivers upper layers first and a file could
// otherwise precede the directory that holds it.
func (s *stage) copyFromImage(ctx context.Context, w *layerWriter, r ref, c *copySpec) error {
	img, err := s.b.baseImage(ctx, r)
	if err != nil {
		return err
	}
	idx, err := s.b.sourceIndex(ctx, r, img)
	if err != nil {
		return err
	}
	picks, err := resolvePicks(idx, c.sources)
	if err != nil {
		return err
	}
	what := s.b.source(r)
	destDir := c.destDir || len(picks) > 1 || w.fs.isDir(c.dest)
	for i, pk := range picks {
		picks[i].target = c.dest
		if !pk.dir {
			if destDir {
				picks[i].target = path.Join(c.dest, pk.name)
			}
			continue
		}
		if _, err := w.dir(c.dest, nil); err != nil {
			return err
		}
		for _, d := range idx.dirsUnder(pk.src) {
			var hdr *tar.Header // nil for a directory the image only implies
			if m := idx.nodes[d].dir; m != nil {
				hdr = m.header(tar.TypeDir)
			}
			if _, err := w.dir(path.Join(c.dest, strings.TrimPrefix(d, pk.src)), hdr); err != nil {
				return err
			}
		}
	}
	placed := map[string]string{} // image path of a copied file → where it landed
	var links []hardlink
	kept := tally{mem: &s.b.budget.mem}
	defer kept.release()
	err = walkImage(ctx, img, what, w.budget, func(p string, hdr *tar.Header, content io.Reader) error {
		target, ok := pickTarget(picks, p)
		if !ok || hdr.Typeflag == tar.TypeDir {
			return nil
		}
		if hdr.Typeflag == tar.TypeLink {
			l := hardlink{target, path.Clean("/" + hdr.Linkname), strings.Clone(hdr.Name), newEntryMeta(hdr)}
			links = append(links, l)
			return kept.take(l.cost())
		}
		dst, err := w.file(target, hdr, content)
		if err != nil {
			return err
		}
		return place(placed, &kept, p, dst)
	})
	if err != nil {
		return err
	}
	return linkCopies(ctx, w, img, what, links, placed)
}

// sourceIndex returns the index of img, the image r names, reading it
// only for the first COPY --from that names r: stages already built and
// pulled images do not change during the build.
func (b *builder) sourceIndex(ctx context.Context, r ref, img v1.Image) (*fsIndex, error) {
	if idx, ok := b.indexes[r]; ok {
		return idx, nil
	}
	idx, err := indexImage(ctx, img, b.source(r), b.budget, true)
	if err != nil {
		return nil, err
	}
	b.indexes[r] = idx
	return idx, nil
}

// resolvePicks resolves the sources of a COPY --from in the source
// image's index, expanding wildcards and following symlinks.
func resolvePicks(idx *fsIndex, sources []string) ([]pick, error) {
	var picks []pick
	for _, src := range sources {
		p := path.Clean("/" + src)
		matches := []string{p}
		if hasMeta(p) {
			var err error
			if matches, err = idx.glob(p); err != nil {
				return nil, err
			}
		}
		for _, m := range matches {
			resolved, n, ok, err := idx.resolve(m)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%s: not found in the source image", src)
			}
			picks = append(picks, pick{src: resolved, name: path.Base(m), dir: n.typ == tar.TypeDir})
		}
	}
	if len(picks) == 0 {
		return nil, errNoSources
	}
	return picks, nil
}

// pickTarget returns where image path p lands, if a pick selects it.
func pickTarget(picks []pick, p string) (string, bool) {
	for _, pk := range picks {
		switch {
		case !pk.dir && p == pk.src:
			return pk.target, true
		case pk.dir && p != pk.src && within(p, pk.src):
			return path.Join(pk.target, strings.TrimPrefix(p, pk.src)), true
		}
	}
	return "", false
}

// linkCopies writes the hard links found while copying. One whose file
// was copied becomes a hard link to it; for the others, a third pass
// copies the file's content to the first link and links the rest to it.
func linkCopies(ctx context.Context, w *layerWriter, img v1.Image, what string, links []hardlink, placed map[string]string) error {
	waiting := map[string][]hardlink{}
	for _, l := range links {
		if dst, ok := placed[l.src]; ok {
			if err := w.link(l.target, dst, l.meta.header(tar.TypeLink)); err != nil {
				return err
			}
			continue
		}
		waiting[l.src] = append(waiting[l.src], l)
	}
	if len(waiting) == 0 {
		return nil
	}
	err := walkImage(ctx, img, what, w.budget, func(p string, hdr *tar.Header, content io.Reader) error {
		ls, ok := waiting[p]
		if !ok || hdr.Typeflag != tar.TypeReg {
			return nil
		}
		delete(waiting, p)
		first, err := w.file(ls[0].target, hdr, content)
		if err != nil {
			return err
		}
		for _, l := range ls[1:] {
			if err := w.link(l.target, first, l.meta.header(tar.TypeLink)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for src, ls := range waiting {
		return fmt.Errorf("%s is a hard link to %s, which is not in the source image", ls[0].name, src)
	}
	return nil
}
