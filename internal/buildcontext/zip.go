package buildcontext

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// maxSymlinkTarget bounds the target a zip symlink stores as its contents;
// it is PATH_MAX on Linux.
const maxSymlinkTarget = 4096

// zip spools the upload to a temporary file in dest, since zip's central
// directory sits at the end, then unpacks it.
func (w *writer) zip(in io.Reader, dest string) error {
	f, err := os.CreateTemp(dest, ".wharf-spool-*")
	if err != nil {
		return wharf.Wrap(err, "spool zip build context")
	}
	// Unlinked at once so that no archive entry can name it; where an open
	// file cannot be removed (Windows) it goes when Extract returns.
	removed := os.Remove(f.Name()) == nil
	defer func() {
		f.Close()
		if !removed {
			os.Remove(f.Name())
		}
	}()
	var dir dirCounter
	n, err := io.Copy(io.MultiWriter(hostWriter{f}, &dir), in)
	if err != nil {
		return err
	}
	// zip.NewReader holds every central directory record in memory, so the
	// entries are counted before it runs.
	if dir.n > w.lim.MaxFiles {
		return &UnsafeError{Reason: fmt.Sprintf("has more than %d entries", w.lim.MaxFiles)}
	}
	// It also keeps every name, extra field and comment there, so what it
	// reads is bounded as well.
	dirReader := &dirMeter{r: f, max: w.lim.MaxHeaderBytes + zipDirSlack}
	zr, err := zip.NewReader(dirReader, n)
	// ErrInsecurePath (with GODEBUG=zipinsecurepath=0) only reports what add
	// checks itself and refuses with a clearer message.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return err
	}
	dirReader.max = -1 // the entries' data is bounded by MaxBytes
	// The sizes a zip declares are enforced by archive/zip while reading,
	// so their sum refuses an archive too large before anything is written.
	var total uint64
	for _, zf := range zr.File {
		if !zf.Mode().IsRegular() {
			continue
		}
		// Each size is checked alone first so that the sum cannot overflow.
		if zf.UncompressedSize64 > uint64(w.lim.MaxBytes) {
			return w.tooLarge()
		}
		if total += zf.UncompressedSize64; total > uint64(w.lim.MaxBytes) {
			return w.tooLarge()
		}
	}
	for _, zf := range zr.File {
		if err := w.zipEntry(zf); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) zipEntry(zf *zip.File) error {
	mode := zf.Mode()
	e := entry{name: zf.Name, mode: mode, size: int64(zf.UncompressedSize64), mtime: zf.Modified,
		attrs: len(zf.Extra) + len(zf.Comment)}
	switch {
	case mode.IsDir():
		e.kind = kindDir
		return w.add(e)
	case mode&fs.ModeSymlink != 0:
		e.kind = kindSymlink
	case mode.IsRegular():
		e.kind = kindFile
	case mode&fs.ModeNamedPipe != 0:
		return &UnsafeError{Entry: zf.Name, Reason: "is a FIFO"}
	case mode&fs.ModeCharDevice != 0:
		return &UnsafeError{Entry: zf.Name, Reason: "is a character device"}
	case mode&fs.ModeDevice != 0:
		return &UnsafeError{Entry: zf.Name, Reason: "is a block device"}
	default:
		return &UnsafeError{Entry: zf.Name, Reason: fmt.Sprintf("has the unsupported file type %v", mode.Type())}
	}
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if e.kind == kindSymlink {
		// A zip symlink stores its target as the file's contents.
		target, err := io.ReadAll(io.LimitReader(rc, maxSymlinkTarget+1))
		if err != nil {
			return err
		}
		if len(target) > maxSymlinkTarget {
			return &UnsafeError{Entry: zf.Name, Reason: fmt.Sprintf("is a symlink with a target longer than %d bytes", maxSymlinkTarget)}
		}
		e.link = string(target)
	}
	e.body = rc
	return w.add(e)
}

// centralDirSig starts every central directory record of a zip archive.
var centralDirSig = []byte("PK\x01\x02")

// dirCounter counts central directory signatures in the bytes written to
// it: an upper bound of the records zip.NewReader will load, since every
// record starts with one.
type dirCounter struct {
	n    int
	tail []byte // the last bytes seen, for a signature cut between writes
}

func (c *dirCounter) Write(p []byte) (int, error) {
	head := p[:min(len(p), len(centralDirSig)-1)]
	c.n += bytes.Count(append(c.tail[:len(c.tail):len(c.tail)], head...), centralDirSig)
	c.n += bytes.Count(p, centralDirSig)
	c.tail = append(c.tail, p[max(0, len(p)-len(centralDirSig)+1):]...)
	c.tail = c.tail[max(0, len(c.tail)-len(centralDirSig)+1):]
	return len(p), nil
}

// zipDirSlack is what zip.NewReader reads besides the central directory:
// the search for the end record (up to 65 KiB) and read-ahead.
const zipDirSlack = 128 << 10

// dirMeter refuses reads once max bytes have been read through it, unless
// max is negative.
type dirMeter struct {
	r   io.ReaderAt
	n   int64
	max int64
}

func (m *dirMeter) ReadAt(p []byte, off int64) (int, error) {
	if m.max >= 0 {
		if m.n += int64(len(p)); m.n > m.max {
			return 0, &UnsafeError{Reason: fmt.Sprintf("has a zip central directory larger than %s", size(m.max-zipDirSlack))}
		}
	}
	return m.r.ReadAt(p, off)
}

// hostWriter marks write errors as the host's, so that a full disk while
// spooling is not reported as a broken upload.
type hostWriter struct{ w io.Writer }

func (h hostWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	return n, wharf.Wrap(err, "spool zip build context")
}
