package imagebuild

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does, so a
// link cycle in an image is an error rather than a hang.
const maxSymlinks = 40

// fsIndex describes an image's flattened filesystem by absolute path:
// what each entry is, where symlinks lead, and directories' headers. It
// lets a COPY resolve its destination the way the container will see it
// without unpacking anything.
type fsIndex struct {
	nodes map[string]node
}

type node struct {
	typ  byte        // tar type flag
	link string      // symlink target as written
	dir  *tar.Header // a directory's header, for copying its metadata
}

var rootNode = node{typ: tar.TypeDir}

func newFSIndex() *fsIndex { return &fsIndex{nodes: map[string]node{}} }

// record notes that the entry hdr describes now exists at p. Parents
// missing from the index are recorded as directories: layers need not
// contain an entry for every directory they write into.
func (x *fsIndex) record(p string, hdr *tar.Header) {
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		if _, ok := x.nodes[d]; ok {
			break
		}
		x.nodes[d] = node{typ: tar.TypeDir}
	}
	n := node{typ: hdr.Typeflag}
	switch hdr.Typeflag {
	case tar.TypeDir:
		h := *hdr
		n.dir = &h
	case tar.TypeSymlink:
		n.link = hdr.Linkname
	}
	x.nodes[p] = n
}

// lookup returns the node at p, an absolute clean path.
func (x *fsIndex) lookup(p string) (node, bool) {
	if p == "/" {
		return rootNode, true
	}
	n, ok := x.nodes[p]
	return n, ok
}

// resolve follows the symlinks in p, the last component's included, and
// returns the path it leads to and whether something exists there. When a
// component is missing, the rest of p is appended to the resolved part
// unchanged. A component that is neither a directory nor a symlink
// before the end is an error, as it would be in the container.
func (x *fsIndex) resolve(p string) (string, node, bool, error) {
	rest := splitPath(p)
	cur := "/"
	for hops := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		n, ok := x.nodes[next]
		switch {
		case !ok:
			return path.Join(append([]string{next}, rest...)...), node{}, false, nil
		case n.typ == tar.TypeSymlink:
			if hops++; hops > maxSymlinks {
				return "", node{}, false, fmt.Errorf("%s: too many levels of symbolic links", p)
			}
			if path.IsAbs(n.link) {
				cur = "/"
			}
			rest = append(splitPath(n.link), rest...)
			continue
		case n.typ != tar.TypeDir && len(rest) > 0:
			return "", node{}, false, fmt.Errorf("%s: %s is not a directory", p, next)
		}
		cur = next
	}
	n, ok := x.lookup(cur)
	return cur, n, ok, nil
}

// isDir reports whether p leads to an existing directory.
func (x *fsIndex) isDir(p string) bool {
	_, n, ok, err := x.resolve(p)
	return err == nil && ok && n.typ == tar.TypeDir
}

// glob returns the paths matching pattern (path.Match syntax), sorted.
func (x *fsIndex) glob(pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", pattern, err)
	}
	var out []string
	for p := range x.nodes {
		if ok, _ := path.Match(pattern, p); ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// dirsUnder returns the directories strictly below dir, sorted so parents
// come before their children.
func (x *fsIndex) dirsUnder(dir string) []string {
	var out []string
	for p, n := range x.nodes {
		if n.typ == tar.TypeDir && within(p, dir) && p != dir {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// maxIndexEntries bounds an image's index: base images come from users
// (and other registries), and each entry costs memory in the process that
// also serves the registry. Real distributions hold well under this.
const maxIndexEntries = 2_000_000

// indexImage reads img's flattened filesystem into an index.
func indexImage(ctx context.Context, img v1.Image) (*fsIndex, error) {
	x := newFSIndex()
	err := walkImage(ctx, img, func(p string, hdr *tar.Header, _ io.Reader) error {
		if len(x.nodes) >= maxIndexEntries {
			return fmt.Errorf("the image has more than %d filesystem entries", maxIndexEntries)
		}
		x.record(p, hdr)
		return nil
	})
	return x, err
}

// walkImage calls fn for each entry of img's flattened filesystem (whiteouts
// applied), with the entry's absolute clean path; r reads its content.
func walkImage(ctx context.Context, img v1.Image, fn func(p string, hdr *tar.Header, r io.Reader) error) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(ctxReader{ctx, rc})
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read image filesystem: %w", err)
		}
		p := path.Clean("/" + hdr.Name)
		if p == "/" {
			continue
		}
		if err := fn(p, hdr, tr); err != nil {
			return err
		}
	}
}

// maxAccountFile bounds how much of /etc/passwd or /etc/group is read to
// resolve --chown names; real ones are a few KiB.
const maxAccountFile = 4 << 20

// readAccountFiles returns the contents of the regular files among names
// in img's filesystem.
func readAccountFiles(ctx context.Context, img v1.Image, names ...string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := walkImage(ctx, img, func(p string, hdr *tar.Header, r io.Reader) error {
		if hdr.Typeflag != tar.TypeReg || !slices.Contains(names, p) {
			return nil
		}
		if hdr.Size > maxAccountFile {
			return fmt.Errorf("%s is larger than %d bytes", p, maxAccountFile)
		}
		b, err := io.ReadAll(r)
		out[p] = b
		return err
	})
	return out, err
}

// ctxReader fails reads once ctx is done, so copying a large file or
// image stops promptly when the build is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// splitPath splits a slash-separated path into its components.
func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

// within reports whether p is dir or below it; both are absolute and clean.
func within(p, dir string) bool {
	return dir == "/" || p == dir || strings.HasPrefix(p, dir+"/")
}
