// Package metered wraps a storage.Driver to time its calls: every method
// reports its operation name, duration and error to an Observer (the
// process's metrics) and otherwise passes through unchanged, so the
// wrapped driver passes the same conformance suite as the driver inside.
//
// Streams are not timed byte by byte: Reader and Writer time the opening,
// a FileWriter's Commit and Cancel are timed as operations of their own,
// and the bytes themselves are counted where the registry serves them.
package metered

import (
	"context"
	"io"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Observer receives one record per driver call.
type Observer interface {
	StorageOperation(driver, op string, took time.Duration, err error)
}

// Driver is a storage.Driver whose calls are timed.
type Driver struct {
	inner storage.Driver
	obs   Observer
	name  string
}

// New wraps d, reporting to obs.
func New(d storage.Driver, obs Observer) *Driver {
	return &Driver{inner: d, obs: obs, name: d.Name()}
}

// observe reports one call that started at start.
func (d *Driver) observe(op string, start time.Time, err error) {
	d.obs.StorageOperation(d.name, op, time.Since(start), err)
}

// Name is the wrapped driver's name.
func (d *Driver) Name() string { return d.name }

// GetContent times the wrapped GetContent.
func (d *Driver) GetContent(ctx context.Context, path string) ([]byte, error) {
	start := time.Now()
	b, err := d.inner.GetContent(ctx, path)
	d.observe("get_content", start, err)
	return b, err
}

// PutContent times the wrapped PutContent.
func (d *Driver) PutContent(ctx context.Context, path string, content []byte) error {
	start := time.Now()
	err := d.inner.PutContent(ctx, path, content)
	d.observe("put_content", start, err)
	return err
}

// Reader times opening the wrapped Reader; the stream itself is the
// wrapped driver's, so zero-copy paths (sendfile of a local file) stay.
func (d *Driver) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := d.inner.Reader(ctx, path, offset)
	d.observe("reader", start, err)
	return rc, err
}

// Writer times opening the wrapped Writer; the FileWriter it returns
// times Commit and Cancel.
func (d *Driver) Writer(ctx context.Context, path string, appendTo bool) (storage.FileWriter, error) {
	start := time.Now()
	w, err := d.inner.Writer(ctx, path, appendTo)
	d.observe("writer", start, err)
	if err != nil {
		return nil, err
	}
	return &fileWriter{FileWriter: w, d: d}, nil
}

// Stat times the wrapped Stat.
func (d *Driver) Stat(ctx context.Context, path string) (storage.FileInfo, error) {
	start := time.Now()
	fi, err := d.inner.Stat(ctx, path)
	d.observe("stat", start, err)
	return fi, err
}

// List times the wrapped List.
func (d *Driver) List(ctx context.Context, prefix string) ([]string, error) {
	start := time.Now()
	keys, err := d.inner.List(ctx, prefix)
	d.observe("list", start, err)
	return keys, err
}

// Move times the wrapped Move.
func (d *Driver) Move(ctx context.Context, src, dst string) error {
	start := time.Now()
	err := d.inner.Move(ctx, src, dst)
	d.observe("move", start, err)
	return err
}

// Delete times the wrapped Delete.
func (d *Driver) Delete(ctx context.Context, path string) error {
	start := time.Now()
	err := d.inner.Delete(ctx, path)
	d.observe("delete", start, err)
	return err
}

// DeleteFiles times the wrapped driver's DeleteFiles when it has one
// (storage.FilesDeleter), else deletes the files one by one, a missing
// file being no error.
func (d *Driver) DeleteFiles(ctx context.Context, paths []string) error {
	start := time.Now()
	var err error
	if fd, ok := d.inner.(storage.FilesDeleter); ok {
		err = fd.DeleteFiles(ctx, paths)
	} else {
		for _, p := range paths {
			if e := d.inner.Delete(ctx, p); e != nil && !wharf.IsCode(e, wharf.NotFound) {
				err = e
				break
			}
		}
	}
	d.observe("delete_files", start, err)
	return err
}

// Walk times the whole wrapped Walk, fn's calls included.
func (d *Driver) Walk(ctx context.Context, prefix string, fn func(storage.FileInfo) error) error {
	start := time.Now()
	err := d.inner.Walk(ctx, prefix, fn)
	d.observe("walk", start, err)
	return err
}

// PurgeStaging forwards to the wrapped driver's PurgeStaging, which drivers
// with private staging files have (the upload-expiry job calls it); for
// the others there is nothing to purge.
func (d *Driver) PurgeStaging(ctx context.Context, cutoff time.Time) (int, error) {
	p, ok := d.inner.(interface {
		PurgeStaging(ctx context.Context, cutoff time.Time) (int, error)
	})
	if !ok {
		return 0, nil
	}
	start := time.Now()
	n, err := p.PurgeStaging(ctx, cutoff)
	d.observe("purge_staging", start, err)
	return n, err
}

// fileWriter times a FileWriter's Commit and Cancel; writes pass through.
type fileWriter struct {
	storage.FileWriter
	d *Driver
}

func (w *fileWriter) Commit(ctx context.Context) error {
	start := time.Now()
	err := w.FileWriter.Commit(ctx)
	w.d.observe("commit", start, err)
	return err
}

func (w *fileWriter) Cancel(ctx context.Context) error {
	start := time.Now()
	err := w.FileWriter.Cancel(ctx)
	w.d.observe("cancel", start, err)
	return err
}
