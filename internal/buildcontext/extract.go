// Package buildcontext unpacks the build context a user uploads for a
// build: a tar, gzip-compressed tar or zip archive, or a bare Dockerfile.
//
// The upload is hostile input. An archive may name entries outside the
// directory it is unpacked into ("../x", "/etc/cron.d/x"), plant a symlink
// and then write through it, hard-link a file of the host, carry device
// nodes, or expand from a few kilobytes to terabytes (a "zip bomb").
// Extract defends in layers:
//
//   - every write goes through an [os.Root] opened on the destination, so
//     the kernel-backed root check refuses any path that leaves it, even one
//     that becomes a symlink between a check and the write;
//   - before that, each entry is checked lexically so that the user gets a
//     clear refusal naming the entry instead of a system error;
//   - symlinks are only created when they resolve inside the destination
//     from where they really are, so the extracted tree is safe for the
//     builder to read as well;
//   - the bytes read from the upload, the bytes written, the number of
//     entries and the bytes of their names, link targets and attributes
//     are counted while streaming, so a bomb stops at its limit; each
//     entry's name, link target and attributes are bounded on their own
//     (MaxNameBytes, MaxEntryAttrBytes) before anything of it is kept.
//
// Refusals are *UnsafeError values and corrupt archives are wharf.Invalid
// errors; both reach the user as HTTP 400. Failures of the host (a full
// disk) are wharf.Internal.
package buildcontext

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Format is the kind of upload Extract found.
type Format string

// Formats Extract recognises by their first bytes.
const (
	FormatTar        Format = "tar"
	FormatTarGz      Format = "tar.gz"
	FormatZip        Format = "zip"
	FormatDockerfile Format = "dockerfile"
)

// Limits of one archive entry, in every archive a build reads: the build
// context here, and the archives ADD unpacks and the base images' layers
// in imagebuild.
const (
	// MaxNameBytes bounds an entry's name and its link target: PATH_MAX
	// on Linux, so no entry a real filesystem produced is refused.
	MaxNameBytes = 4 << 10
	// MaxEntryAttrBytes bounds the attribute bytes of one entry: its PAX
	// records (extended attributes, long names and the like), keys and
	// values together, or a zip entry's extra fields and comment. 64 KiB
	// is what Linux allows for one extended attribute (XATTR_SIZE_MAX)
	// and for the list of a file's attribute names (XATTR_LIST_MAX).
	MaxEntryAttrBytes = 64 << 10
)

// Limits bound what one build context may cost. A zero or negative field
// takes its value from DefaultLimits.
type Limits struct {
	// MaxBytes bounds the total size of the regular files written.
	MaxBytes int64
	// MaxFiles bounds the number of archive entries of every type.
	MaxFiles int
	// MaxCompressedBytes bounds the bytes read from the upload itself.
	MaxCompressedBytes int64
	// MaxHeaderBytes bounds the names, link targets and attribute bytes
	// (see MaxEntryAttrBytes) of all entries together, and the central
	// directory a zip archive holds in memory while it is unpacked. The
	// names of the files and directories written are kept until Extract
	// returns, so this also bounds that memory.
	MaxHeaderBytes int64
}

// DefaultLimits returns 1 GiB of files, 100,000 entries, 1 GiB of upload
// and 64 MiB of names and attributes: 100,000 entries with 200-byte paths
// and a few extended attributes each take a third of it.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 1 << 30, MaxFiles: 100_000, MaxCompressedBytes: 1 << 30, MaxHeaderBytes: 64 << 20}
}

func (l Limits) orDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxCompressedBytes <= 0 {
		l.MaxCompressedBytes = d.MaxCompressedBytes
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return l
}

// UnsafeError is a build context refused because an entry could harm the
// host or because the context breaks a limit. Entry is the entry's name as
// written in the archive, "" when the refusal concerns the whole context.
type UnsafeError struct {
	Entry  string
	Reason string
}

func (e *UnsafeError) Error() string {
	if e.Entry == "" {
		return "build context " + e.Reason
	}
	return fmt.Sprintf("build context entry %q %s", clip(e.Entry), e.Reason)
}

// clip shortens a name for a message: an entry refused for its length
// should not put kilobytes of it in the build's error.
func clip(name string) string {
	const max = 200
	if len(name) <= max {
		return name
	}
	return strings.ToValidUTF8(name[:max], "") + "..."
}

// Unwrap returns a wharf.Invalid error carrying the same message, so that
// transports answer 400 and show the user which entry was refused.
func (e *UnsafeError) Unwrap() error {
	return &wharf.Error{Code: wharf.Invalid, Message: e.Error()}
}

// Extract unpacks the upload read from r into the directory dest, which
// should be empty. A missing dest is created with mode 0700, so that no
// other local user can reach into the context whatever its entries' modes.
// Extract recognises the format by the first bytes (see Format); any other
// input that is UTF-8 text without NUL bytes is taken as a bare Dockerfile
// and written to dest/Dockerfile.
//
// A zip archive needs random access, so it is first spooled to a temporary
// file in dest that is unlinked as soon as it is created; the spool counts
// against MaxCompressedBytes and needs that much room on dest's disk.
//
// Extract stops at the first refused entry, at the first broken limit and
// when ctx is done, checking ctx between reads of r (close r to interrupt a
// read that blocks). It then returns the format found so far and the error,
// and dest may hold part of the context: the caller removes dest.
func Extract(ctx context.Context, r io.Reader, dest string, lim Limits) (Format, error) {
	lim = lim.orDefaults()
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return "", wharf.Wrap(err, "create build context directory")
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return "", wharf.Wrap(err, "open build context directory")
	}
	defer root.Close()

	in := bufio.NewReaderSize(&meter{ctx: ctx, r: r, max: lim.MaxCompressedBytes}, 64<<10)
	// 512 bytes cover the tar magic at offset 257 and enough text to tell a
	// Dockerfile from binary data.
	head, err := in.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	w := newWriter(ctx, root, lim)
	var format Format
	switch {
	case len(head) == 0:
		return "", &UnsafeError{Reason: "is empty"}
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		format = FormatTarGz
		err = w.tarGz(in)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		format = FormatZip
		err = w.zip(in, dest)
	case len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar")):
		format = FormatTar
		err = w.tar(in)
	case (&textReader{}).check(head, false) == nil:
		format = FormatDockerfile
		err = w.add(entry{name: "Dockerfile", kind: kindFile, mode: 0o644, size: -1, body: &textReader{r: in}})
	default:
		return "", notContext()
	}
	if err == nil {
		err = w.finish()
	}
	return format, archiveError(format, err)
}

// notContext refuses an upload of no format Extract knows.
func notContext() error {
	return &UnsafeError{Reason: "is neither a tar, tar.gz or zip archive nor a text Dockerfile"}
}

// tarGz unpacks a gzip-compressed tar; gzip's own multi-stream support
// takes concatenated members as one stream, as GNU tar does.
func (w *writer) tarGz(in io.Reader) error {
	zr, err := gzip.NewReader(in)
	if err != nil {
		return err
	}
	return w.tar(zr)
}

// archiveError classifies err: refusals, cancellation and errors already
// classified pass unchanged; anything else came from a decoder reading
// malformed or truncated input and is the user's fault.
func archiveError(format Format, err error) error {
	var unsafe *UnsafeError
	var coded *wharf.Error
	switch {
	case err == nil, errors.As(err, &unsafe), errors.As(err, &coded),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case format == FormatDockerfile:
		return &wharf.Error{Code: wharf.Invalid, Message: "build context upload could not be read", Err: err}
	}
	return &wharf.Error{Code: wharf.Invalid, Message: fmt.Sprintf("build context is not a valid %s archive", format), Err: err}
}

// meter counts the bytes read from the upload, refusing past max, and
// stops reading once ctx is done. It sits under every decoder, so a bomb
// is stopped by the compressed bytes it needs as well as by what it writes.
type meter struct {
	ctx context.Context
	r   io.Reader
	n   int64
	max int64
}

func (m *meter) Read(p []byte) (int, error) {
	if err := m.ctx.Err(); err != nil {
		return 0, err
	}
	if m.n > m.max {
		return 0, m.tooLarge()
	}
	// Read at most one byte past the limit: enough to know it is broken.
	if rest := m.max - m.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	if m.n > m.max {
		return 0, m.tooLarge()
	}
	return n, err
}

func (m *meter) tooLarge() error {
	return &UnsafeError{Reason: fmt.Sprintf("upload is larger than the %s limit", size(m.max))}
}

// textReader passes a bare Dockerfile through, refusing it as soon as it
// shows a NUL byte or invalid UTF-8, so that binary uploads of an unknown
// format are not stored as a Dockerfile.
type textReader struct {
	r io.Reader
	// carry holds the start of a UTF-8 sequence cut by the end of a read.
	carry []byte
}

func (t *textReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if cerr := t.check(p[:n], errors.Is(err, io.EOF)); cerr != nil {
		return 0, cerr
	}
	return n, err
}

// check validates the next chunk of text; at the end (last) no cut
// sequence may remain.
func (t *textReader) check(p []byte, last bool) error {
	if bytes.IndexByte(p, 0) >= 0 {
		return notContext()
	}
	b := append(t.carry[:len(t.carry):len(t.carry)], p...)
	end := len(b)
	// Find the start of the last rune; if it is cut, keep it for later.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !last && !utf8.FullRune(b[i:]) {
				end = i
			}
			break
		}
	}
	if !utf8.Valid(b[:end]) {
		return notContext()
	}
	t.carry = append(t.carry[:0], b[end:]...)
	return nil
}

// size formats a limit for a message: "1 GiB", "64 KiB", "1000 bytes".
func size(n int64) string {
	for _, u := range []struct {
		unit  string
		bytes int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.bytes && n%u.bytes == 0 {
			return fmt.Sprintf("%d %s", n/u.bytes, u.unit)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
