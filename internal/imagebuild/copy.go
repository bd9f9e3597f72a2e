package imagebuild

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

// errNoSources is Docker's complaint when the sources match nothing.
var errNoSources = errors.New("no source files were specified")

// copySpec is a COPY or ADD with its words expanded.
type copySpec struct {
	sources []string
	dest    string // absolute, clean
	destDir bool   // the destination was written as a directory ("dir/", ".")
	owner   *owner
	chmod   int64 // -1 when there is no --chmod
}

// copy executes COPY or ADD: one new layer holding what the sources name.
func (s *stage) copy(ctx context.Context, in *dockerfile.Copy) error {
	kw := "COPY"
	if in.Add {
		kw = "ADD"
	}
	if err := s.copyLayer(ctx, in, kw); err != nil {
		return fmt.Errorf("%s failed: %w", kw, err)
	}
	return nil
}

func (s *stage) copyLayer(ctx context.Context, in *dockerfile.Copy, kw string) error {
	c, createdBy, err := s.expandCopy(ctx, in, kw)
	if err != nil {
		return err
	}
	idx, err := s.filesystem(ctx)
	if err != nil {
		return err
	}
	w, err := newLayerWriter(ctx, s.b.opts.ScratchDir, idx, c.owner, c.chmod, s.b.now(), s.b.budget)
	if err != nil {
		return err
	}
	kept := false
	defer func() {
		if !kept {
			w.discard()
		}
	}()
	if r, ok := s.b.copies[in]; ok {
		err = s.copyFromImage(ctx, w, r, c)
	} else {
		err = s.copyFromContext(ctx, w, c, in.Add)
	}
	if err != nil {
		return err
	}
	layer, err := w.finish(s.layerType)
	if err != nil {
		return err
	}
	kept = true
	digest, err := layer.Digest()
	if err != nil {
		return err
	}
	s.adds = append(s.adds, mutate.Addendum{Layer: layer, History: s.history(createdBy, false)})
	noun := "files"
	if w.files == 1 {
		noun = "file"
	}
	s.b.opts.Log.Output(fmt.Sprintf("Copied %d %s (%s)", w.files, noun, humanSize(w.bytes)))
	s.b.opts.Log.Output(" ---> " + shortID(digest))
	return nil
}

// expandCopy expands the words and flags of in and returns them with the
// history line BuildKit would write for it.
func (s *stage) expandCopy(ctx context.Context, in *dockerfile.Copy, kw string) (*copySpec, string, error) {
	c := &copySpec{chmod: -1}
	created := []string{kw}
	if in.From != "" {
		created = append(created, "--from="+in.From)
	}
	for _, w := range in.Sources {
		v, err := s.expand(w)
		if err != nil {
			return nil, "", err
		}
		c.sources = append(c.sources, v)
	}
	dest, err := s.expand(in.Dest)
	if err != nil {
		return nil, "", err
	}
	if dest == "" {
		return nil, "", errors.New("the destination can not be empty")
	}
	last := path.Base(dest)
	c.destDir = strings.HasSuffix(dest, "/") || last == "." || last == ".."
	c.dest = s.abs(dest)
	if in.Chown != "" {
		spec, err := s.expand(in.Chown)
		if err != nil {
			return nil, "", err
		}
		if c.owner, err = s.resolveOwner(ctx, spec); err != nil {
			return nil, "", err
		}
		created = append(created, "--chown="+spec)
	}
	if in.Chmod != "" {
		spec, err := s.expand(in.Chmod)
		if err != nil {
			return nil, "", err
		}
		m, err := strconv.ParseUint(spec, 8, 32)
		if err != nil || m > 0o7777 {
			return nil, "", fmt.Errorf("--chmod=%s: not an octal file mode", spec)
		}
		c.chmod = int64(m)
		created = append(created, "--chmod="+spec)
	}
	created = append(append(created, c.sources...), dest, "# buildkit")
	return c, strings.Join(created, " "), nil
}

// copyFromContext copies sources from the build context (and, for ADD,
// from URLs).
func (s *stage) copyFromContext(ctx context.Context, w *layerWriter, c *copySpec, add bool) error {
	var urls, paths []string
	for _, src := range c.sources {
		if add && isURL(src) {
			urls = append(urls, src)
			continue
		}
		if s.b.buildContext == nil {
			return errors.New("the build has no context to copy from")
		}
		m, err := matchContext(s.b.buildContext, s.b.ignore, src)
		if err != nil {
			return err
		}
		paths = append(paths, m...)
	}
	n := len(urls) + len(paths)
	if n == 0 {
		return errNoSources
	}
	destDir := c.destDir || n > 1 || w.fs.isDir(c.dest)
	for _, u := range urls {
		if err := s.addURL(ctx, w, u, c.dest, destDir); err != nil {
			return err
		}
	}
	for _, p := range paths {
		if err := copyContextPath(w, s.b.buildContext, s.b.ignore, p, c.dest, destDir, add); err != nil {
			return err
		}
	}
	return nil
}

// matchContext returns the context paths src names: itself, or what its
// wildcards match, component by component, as filepath.Match would
// against context-relative paths. A path leaving the context is refused
// here; os.Root refuses symlinks that would. What .dockerignore excludes
// is not there: naming it is an error, and wildcards do not match it.
func matchContext(root *os.Root, ig *ignoreMatcher, src string) ([]string, error) {
	rel := path.Clean(src)
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, fmt.Errorf("forbidden path outside the build context: %s", src)
	}
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	if rel == "" {
		return []string{"."}, nil
	}
	if !hasMeta(rel) {
		if _, ok := ig.resolve(root, rel); !ok {
			return nil, fmt.Errorf("file not found in build context or excluded by .dockerignore: %s", rel)
		}
		return []string{rel}, nil
	}
	cands := []string{"."}
	for _, part := range strings.Split(rel, "/") {
		if _, err := path.Match(part, ""); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		var next []string
		for _, dir := range cands {
			if !hasMeta(part) {
				p := path.Join(dir, part)
				if _, err := root.Lstat(filepath.FromSlash(p)); err == nil {
					next = append(next, p)
				}
				continue
			}
			// A candidate that is not a directory simply matches nothing
			// below it.
			names, _ := readDirNames(root, dir)
			for _, name := range names {
				if ok, _ := path.Match(part, name); ok {
					next = append(next, path.Join(dir, name))
				}
			}
		}
		cands = next
	}
	return slices.DeleteFunc(cands, func(p string) bool {
		_, ok := ig.resolve(root, p)
		return !ok
	}), nil
}

func readDirNames(root *os.Root, dir string) ([]string, error) {
	f, err := root.Open(filepath.FromSlash(dir))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	slices.Sort(names)
	return names, err
}

// copyContextPath copies context path p: a directory's contents into
// dest, an archive (ADD only) unpacked into dest, a file to dest or into
// it. A symlink p is followed, within the context only; a directory's
// contents are filtered by .dockerignore where the symlinks lead.
func copyContextPath(w *layerWriter, root *os.Root, ig *ignoreMatcher, p, dest string, destDir, add bool) error {
	info, err := root.Stat(filepath.FromSlash(p))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("file not found in build context: %s", p)
	}
	if err != nil {
		return err
	}
	if info.IsDir() {
		real, _ := ig.resolve(root, p)
		return copyContextDir(w, root, ig, real, dest)
	}
	if add {
		if unpacked, err := addArchive(w, root, p, dest); unpacked || err != nil {
			return err
		}
	}
	hdr, err := contextHeader(p, info)
	if err != nil {
		return err
	}
	f, err := root.Open(filepath.FromSlash(p))
	if err != nil {
		return err
	}
	defer f.Close()
	if destDir {
		dest = path.Join(dest, path.Base(p))
	}
	_, err = w.file(dest, hdr, f)
	return err
}

// copyContextDir copies the contents of context directory dir into dest,
// leaving out what .dockerignore excludes. Symlinks below dir are copied
// as symlinks, never followed.
func copyContextDir(w *layerWriter, root *os.Root, ig *ignoreMatcher, dir, dest string) error {
	if _, err := w.dir(dest, nil); err != nil {
		return err
	}
	return walkVisible(root, ig, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := contextHeader(p, info)
		if err != nil {
			return err
		}
		rel := p
		if dir != "." {
			rel = strings.TrimPrefix(p, dir+"/")
		}
		target := path.Join(dest, rel)
		switch hdr.Typeflag {
		case tar.TypeDir:
			_, err = w.dir(target, hdr)
			return err
		case tar.TypeSymlink:
			if hdr.Linkname, err = root.Readlink(filepath.FromSlash(p)); err != nil {
				return err
			}
			_, err = w.file(target, hdr, nil)
			return err
		}
		f, err := root.Open(filepath.FromSlash(p))
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = w.file(target, hdr, f)
		return err
	})
}

// contextHeader is the tar header for a context entry: its mode and mtime,
// owned by 0:0 as Docker does for the context.
func contextHeader(p string, info fs.FileInfo) (*tar.Header, error) {
	m := info.Mode()
	h := &tar.Header{Mode: int64(m.Perm()), ModTime: info.ModTime()}
	for bit, tarBit := range map[fs.FileMode]int64{fs.ModeSetuid: 0o4000, fs.ModeSetgid: 0o2000, fs.ModeSticky: 0o1000} {
		if m&bit != 0 {
			h.Mode |= tarBit
		}
	}
	switch {
	case m.IsDir():
		h.Typeflag = tar.TypeDir
	case m&fs.ModeSymlink != 0:
		h.Typeflag = tar.TypeSymlink
	case m.IsRegular():
		h.Typeflag = tar.TypeReg
		h.Size = info.Size()
	default:
		return nil, fmt.Errorf("%s: cannot copy a %s", p, m.Type())
	}
	return h, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[`) }

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// humanSize formats n bytes as Docker does, in SI units.
func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
