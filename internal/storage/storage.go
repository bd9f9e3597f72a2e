// Package storage defines the blob storage contract that every backend
// (filesystem/, later s3/) implements, and the key rules they all share.
//
// A Driver is deliberately thin: it stores bytes under opaque,
// slash-separated keys and knows nothing about blobs, manifests, uploads or
// repositories. The registry owns the layout and every algorithm above it
// (digest checks, resumable uploads, garbage collection), so that algorithm is
// written once and each driver stays small (the zot model). Every driver must
// pass the one conformance suite in storagetest (the CNCF Distribution
// model), and its own test file only constructs it.
//
// Keys look like paths, but a "directory" exists only while some file lies
// below it; there are no empty directories and no directory metadata. The
// registry's layout, for orientation only (the driver never interprets it):
//
//	blobs/
//	  sha256/
//	    ab/
//	      abcdef0123…        blob content, named by its digest; written once
//	uploads/
//	  <uuid>/
//	    data                 an upload in progress: a FileWriter appends to it
//	                         across PATCH requests; once committed and its
//	                         digest verified, Move takes it to blobs/
//	    startedat            small metadata, PutContent/GetContent
//
// Key rules (ValidPath): non-empty, relative (no leading "/"), no empty, "."
// or ".." segments, and only the characters [A-Za-z0-9._-] and "/". Keys that
// break them are rejected with wharf.Invalid before any I/O, so no driver
// ever has to defend against path traversal on its own. Because "~", "+"
// and "#" can never appear in a key, a driver may keep private state under
// such names (the filesystem driver stages uploads in ".wharf~staging").
//
// Uploads fit S3 multipart uploads: Writer streams data of unknown length,
// data written through a FileWriter is invisible until Commit, Commit makes
// the whole object appear at once, Close without Commit keeps the data for a
// later Writer(…, appendTo=true), and Cancel discards it.
package storage

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Driver stores and retrieves bytes under keys. Implementations must be safe
// for concurrent use; operations on one key are atomic: a reader sees either
// the old or the new content, never a mix.
//
// Every method validates its keys with ValidPath (List and Walk with
// ValidPrefix) and returns wharf.Invalid for a bad key. Errors other than the
// ones listed carry wharf.Internal, except that a done ctx yields an error
// that wraps ctx.Err().
type Driver interface {
	// Name identifies the driver in logs and configuration, e.g. "filesystem".
	Name() string

	// GetContent returns the whole content at path. It is meant for small
	// objects (metadata, manifests); stream large ones with Reader.
	// Errors: NotFound if no file is at path (a prefix is not a file).
	GetContent(ctx context.Context, path string) ([]byte, error)

	// PutContent stores content at path, atomically replacing any file that
	// was there: concurrent readers and writers see one whole version.
	PutContent(ctx context.Context, path string, content []byte) error

	// Reader streams the file at path starting at byte offset. An offset
	// equal to the size yields an empty stream. The stream stops with
	// ctx.Err() once ctx is done.
	// Errors: NotFound if no file is at path; Invalid if offset is negative
	// or past the end.
	Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error)

	// Writer returns a FileWriter for path. With appendTo false it starts
	// empty and discards any uncommitted data left at path; with appendTo
	// true it resumes the data a previous writer for path left by Close.
	// Committed content at path is never appended to. Writes fail once ctx
	// is done. Only one writer per path may be open at a time; the registry
	// ensures that (one request per upload at a time).
	// Errors: NotFound if appendTo is true and there is nothing to resume.
	Writer(ctx context.Context, path string, appendTo bool) (FileWriter, error)

	// Stat describes the file or prefix at path.
	// Errors: NotFound if there is neither a file at path nor one below it.
	Stat(ctx context.Context, path string) (FileInfo, error)

	// List returns the keys of the direct children of prefix, files and
	// prefixes alike, sorted. The prefix "" lists the top level and is never
	// NotFound.
	// Errors: NotFound if no file lies below prefix (a file has no children).
	List(ctx context.Context, prefix string) ([]string, error)

	// Move renames the file at src to dst, replacing any file at dst: dst
	// changes in one step from its old content to src's, then src is gone.
	// (An object store does the two steps separately; a crash between them
	// may leave both.) It moves single files only.
	// Errors: NotFound if no file is at src (a prefix is not a file).
	Move(ctx context.Context, src, dst string) error

	// Delete removes the file at path, or everything below path if it is a
	// prefix.
	// Errors: NotFound if there is nothing at path.
	Delete(ctx context.Context, path string) error

	// Walk calls fn for every committed file below prefix, in no particular
	// order; the prefix "" walks everything. Walk stops at the first error
	// from fn and returns it unchanged. Files added or removed during the
	// walk may or may not be seen.
	// Errors: NotFound if no file lies below a non-empty prefix.
	Walk(ctx context.Context, prefix string, fn func(FileInfo) error) error
}

// FilesDeleter is implemented by drivers that remove many files in one
// call (S3's DeleteObjects); the garbage collector uses it when present.
type FilesDeleter interface {
	// DeleteFiles removes the files at paths (files only, not prefixes).
	// A path with no file is not an error.
	DeleteFiles(ctx context.Context, paths []string) error
}

// FileInfo describes a file or a prefix.
type FileInfo struct {
	// Path is the key, as passed to Stat or found by Walk.
	Path string
	// Size is the length of a file in bytes; 0 for a prefix.
	Size int64
	// ModTime is when the file's content was last written, which for
	// uploads is about when it was committed; drivers may report the zero
	// time for prefixes.
	ModTime time.Time
	// IsDir reports a prefix: a key with files below it.
	IsDir bool
}

// FileWriter writes one file out of sight: nothing written is visible to GetContent, Reader, Stat, List or Walk until Commit.
// A FileWriter is not safe for concurrent use.
//
// Exactly one of Commit, Close or Cancel finishes a writer. Close on a
// finished writer returns nil, so `defer w.Close()` is always safe, and so
// does Cancel on a cancelled one (a failed Commit counts as cancelled). Any
// other call on a finished writer returns an Internal error.
type FileWriter interface {
	// Write appends p. It returns an error wrapping ctx.Err() once the
	// context passed to Writer is done.
	io.Writer

	// Close stops writing but keeps the data, so that
	// Driver.Writer(ctx, path, true) can resume it later.
	io.Closer

	// Size returns the number of bytes in the file so far, including any
	// resumed data; after Commit it is the size of the committed file.
	Size() int64

	// Cancel discards the data written so far.
	Cancel(ctx context.Context) error

	// Commit makes the data visible at the writer's path in one step,
	// replacing any file there. If Commit fails the data is discarded.
	Commit(ctx context.Context) error
}

// ValidPath reports whether path is a well-formed key (see the package
// documentation); if not, it returns an error with code wharf.Invalid.
func ValidPath(path string) error {
	if path == "" {
		return wharf.Errorf(wharf.Invalid, "storage path is empty")
	}
	for _, seg := range strings.Split(path, "/") {
		if !ValidSegment(seg) {
			return wharf.Errorf(wharf.Invalid, "invalid storage path %q", path)
		}
	}
	return nil
}

// ValidPrefix is ValidPath that also accepts "", the top of the key space,
// for List and Walk.
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidPath(prefix)
}

// ValidSegment reports whether seg can be one slash-separated part of a key.
// Drivers use it to skip foreign entries (such as a filesystem's lost+found)
// and their own private state when they list a backend.
func ValidSegment(seg string) bool {
	if seg == "" || seg == "." || seg == ".." {
		return false
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// NotFoundError returns the wharf.NotFound error every driver reports for a
// missing key, keeping the backend's cause for the log.
func NotFoundError(path string, cause error) error {
	return &wharf.Error{Code: wharf.NotFound, Message: "storage path not found: " + path, Err: cause}
}
