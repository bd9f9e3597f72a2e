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
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does, so a
// link cycle in an image is an error rather than a hang.
const maxSymlinks = 40

// fsIndex describes an image's flattened filesystem by absolute path:
// what each entry is, where symlinks lead, and, for an index COPY --from
// copies directories out of, directories' metadata. It lets a COPY
// resolve its destination the way the container will see it without
// unpacking anything. What it keeps counts against the build's memory.
type fsIndex struct {
	nodes map[string]node
	// accounts holds what the index knows of accountFiles that are
	// regular files, so that --chown names are looked up without reading
	// the image again.
	accounts map[string]accountFile
	// gen numbers the layers written over the index, so that a layer
	// writes a directory only once; each node has the gen that wrote it,
	// 0 for the image's own entries.
	gen uint32
	// keepDirs keeps directories' metadata in their nodes.
	keepDirs bool
	kept     tally
}

// accountFiles are the files --chown looks names up in.
var accountFiles = []string{"/etc/passwd", "/etc/group"}

// accountFile is the content of one of accountFiles, or why it was not
// kept.
type accountFile struct {
	data []byte
	err  error
}

type node struct {
	typ  byte       // tar type flag
	gen  uint32     // the layer writer that wrote the entry, see fsIndex.gen
	link string     // symlink target as written
	dir  *entryMeta // a directory's, in an index that keeps them
}

// cost is what n keeps besides the slot of its path in the index.
func (n node) cost() int64 {
	c := int64(len(n.link))
	if n.dir != nil {
		c += n.dir.cost()
	}
	return c
}

// entryMeta is what COPY --from copies of a directory or hard link: of
// its header, only what put writes, and of its PAX records only the
// extended attributes.
type entryMeta struct {
	mode     int64
	uid, gid int
	mtime    time.Time
	xattrs   map[string]string
}

// newEntryMeta keeps the metadata of hdr. The attributes are copied:
// archive/tar hands out substrings of the entry's whole PAX block, which
// would otherwise stay in memory with them.
func newEntryMeta(hdr *tar.Header) *entryMeta {
	d := &entryMeta{mode: hdr.Mode, uid: hdr.Uid, gid: hdr.Gid, mtime: hdr.ModTime}
	for k, v := range xattrs(hdr.PAXRecords) {
		if d.xattrs == nil {
			d.xattrs = map[string]string{}
		}
		d.xattrs[strings.Clone(k)] = strings.Clone(v)
	}
	return d
}

func (d *entryMeta) cost() int64 {
	c := int64(seenCost) // the struct itself
	for k, v := range d.xattrs {
		c += seenCost + int64(len(k)+len(v))
	}
	return c
}

// header is d as the header of an entry of type typ to write.
func (d *entryMeta) header(typ byte) *tar.Header {
	return &tar.Header{Typeflag: typ, Mode: d.mode, Uid: d.uid, Gid: d.gid, ModTime: d.mtime, PAXRecords: d.xattrs}
}

var rootNode = node{typ: tar.TypeDir}

func newFSIndex(mem *memory, keepDirs bool) *fsIndex {
	return &fsIndex{nodes: map[string]node{}, accounts: map[string]accountFile{}, keepDirs: keepDirs, kept: tally{mem: mem}}
}

// record notes that the entry hdr describes now exists at p. Parents
// missing from the index are recorded as directories: layers need not
// contain an entry for every directory they write into. data is the
// content of a regular file for which keepsContent holds, nil otherwise.
// It fails when the build may keep no more.
func (x *fsIndex) record(p string, hdr *tar.Header, data []byte) error {
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		if _, ok := x.nodes[d]; ok {
			break
		}
		if err := x.set(d, node{typ: tar.TypeDir}); err != nil {
			return err
		}
	}
	n := node{typ: hdr.Typeflag, gen: x.gen}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if x.keepDirs {
			n.dir = newEntryMeta(hdr)
		}
	case tar.TypeSymlink:
		n.link = strings.Clone(hdr.Linkname) // see newEntryMeta
	}
	if err := x.set(p, n); err != nil {
		return err
	}
	before := len(x.accounts[p].data)
	switch {
	case hdr.Typeflag != tar.TypeReg || !slices.Contains(accountFiles, p):
		delete(x.accounts, p)
	case hdr.Size > maxAccountFile:
		x.accounts[p] = accountFile{err: fmt.Errorf("%s is larger than %d bytes", p, maxAccountFile)}
	default:
		x.accounts[p] = accountFile{data: data}
	}
	return x.kept.take(int64(len(x.accounts[p].data) - before))
}

// set puts n at p, counting the difference in what the index keeps.
func (x *fsIndex) set(p string, n node) error {
	cost := n.cost()
	if old, ok := x.nodes[p]; ok {
		cost -= old.cost()
	} else {
		cost += nodeCost + int64(len(p))
	}
	if err := x.kept.take(cost); err != nil {
		return err
	}
	x.nodes[p] = n
	return nil
}

// written reports whether the current layer writer wrote p.
func (x *fsIndex) written(p string) bool {
	n, ok := x.nodes[p]
	return ok && x.gen > 0 && n.gen == x.gen
}

// keepsContent reports whether the index keeps the content of the
// regular file hdr describes at p: one of accountFiles, small enough to
// hold in memory.
func keepsContent(p string, hdr *tar.Header) bool {
	return hdr.Typeflag == tar.TypeReg && slices.Contains(accountFiles, p) && hdr.Size <= maxAccountFile
}

// account returns the content of p, one of accountFiles; nil when the
// filesystem has no regular file there.
func (x *fsIndex) account(p string) ([]byte, error) {
	a := x.accounts[p]
	return a.data, a.err
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
	var missing string
	cur, err := walkLinks("/", p, func(next string, rest []string) (string, bool, error) {
		n, ok := x.nodes[next]
		switch {
		case !ok:
			missing = path.Join(append([]string{next}, rest...)...)
			return "", false, errStopWalk
		case n.typ == tar.TypeSymlink:
			return n.link, true, nil
		case n.typ != tar.TypeDir && len(rest) > 0:
			return "", false, fmt.Errorf("%s: %s is not a directory", p, next)
		}
		return "", false, nil
	})
	switch {
	case errors.Is(err, errStopWalk):
		return missing, node{}, false, nil
	case errors.Is(err, errTooManyLinks):
		return "", node{}, false, fmt.Errorf("%s: %w", p, err)
	case err != nil:
		return "", node{}, false, err
	}
	n, ok := x.lookup(cur)
	return cur, n, ok, nil
}

// Errors of walkLinks.
var (
	errTooManyLinks = errors.New("too many levels of symbolic links")
	errLeavesTop    = errors.New("the path leads above its top")
	// errStopWalk is for a visit function to end the walk at a component.
	errStopWalk = errors.New("stop")
)

// walkLinks resolves the slash-separated path p below top ("/" or ".")
// component by component, as the kernel resolves a path: "" and "." are
// skipped, ".." goes up (at "/" it stays there; above "." it is
// errLeavesTop) and a symlink is replaced by its target, from top when
// that is absolute, at most maxSymlinks times (errTooManyLinks). visit is
// called with each path reached and the components still to follow it,
// and returns the target when that path is a symlink; its error ends the
// walk. walkLinks returns the path p leads to.
func walkLinks(top, p string, visit func(next string, rest []string) (link string, isLink bool, err error)) (string, error) {
	rest := splitPath(p)
	cur := top
	for hops := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		switch {
		case part == "" || part == ".":
			continue
		case part == ".." && cur == ".":
			return "", errLeavesTop
		case part == "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		link, isLink, err := visit(next, rest)
		if err != nil {
			return "", err
		}
		if !isLink {
			cur = next
			continue
		}
		if hops++; hops > maxSymlinks {
			return "", errTooManyLinks
		}
		if path.IsAbs(link) {
			cur = top
		}
		rest = append(splitPath(link), rest...)
	}
	return cur, nil
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

// indexImage reads img, which what names, into an index whose memory
// counts against b; keepDirs keeps directories' metadata for COPY --from.
func indexImage(ctx context.Context, img v1.Image, what string, b *budget, keepDirs bool) (*fsIndex, error) {
	x := newFSIndex(&b.mem, keepDirs)
	err := walkImage(ctx, img, what, b, func(p string, hdr *tar.Header, r io.Reader) error {
		var data []byte
		if keepsContent(p, hdr) {
			var err error
			if data, err = io.ReadAll(r); err != nil {
				return fmt.Errorf("read image filesystem: %w", err)
			}
		}
		return x.record(p, hdr, data)
	})
	if err != nil {
		x.kept.release()
		return nil, err
	}
	return x, nil
}

// maxAccountFile bounds how much of /etc/passwd or /etc/group is kept to
// resolve --chown names; real ones are a few KiB.
const maxAccountFile = 4 << 20

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
