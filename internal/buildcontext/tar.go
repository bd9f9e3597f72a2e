package buildcontext

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// tar unpacks a tar stream entry by entry; nothing is buffered beyond
// archive/tar's own header parsing, which holds at most 1 MiB of one
// entry's PAX records or long name at a time.
func (w *writer) tar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		// ErrInsecurePath (with GODEBUG=tarinsecurepath=0) only reports what
		// add checks itself and refuses with a clearer message.
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return err
		}
		e := entry{name: hdr.Name, mode: fs.FileMode(hdr.Mode), size: hdr.Size, link: hdr.Linkname, mtime: hdr.ModTime, body: tr,
			attrs: PAXBytes(hdr.PAXRecords)}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse:
			e.kind = kindFile
		case tar.TypeDir:
			e.kind = kindDir
		case tar.TypeSymlink:
			e.kind = kindSymlink
		case tar.TypeLink:
			e.kind = kindHardlink
		case tar.TypeXGlobalHeader:
			// PAX metadata for the entries that follow; counted all the same,
			// so that a stream of them is bounded too.
			if err := w.count(e); err != nil {
				return err
			}
			continue
		case tar.TypeChar:
			return &UnsafeError{Entry: hdr.Name, Reason: "is a character device"}
		case tar.TypeBlock:
			return &UnsafeError{Entry: hdr.Name, Reason: "is a block device"}
		case tar.TypeFifo:
			return &UnsafeError{Entry: hdr.Name, Reason: "is a FIFO"}
		default:
			return &UnsafeError{Entry: hdr.Name, Reason: fmt.Sprintf("has the unsupported tar type %q", hdr.Typeflag)}
		}
		if err := w.add(e); err != nil {
			return err
		}
	}
}

// PAXBytes is what the PAX records of a tar entry count against
// MaxEntryAttrBytes: their keys and values together. archive/tar reports
// every record an entry carries, long names and extended attributes
// included.
func PAXBytes(records map[string]string) int {
	n := 0
	for k, v := range records {
		n += len(k) + len(v)
	}
	return n
}
