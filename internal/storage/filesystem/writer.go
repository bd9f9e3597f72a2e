package filesystem

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// writeBuffer batches the small writes of an HTTP body copy into fewer
// syscalls; large writes bypass it.
const writeBuffer = 128 << 10

// copySlice is how much fileReader.WriteTo hands over between context checks.
// Large enough that a socket destination still gets sendfile's speed.
const copySlice = 4 << 20

// Writer returns a writer that owns a uniquely named staging file. To resume,
// it first claims the resumable data by renaming it to such a name, so two
// writers (even in different processes) never append to the same file: a
// second resumer gets NotFound while the first is open.
func (d *Driver) Writer(ctx context.Context, key string, appendTo bool) (storage.FileWriter, error) {
	if err := check(ctx, "write", key); err != nil {
		return nil, err
	}
	slot := d.resumePath(key)
	if !appendTo {
		if err := os.Remove(slot); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, wharf.Wrap(err, "filesystem: discard uncommitted "+key)
		}
		name, f, err := d.createTemp("write")
		if err != nil {
			return nil, err
		}
		return newWriter(ctx, d, key, name, f, 0), nil
	}
	name := d.tempName("write")
	if err := os.Rename(slot, name); err != nil {
		return nil, pathError("resume", key, err)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	var fi os.FileInfo
	if err == nil {
		fi, err = f.Stat()
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		os.Rename(name, slot) // give the data back for a later attempt
		return nil, wharf.Wrap(err, "filesystem: resume "+key)
	}
	return newWriter(ctx, d, key, name, f, fi.Size()), nil
}

type writerState int

const (
	writing writerState = iota
	closed
	committed
	cancelled
)

func (s writerState) String() string {
	return [...]string{"writing", "closed", "committed", "cancelled"}[s]
}

// fileWriter implements storage.FileWriter over one staging file.
type fileWriter struct {
	// ctx is the one Writer was called with: io.Writer has no context
	// parameter, and the contract says Write fails once it is done.
	ctx   context.Context
	d     *Driver
	key   string
	name  string // the staging file this writer owns
	f     *os.File
	buf   *bufio.Writer
	size  int64
	state writerState
}

func newWriter(ctx context.Context, d *Driver, key, name string, f *os.File, size int64) *fileWriter {
	return &fileWriter{ctx: ctx, d: d, key: key, name: name, f: f,
		buf: bufio.NewWriterSize(f, writeBuffer), size: size}
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.state != writing {
		return 0, w.finished("write")
	}
	if err := ctxErr(w.ctx, "write", w.key); err != nil {
		return 0, err
	}
	n, err := w.buf.Write(p)
	w.size += int64(n)
	if err != nil {
		return n, wharf.Wrap(err, "filesystem: write "+w.key)
	}
	return n, nil
}

func (w *fileWriter) Size() int64 { return w.size }

// Close flushes and fsyncs the data, so that the size a resumer sees is the
// size that reached the disk, and moves it to the key's resume slot.
func (w *fileWriter) Close() error {
	if w.state != writing {
		return nil
	}
	w.state = closed
	err := w.flush()
	if err == nil {
		err = os.Rename(w.name, w.d.resumePath(w.key))
	}
	if err != nil {
		os.Remove(w.name)
		return wharf.Wrap(err, "filesystem: close writer for "+w.key)
	}
	return nil
}

func (w *fileWriter) Cancel(ctx context.Context) error {
	switch w.state {
	case cancelled:
		return nil
	case writing:
		w.state = cancelled
		w.f.Close()
		if err := os.Remove(w.name); err != nil {
			return wharf.Wrap(err, "filesystem: cancel writer for "+w.key)
		}
		return nil
	default:
		return w.finished("cancel")
	}
}

func (w *fileWriter) Commit(ctx context.Context) error {
	if w.state != writing {
		return w.finished("commit")
	}
	// Every failure below discards the data, as the contract says.
	w.state = cancelled
	err := ctxErr(ctx, "commit", w.key)
	if err == nil {
		err = w.flush()
	} else {
		w.f.Close()
	}
	if err == nil {
		err = w.d.install(w.name, w.key)
	}
	if err != nil {
		os.Remove(w.name)
		return wharf.Wrap(err, "filesystem: commit "+w.key)
	}
	w.state = committed
	return nil
}

// flush writes out the buffer, fsyncs (when the driver does) and closes the staging file.
func (w *fileWriter) flush() error {
	err := w.buf.Flush()
	if err == nil && w.d.fsync {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w *fileWriter) finished(op string) error {
	return wharf.Errorf(wharf.Internal, "%s on a %s writer for %s", op, w.state, w.key)
}

// fileReader streams an open file and stops once ctx is done.
type fileReader struct {
	// ctx is the one Reader was called with: io.Reader has no context
	// parameter, and the contract says the stream stops once it is done.
	ctx context.Context
	f   *os.File
	// remaining is what is left to read when WriteTo starts.
	remaining int64
}

// smallRead is the size up to which WriteTo reads a file into memory and
// writes it in one call: for the small blobs that most requests fetch
// (configs, small layers), one read and one write cost fewer system calls
// than sendfile, which flushes the headers first and is called again to
// find the end of the file.
const smallRead = 64 << 10

var smallReadBuffers = sync.Pool{New: func() any { b := make([]byte, smallRead); return &b }}

func (r *fileReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("filesystem: read: %w", err)
	}
	return r.f.Read(p)
}

// WriteTo serves io.Copy: it hands the file to w in large slices through an
// io.LimitedReader, which lets a TCP connection (an HTTP response) use
// sendfile, and checks ctx between slices.
func (r *fileReader) WriteTo(w io.Writer) (int64, error) {
	if r.remaining <= smallRead {
		return r.writeSmallTo(w)
	}
	var total int64
	for {
		if err := r.ctx.Err(); err != nil {
			return total, fmt.Errorf("filesystem: read: %w", err)
		}
		n, err := io.CopyN(w, r.f, copySlice)
		total += n
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// writeSmallTo is WriteTo for a file of at most smallRead bytes.
func (r *fileReader) writeSmallTo(w io.Writer) (int64, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("filesystem: read: %w", err)
	}
	bp := smallReadBuffers.Get().(*[]byte)
	defer smallReadBuffers.Put(bp)
	n, err := io.ReadFull(r.f, (*bp)[:r.remaining])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, fmt.Errorf("filesystem: read: %w", err)
	}
	// A file cut short since it was opened still ends the copy in error,
	// after what it held.
	written, werr := w.Write((*bp)[:n])
	if werr != nil {
		return int64(written), werr
	}
	return int64(written), err
}

func (r *fileReader) Close() error { return r.f.Close() }
