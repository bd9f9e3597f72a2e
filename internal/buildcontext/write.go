package buildcontext

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// kind is what an archive entry creates.
type kind int

const (
	kindFile kind = iota
	kindDir
	kindSymlink
	kindHardlink
)

// entry is one archive member, whatever the archive format.
type entry struct {
	name  string // as written in the archive, for messages
	kind  kind
	mode  fs.FileMode // only the permission bits are used
	size  int64       // of a file's body; -1 when unknown
	link  string      // target of a symlink or hard link
	mtime time.Time   // zero when unknown
	body  io.Reader   // a file's contents
	attrs int         // bytes of PAX records, or of a zip entry's extra fields and comment
}

// dirTime is a directory whose modification time is set once all entries
// are written, since writing into a directory changes its time.
type dirTime struct {
	name  string
	mtime time.Time
}

// writer creates the entries of one archive under root and enforces the
// limits across them.
type writer struct {
	ctx     context.Context
	root    *os.Root
	lim     Limits
	entries int
	written int64
	// headers counts the bytes of names, link targets and attributes.
	headers int64
	// files are the regular files written so far: the only entries a hard
	// link may point to.
	files map[string]bool
	dirs  []dirTime
	buf   []byte
}

func newWriter(ctx context.Context, root *os.Root, lim Limits) *writer {
	return &writer{ctx: ctx, root: root, lim: lim, files: map[string]bool{}, buf: make([]byte, 32<<10)}
}

// count accounts for one more entry, with its name, link target and
// attributes, refusing one over the per-entry limits before anything of
// it is kept.
func (w *writer) count(e entry) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	w.entries++
	if w.entries > w.lim.MaxFiles {
		return &UnsafeError{Reason: fmt.Sprintf("has more than %d entries", w.lim.MaxFiles)}
	}
	switch {
	case len(e.name) > MaxNameBytes:
		return &UnsafeError{Entry: e.name, Reason: fmt.Sprintf("has a name longer than %d bytes", MaxNameBytes)}
	case len(e.link) > MaxNameBytes:
		return &UnsafeError{Entry: e.name, Reason: fmt.Sprintf("has a link target longer than %d bytes", MaxNameBytes)}
	case e.attrs > MaxEntryAttrBytes:
		return &UnsafeError{Entry: e.name, Reason: fmt.Sprintf("has %d bytes of attributes (PAX records, extended attributes, zip extra fields), more than the %s allowed per entry", e.attrs, size(MaxEntryAttrBytes))}
	}
	w.headers += int64(len(e.name) + len(e.link) + e.attrs)
	if w.headers > w.lim.MaxHeaderBytes {
		return &UnsafeError{Reason: fmt.Sprintf("has more than %s of entry names, link targets and attributes", size(w.lim.MaxHeaderBytes))}
	}
	return nil
}

// add checks and creates one entry.
func (w *writer) add(e entry) error {
	if err := w.count(e); err != nil {
		return err
	}
	name, err := localName(e.name)
	if err != nil {
		return err
	}
	if name == "." {
		if e.kind == kindDir {
			return nil // "./" in archives made with `tar -C dir .` names dest itself
		}
		return &UnsafeError{Entry: e.name, Reason: "has no name"}
	}
	switch e.kind {
	case kindDir:
		return w.dir(name, e)
	case kindFile:
		return w.file(name, e)
	case kindSymlink:
		return w.symlink(name, e)
	default:
		return w.hardlink(name, e)
	}
}

// finish sets the times of the directories once nothing more is written
// into them.
func (w *writer) finish() error {
	for _, d := range w.dirs {
		if err := w.root.Chtimes(d.name, d.mtime, d.mtime); err != nil {
			return fsError(d.name, err)
		}
	}
	return nil
}

// localName cleans an entry name (always slash-separated, in every
// archive format) and refuses one that is absolute or climbs out of the
// context. "a/../b" is fine: it cleans to "b".
func localName(raw string) (string, error) {
	if raw == "" {
		return "", &UnsafeError{Reason: "has an entry without a name"}
	}
	if path.IsAbs(raw) {
		return "", &UnsafeError{Entry: raw, Reason: "has an absolute path"}
	}
	name := path.Clean(raw)
	if name == ".." || strings.HasPrefix(name, "../") {
		return "", &UnsafeError{Entry: raw, Reason: "escapes the context"}
	}
	// IsLocal also knows the host's own rules, such as drive letters and
	// reserved names on Windows.
	if !filepath.IsLocal(name) {
		return "", &UnsafeError{Entry: raw, Reason: "is not a valid path on this system"}
	}
	return name, nil
}

func (w *writer) dir(name string, e entry) error {
	if err := w.root.MkdirAll(name, 0o755); err != nil {
		return fsError(e.name, err)
	}
	// The owner keeps full access whatever the archive says, so that the
	// entries that follow can be written into it and the context removed.
	if err := w.root.Chmod(name, e.mode&0o777|0o700); err != nil {
		return fsError(e.name, err)
	}
	if !e.mtime.IsZero() {
		w.dirs = append(w.dirs, dirTime{name: name, mtime: e.mtime})
	}
	return nil
}

func (w *writer) file(name string, e entry) error {
	// A file that cannot fit is refused before any of it is written.
	if e.size > w.lim.MaxBytes-w.written {
		return w.tooLarge()
	}
	if err := w.replace(name, e.name); err != nil {
		return err
	}
	// O_EXCL: replace removed what was there, so this creates a new file
	// and never opens one that appeared in between.
	f, err := w.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fsError(e.name, err)
	}
	err = w.copy(f, e)
	if err == nil {
		// On the open file, not by name: no path lookup can be redirected.
		// Only permission bits: setuid, setgid and sticky never survive.
		err = fsError(e.name, f.Chmod(e.mode&0o777))
	}
	if cerr := f.Close(); err == nil {
		err = fsError(e.name, cerr)
	}
	if err != nil {
		return err
	}
	w.files[name] = true
	if e.mtime.IsZero() {
		return nil
	}
	return fsError(e.name, w.root.Chtimes(name, e.mtime, e.mtime))
}

// copy writes a file's body, counting every byte against MaxBytes as it
// streams: the size an archive declares is checked first, but the bytes
// actually produced are what fill the disk.
func (w *writer) copy(dst io.Writer, e entry) error {
	for {
		n, rerr := e.body.Read(w.buf)
		if n > 0 {
			w.written += int64(n)
			if w.written > w.lim.MaxBytes {
				return w.tooLarge()
			}
			if _, err := dst.Write(w.buf[:n]); err != nil {
				return fsError(e.name, err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return rerr
		}
		if err := w.ctx.Err(); err != nil {
			return err
		}
	}
}

func (w *writer) tooLarge() error {
	return &UnsafeError{Reason: fmt.Sprintf("is larger than the %s limit", size(w.lim.MaxBytes))}
}

// replace clears the way for a new entry at name. Whatever an earlier
// entry left there is removed, as tar does, so that a later entry never
// writes through a symlink or into a file hard-linked elsewhere. A
// directory is not removed: tar would not remove a non-empty one either.
func (w *writer) replace(name, raw string) error {
	fi, err := w.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if dir := path.Dir(name); dir != "." {
			return fsError(raw, w.root.MkdirAll(dir, 0o755))
		}
		return nil
	case err != nil:
		return fsError(raw, err)
	case fi.IsDir():
		return &UnsafeError{Entry: raw, Reason: "replaces a directory"}
	}
	delete(w.files, name)
	return fsError(raw, w.root.Remove(name))
}

func (w *writer) symlink(name string, e entry) error {
	target, err := symlinkTarget(name, e)
	if err != nil {
		return err
	}
	if err := w.replace(name, e.name); err != nil {
		return err
	}
	if target == ".." || strings.HasPrefix(target, "../") {
		if err := w.realParents(name, e); err != nil {
			return err
		}
	}
	return fsError(e.name, w.root.Symlink(target, name))
}

// symlinkTarget returns the clean target of a symlink entry, refusing one
// that is absolute or that leads outside the context from the link's
// directory.
func symlinkTarget(name string, e entry) (string, error) {
	outside := &UnsafeError{Entry: e.name, Reason: fmt.Sprintf("is a symlink pointing outside the context (%s)", e.link)}
	switch {
	case e.link == "":
		return "", &UnsafeError{Entry: e.name, Reason: "is a symlink without a target"}
	case path.IsAbs(e.link):
		return "", outside
	}
	if j := path.Join(path.Dir(name), e.link); j == ".." || strings.HasPrefix(j, "../") {
		return "", outside
	}
	// The link stores the target as checked. The kernel resolves a target
	// component by component, so "a/a/../.." written as is would climb two
	// levels above "a/a" when "a" is a link to ".", not zero as the lexical
	// check computed. Once clean, ".." can only lead the target.
	return path.Clean(e.link), nil
}

// realParents refuses a symlink whose target climbs ("../x") when a
// directory above the link is itself a symlink: the ".." would then climb
// from wherever that symlink points, which the lexical check did not see.
func (w *writer) realParents(name string, e entry) error {
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		fi, err := w.root.Lstat(dir)
		if err != nil {
			return fsError(e.name, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return &UnsafeError{Entry: e.name, Reason: fmt.Sprintf("is a symlink climbing out of %q, which is a symlink itself", dir)}
		}
	}
	return nil
}

func (w *writer) hardlink(name string, e entry) error {
	target, err := localName(e.link)
	if err != nil || target == "." {
		return &UnsafeError{Entry: e.name, Reason: fmt.Sprintf("is a hard link to %q, which is outside the context", e.link)}
	}
	if target == name {
		return &UnsafeError{Entry: e.name, Reason: "is a hard link to itself"}
	}
	// Only regular files of this archive may be linked: a link to a
	// symlink would move its relative target somewhere it was never
	// checked, and a link to anything else would expose it.
	fi, err := w.root.Lstat(target)
	if !w.files[target] || err != nil || !fi.Mode().IsRegular() {
		return &UnsafeError{Entry: e.name, Reason: fmt.Sprintf("is a hard link to %q, which is not a file extracted before it", e.link)}
	}
	if err := w.replace(name, e.name); err != nil {
		return err
	}
	if err := w.root.Link(target, name); err != nil {
		return fsError(e.name, err)
	}
	w.files[name] = true
	return nil
}

// fsError classifies a file-system error met while writing the entry
// named raw. Failures of the host (a full disk, an I/O error) are internal
// and logged; the rest come from the archive's own shape, such as a file
// where a later entry needs a directory, or a path the root refused.
func fsError(raw string, err error) error {
	if err == nil {
		return nil
	}
	if hostFault(err) {
		return wharf.Wrap(err, "extract build context")
	}
	// os.Root reports names relative to the root, so the text shows
	// nothing of the host.
	return &UnsafeError{Entry: raw, Reason: "cannot be extracted: " + err.Error()}
}

// hostFault reports whether err is a failure of the host rather than of
// the input.
func hostFault(err error) bool {
	for _, target := range []error{fs.ErrPermission, syscall.ENOSPC, syscall.EDQUOT, syscall.EIO,
		syscall.EROFS, syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
