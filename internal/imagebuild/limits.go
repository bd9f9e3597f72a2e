package imagebuild

import (
	"archive/tar"
	"errors"
	"fmt"
	"strings"

	"github.com/wharf-registry/wharf/internal/buildcontext"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Limits bounds what one build may take from the archives it reads (the
// archives ADD unpacks, the layers of its base images) and put into its
// new layers, besides Options.MaxLayerBytes. A zero field takes its value
// from DefaultLimits. Every entry of those archives also meets the
// per-entry limits of the build context, buildcontext.MaxNameBytes for its
// name and link target and buildcontext.MaxEntryAttrBytes for its PAX
// records, before anything of it is kept.
type Limits struct {
	// MaxEntries bounds the entries the build writes to its new layers
	// (the parent directories it adds included) together with the entries
	// of ADD archives that write nothing, such as global PAX headers.
	MaxEntries int
	// MaxAttrBytes bounds the extended attributes (SCHILY.xattr PAX
	// records, keys and values) the build's new layers hold together.
	MaxAttrBytes int64
	// MaxHeaderBytes bounds the names, link targets and PAX records of
	// all the entries the build reads from ADD archives and base images'
	// layers (each time it reads them), whether they write anything or
	// not: reading them is the build's work.
	MaxHeaderBytes int64
	// MaxImageEntries bounds the entries of one read of a base image's
	// layers, all layers together, shadowed and deleted entries included.
	MaxImageEntries int
	// MaxIndexBytes bounds the memory the build keeps about filesystems:
	// the index of each stage and of each COPY --from source (paths, link
	// targets, directories' metadata and attributes, /etc/passwd and
	// /etc/group), and what it remembers while it reads an image or an
	// archive (the paths seen, where each file landed). Each entry counts
	// an estimate of what Go's maps take for it besides its strings.
	MaxIndexBytes int64
}

// DefaultLimits returns 1,000,000 entries (ten contexts of the largest
// size buildcontext.DefaultLimits allows), 64 MiB of extended attributes
// (an SELinux label on each of those entries), 1 GiB of headers read
// (a base image of 300,000 files read a dozen times), 2,000,000 entries
// in an image's layers (real distributions hold well under this) and
// 96 MiB of index: enough for a base image of some 340,000 files with
// 50-byte paths, or 200,000 when a stage built on it also copies from it
// with COPY --from (an index costs some 180 bytes a file, and reading it
// some 110 more). With Go's collector letting the heap grow to twice what
// is live, a build then stays under 256 MiB of heap, whatever its
// archives hold (TestBuildHeapBounded).
func DefaultLimits() Limits {
	return Limits{MaxEntries: 1_000_000, MaxAttrBytes: 64 << 20, MaxHeaderBytes: 1 << 30, MaxImageEntries: 2_000_000, MaxIndexBytes: 96 << 20}
}

func (l Limits) orDefaults() Limits {
	d := DefaultLimits()
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxAttrBytes <= 0 {
		l.MaxAttrBytes = d.MaxAttrBytes
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxImageEntries <= 0 {
		l.MaxImageEntries = d.MaxImageEntries
	}
	if l.MaxIndexBytes <= 0 {
		l.MaxIndexBytes = d.MaxIndexBytes
	}
	return l
}

// What the index keeps for an entry besides its strings, estimated from
// Go's maps at their emptiest (a map holds 8-slot groups and doubles as it
// grows): a slot of a map keyed by path holding a node, and of one holding
// a bool or a string.
const (
	nodeCost = 128
	seenCost = 64
)

// budget is what one build may still take. It is counted as the build
// reads archives and writes layers, so the build fails with wharf.Invalid
// at the entry that breaks a limit, before it keeps anything of it.
type budget struct {
	lim           Limits
	maxLayerBytes int64 // Options.MaxLayerBytes; 0: none
	layerBytes    int64 // file, name and attribute bytes of the new layers
	entries       int
	attrBytes     int64
	headerBytes   int64 // of the entries read from archives and images
	mem           memory
}

func newBudget(lim Limits, maxLayerBytes int64) *budget {
	lim = lim.orDefaults()
	return &budget{lim: lim, maxLayerBytes: maxLayerBytes, mem: memory{max: lim.MaxIndexBytes}}
}

// entry counts one more entry against MaxEntries.
func (b *budget) entry() error {
	if b.entries++; b.entries > b.lim.MaxEntries {
		return limitf("the build would write more than %d entries to its layers (including those of the archives ADD unpacks)", b.lim.MaxEntries)
	}
	return nil
}

// layer counts n more bytes of the new layers against MaxLayerBytes.
func (b *budget) layer(n int64) error {
	if b.layerBytes += n; b.maxLayerBytes > 0 && b.layerBytes > b.maxLayerBytes {
		return limitf("the build's new layers would hold more than %d bytes", b.maxLayerBytes)
	}
	return nil
}

// attrs counts n more bytes of extended attributes against MaxAttrBytes.
func (b *budget) attrs(n int64) error {
	if b.attrBytes += n; b.attrBytes > b.lim.MaxAttrBytes {
		return limitf("the build's new layers would hold more than %s of extended attributes", mib(b.lim.MaxAttrBytes))
	}
	return nil
}

// memory counts the bytes a build keeps about filesystem entries, for as
// long as it keeps them, against MaxIndexBytes.
type memory struct{ used, max int64 }

// tally is what one structure took from a build's memory, so that it can
// give it all back when it is dropped.
type tally struct {
	mem  *memory
	held int64
}

// take counts n more bytes kept (fewer, if n is negative), refusing to
// keep more than the build's memory allows.
func (t *tally) take(n int64) error {
	if n > 0 && t.mem.used+n > t.mem.max {
		return limitf("the build would keep more than %s in memory about the filesystems it reads (too many entries, or too long names); the built-in executor stops there", mib(t.mem.max))
	}
	t.mem.used += n
	t.held += n
	return nil
}

// release gives back everything taken.
func (t *tally) release() {
	t.mem.used -= t.held
	t.held = 0
}

// limitError is a build refused because it broke one of its limits. It
// unwraps to a wharf.Invalid error with the same message, and Build turns
// it into one that carries the whole text, line and instruction included:
// transports show only a wharf.Error's Message.
type limitError struct{ msg string }

func limitf(format string, args ...any) error {
	return &limitError{msg: fmt.Sprintf(format, args...)}
}

func (e *limitError) Error() string { return e.msg }

func (e *limitError) Unwrap() error { return &wharf.Error{Code: wharf.Invalid, Message: e.msg} }

// invalidIfLimit returns err as a wharf.Invalid error showing all of its
// text if a limit refused the build, unchanged otherwise. The text is the
// whole error, so it keeps no cause to log besides.
func invalidIfLimit(err error) error {
	var le *limitError
	if errors.As(err, &le) {
		return wharf.Errorf(wharf.Invalid, "%s", err.Error())
	}
	return err
}

// mib formats a limit of n bytes for a message.
func mib(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// read checks an entry of the archive src names against the per-entry
// limits, and counts its names and PAX records against MaxHeaderBytes,
// before anything of it is kept.
func (b *budget) read(src string, hdr *tar.Header) error {
	const clip = 200 // of a name in a message
	name := hdr.Name
	if len(name) > clip {
		name = strings.ToValidUTF8(name[:clip], "") + "..."
	}
	pax := buildcontext.PAXBytes(hdr.PAXRecords)
	switch {
	case len(hdr.Name) > buildcontext.MaxNameBytes:
		return limitf("%s: entry %q has a name longer than %d bytes", src, name, buildcontext.MaxNameBytes)
	case len(hdr.Linkname) > buildcontext.MaxNameBytes:
		return limitf("%s: entry %q has a link target longer than %d bytes", src, name, buildcontext.MaxNameBytes)
	case pax > buildcontext.MaxEntryAttrBytes:
		return limitf("%s: entry %q has %d bytes of attributes (PAX records, extended attributes), more than the %d allowed per entry", src, name, pax, buildcontext.MaxEntryAttrBytes)
	}
	if b.headerBytes += int64(len(hdr.Name) + len(hdr.Linkname) + pax); b.headerBytes > b.lim.MaxHeaderBytes {
		return limitf("the build would read more than %s of entry names, link targets and PAX records from its archives and base images", mib(b.lim.MaxHeaderBytes))
	}
	return nil
}
