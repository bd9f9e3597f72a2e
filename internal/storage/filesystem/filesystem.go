// Package filesystem is the storage.Driver for a directory on a local (or
// network) filesystem. Keys map one-to-one onto paths below the root:
//
//	<root>/
//	  blobs/sha256/ab/abcdef…     committed files, named by their keys
//	  uploads/<uuid>/data
//	  .wharf~staging/             private; never a key ("~" is not allowed in keys)
//	    tmp/put-…, tmp/write-…    files being written, one per PutContent or
//	                              open FileWriter, each owned by its writer
//	    resume/<sha256(key)>      data a FileWriter left by Close, waiting for
//	                              Writer(key, appendTo=true)
//
// Every write lands in the staging directory first, is fsynced, renamed into
// place and its parent directory fsynced, so readers see the old or the new
// file and never a partial one, even after a crash. Staging inside the root
// keeps the rename on one filesystem. Empty directories are removed after a
// Delete or Move, because a prefix exists only while a file lies below it.
//
// A file cannot sit where a directory is needed (PutContent "a/b" when "a"
// is a file, or the reverse); such writes fail with wharf.Conflict. The
// registry's layout never asks for that.
package filesystem

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// stagingDir holds the driver's private state below the root. Its name is
// not a valid key segment, so no key can reach it and listings skip it.
const stagingDir = ".wharf~staging"

// Directories and files are their owner's alone: blobs are the layers of
// private repositories, and anyone else on the host goes through the API.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// installAttempts bounds how often install re-creates a parent directory
// that a concurrent Delete or Move pruned between MkdirAll and Rename.
const installAttempts = 5

// Driver stores keys as files below a root directory. It is safe for
// concurrent use, also by several processes sharing the root.
type Driver struct {
	root   string // absolute; the key tree
	tmp    string // files being written, each with a unique name
	resume string // data left by FileWriter.Close, named by the key's hash
	fsync  bool
}

// Options tune a Driver.
type Options struct {
	// Fsync makes every commit wait until the data and the rename are on
	// disk, so an acknowledged write survives a power failure. Without it
	// writes are still atomic (a crashed process never leaves a partial
	// file visible) but the last seconds of writes may be lost with the
	// machine's power — the trade CNCF Distribution and Quay make by
	// default, and several times faster on slow disks.
	Fsync bool
}

var _ storage.Driver = (*Driver)(nil)

// New returns a driver rooted at root, creating the root and its staging
// directory so that a bad path or permission fails at start-up.
func New(root string, opts Options) (*Driver, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("filesystem: root %q: %w", root, err)
	}
	d := &Driver{
		root:   abs,
		tmp:    filepath.Join(abs, stagingDir, "tmp"),
		resume: filepath.Join(abs, stagingDir, "resume"),
		fsync:  opts.Fsync,
	}
	for _, dir := range []string{d.tmp, d.resume} {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, fmt.Errorf("filesystem: create %s: %w", dir, err)
		}
	}
	return d, nil
}

// Name returns "filesystem".
func (d *Driver) Name() string { return "filesystem" }

// GetContent returns the file at key; NotFound if there is none.
func (d *Driver) GetContent(ctx context.Context, key string) ([]byte, error) {
	if err := check(ctx, "get", key); err != nil {
		return nil, err
	}
	f, size, err := d.open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Files are replaced by rename, never modified in place, so the open
	// file keeps the size we just saw.
	buf := make([]byte, size)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, wharf.Wrap(err, "filesystem: read "+key)
	}
	return buf, nil
}

// PutContent writes content to a staging file and renames it over key.
func (d *Driver) PutContent(ctx context.Context, key string, content []byte) error {
	if err := check(ctx, "put", key); err != nil {
		return err
	}
	name, f, err := d.createTemp("put")
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil && d.fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.install(name, key)
	}
	if err != nil {
		os.Remove(name)
		return wharf.Wrap(err, "filesystem: put "+key)
	}
	return nil
}

// Reader opens the file at key positioned at offset.
func (d *Driver) Reader(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	if err := check(ctx, "read", key); err != nil {
		return nil, err
	}
	f, size, err := d.open(key)
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > size {
		f.Close()
		return nil, wharf.Errorf(wharf.Invalid, "offset %d outside %s (size %d)", offset, key, size)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, wharf.Wrap(err, "filesystem: seek "+key)
		}
	}
	return &fileReader{ctx: ctx, f: f, remaining: size - offset}, nil
}

// Stat describes the file or directory at key.
func (d *Driver) Stat(ctx context.Context, key string) (storage.FileInfo, error) {
	if err := check(ctx, "stat", key); err != nil {
		return storage.FileInfo{}, err
	}
	fi, err := os.Stat(d.fullPath(key))
	if err != nil {
		return storage.FileInfo{}, pathError("stat", key, err)
	}
	info := storage.FileInfo{Path: key, ModTime: fi.ModTime(), IsDir: fi.IsDir()}
	if !fi.IsDir() {
		info.Size = fi.Size()
	}
	return info, nil
}

// List returns the children of prefix, skipping anything that is not a key
// (the staging directory, a mount point's lost+found).
func (d *Driver) List(ctx context.Context, prefix string) ([]string, error) {
	if err := storage.ValidPrefix(prefix); err != nil {
		return nil, err
	}
	if err := ctxErr(ctx, "list", prefix); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(d.fullPath(prefix))
	if err != nil {
		return nil, pathError("list", prefix, err)
	}
	keys := make([]string, 0, len(entries))
	for _, e := range entries {
		if storage.ValidSegment(e.Name()) {
			keys = append(keys, path.Join(prefix, e.Name()))
		}
	}
	if len(keys) == 0 && prefix != "" {
		return nil, storage.NotFoundError(prefix, nil)
	}
	return keys, nil
}

// Move renames the file at src over dst and prunes src's emptied parents.
func (d *Driver) Move(ctx context.Context, src, dst string) error {
	if err := storage.ValidPath(dst); err != nil {
		return err
	}
	if err := check(ctx, "move", src); err != nil {
		return err
	}
	from := d.fullPath(src)
	fi, err := os.Lstat(from)
	if err != nil {
		return pathError("move", src, err)
	}
	if !fi.Mode().IsRegular() {
		return storage.NotFoundError(src, errors.New("not a regular file"))
	}
	if src == dst {
		return nil
	}
	if err := d.install(from, dst); err != nil {
		if _, serr := os.Lstat(from); errors.Is(serr, fs.ErrNotExist) {
			return storage.NotFoundError(src, err) // lost a race with Delete or Move
		}
		return wharf.Wrap(err, "filesystem: move "+src+" to "+dst)
	}
	d.prune(filepath.Dir(from))
	return nil
}

// DeleteFiles removes the files at paths (storage.FilesDeleter), then
// prunes each emptied directory once: the collector calls it with
// hundreds of blobs spread over a few fan-out directories, and an rmdir
// per file that fails on a non-empty directory is most of the work (and
// of the journal traffic that slows pushes' own renames beside it).
// Missing files are not an error.
func (d *Driver) DeleteFiles(ctx context.Context, paths []string) error {
	dirs := map[string]bool{}
	for _, p := range paths {
		if err := check(ctx, "delete", p); err != nil {
			return err
		}
		full := d.fullPath(p)
		err := os.Remove(full)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return wharf.Wrap(err, "filesystem: delete "+p)
		}
		dirs[filepath.Dir(full)] = true
	}
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		d.prune(dir)
	}
	return nil
}

// Delete removes the file or directory tree at key.
func (d *Driver) Delete(ctx context.Context, key string) error {
	if err := check(ctx, "delete", key); err != nil {
		return err
	}
	full := d.fullPath(key)
	if _, err := os.Lstat(full); err != nil {
		return pathError("delete", key, err)
	}
	if err := os.RemoveAll(full); err != nil {
		return wharf.Wrap(err, "filesystem: delete "+key)
	}
	d.prune(filepath.Dir(full))
	return nil
}

// Walk visits every regular file below prefix, directory by directory.
func (d *Driver) Walk(ctx context.Context, prefix string, fn func(storage.FileInfo) error) error {
	if err := storage.ValidPrefix(prefix); err != nil {
		return err
	}
	top := d.fullPath(prefix)
	found := false
	err := filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == top {
				return pathError("walk", prefix, err)
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			}
			return wharf.Wrap(err, "filesystem: walk "+p)
		}
		if err := ctxErr(ctx, "walk", prefix); err != nil {
			return err
		}
		if p == top {
			if !e.IsDir() {
				return storage.NotFoundError(prefix, errors.New("a file has nothing below it"))
			}
			return nil
		}
		if !storage.ValidSegment(e.Name()) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil // descend into directories; ignore anything exotic
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return wharf.Wrap(err, "filesystem: walk "+p)
		}
		found = true
		return fn(storage.FileInfo{Path: d.key(p), Size: fi.Size(), ModTime: fi.ModTime()})
	})
	if err != nil {
		return err
	}
	if !found && prefix != "" {
		return storage.NotFoundError(prefix, nil)
	}
	return nil
}

// PurgeStaging removes staging files last written before cutoff: the
// leftovers of a process that crashed mid-write, and resumable data nobody
// resumed or cancelled. A writer idle since before cutoff loses its data
// too, so pick a cutoff far longer than any upload may pause (hours).
// It returns how many files it removed.
func (d *Driver) PurgeStaging(ctx context.Context, cutoff time.Time) (int, error) {
	removed := 0
	for _, dir := range []string{d.tmp, d.resume} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return removed, wharf.Wrap(err, "filesystem: purge staging")
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return removed, fmt.Errorf("filesystem: purge staging: %w", err)
			}
			fi, err := e.Info()
			if err != nil || !fi.ModTime().Before(cutoff) {
				continue // gone already, or still fresh
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
				removed++
			}
		}
	}
	return removed, nil
}

// fullPath maps a validated key (or "" for the root) to its path on disk.
func (d *Driver) fullPath(key string) string {
	return filepath.Join(d.root, filepath.FromSlash(key))
}

// key maps a path below the root back to its key.
func (d *Driver) key(p string) string {
	rel, _ := filepath.Rel(d.root, p)
	return filepath.ToSlash(rel)
}

// resumePath is where a closed, uncommitted writer for key leaves its data.
// Hashing the key gives one flat directory with bounded names, and keeps
// "a" and "a/b" from colliding as file and directory.
func (d *Driver) resumePath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(d.resume, hex.EncodeToString(sum[:]))
}

// open opens the regular file at key and returns its size.
func (d *Driver) open(key string) (*os.File, int64, error) {
	f, err := os.Open(d.fullPath(key))
	if err != nil {
		return nil, 0, pathError("open", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, wharf.Wrap(err, "filesystem: stat "+key)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, storage.NotFoundError(key, errors.New("not a regular file"))
	}
	return f, fi.Size(), nil
}

// createTemp creates a staging file with a name no other writer will pick.
func (d *Driver) createTemp(kind string) (string, *os.File, error) {
	name := d.tempName(kind)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return "", nil, wharf.Wrap(err, "filesystem: create staging file")
	}
	return name, f, nil
}

func (d *Driver) tempName(kind string) string {
	return filepath.Join(d.tmp, kind+"-"+rand.Text())
}

// install renames the staged file from to key's place, creating parent
// directories, and fsyncs the parent so the new name survives a crash.
func (d *Driver) install(from, key string) error {
	to := d.fullPath(key)
	parent := filepath.Dir(to)
	for attempt := 1; ; attempt++ {
		err := os.MkdirAll(parent, dirMode)
		if errors.Is(err, fs.ErrExist) && attempt < installAttempts {
			// MkdirAll lost a race with a concurrent prune (the directory
			// existed, then vanished before MkdirAll looked again): unless a
			// file really stands where a directory must, try again.
			if fi, serr := os.Lstat(parent); serr != nil || fi.IsDir() {
				continue
			}
		}
		if err == nil {
			err = os.Rename(from, to)
		}
		if err == nil {
			if !d.fsync {
				return nil
			}
			return syncDir(parent)
		}
		// A concurrent Delete or Move may prune parent between MkdirAll and
		// Rename; if our file is still there, make the directory again.
		if attempt < installAttempts && errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Lstat(from); serr == nil {
				continue
			}
		}
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
			errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
			return &wharf.Error{Code: wharf.Conflict,
				Message: "storage path collides with a file or prefix: " + key, Err: err}
		}
		return err
	}
}

// prune removes dir and its ancestors below the root while they are empty;
// rmdir refuses a non-empty directory, which ends the climb. (Not
// os.Remove: it tries unlink first, a second failing call per level.)
func (d *Driver) prune(dir string) {
	for len(dir) > len(d.root) {
		if syscall.Rmdir(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// check validates key and ctx, the preamble of every single-key method.
func check(ctx context.Context, op, key string) error {
	if err := storage.ValidPath(key); err != nil {
		return err
	}
	return ctxErr(ctx, op, key)
}

func ctxErr(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filesystem: %s %s: %w", op, key, err)
	}
	return nil
}

// pathError translates an os error about key into the driver contract. A
// missing file, or a file where a directory was expected (ENOTDIR, as in
// "a/b" when "a" is a file), is NotFound; anything else is Internal.
func pathError(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return storage.NotFoundError(key, err)
	}
	return wharf.Wrap(err, "filesystem: "+op+" "+key)
}
