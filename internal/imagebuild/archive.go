package imagebuild

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Magic numbers of the compressions ADD recognises.
var (
	gzipMagic  = []byte{0x1f, 0x8b}
	bzip2Magic = []byte("BZh")
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// addArchive unpacks context file p into dest if it is a tar archive,
// plain or compressed with gzip or bzip2, and reports whether it was.
// Like Docker, ADD copies anything else (a .gz that holds no tar, say) as
// a file.
func addArchive(w *layerWriter, root *os.Root, p, dest string) (bool, error) {
	f, err := root.Open(filepath.FromSlash(p))
	if err != nil {
		return false, err
	}
	defer f.Close()
	tr, err := openArchive(f)
	if tr == nil || err != nil {
		return false, err
	}
	if _, err := w.dir(dest, nil); err != nil {
		return true, err
	}
	return true, unpack(w, tr, "archive "+p, dest)
}

// openArchive returns a tar reader for r if r holds a tar archive, plain
// or compressed; nil if it holds something else.
func openArchive(r io.Reader) (*tar.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(len(xzMagic))
	var data io.Reader = br
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil
		}
		data = zr
	case bytes.HasPrefix(magic, bzip2Magic):
		data = bzip2.NewReader(br)
	case bytes.HasPrefix(magic, xzMagic):
		// Docker would unpack it; copying it as a file would quietly
		// build something else.
		return nil, errors.New("xz-compressed archives are not supported by the built-in executor")
	}
	tbr := bufio.NewReader(data)
	block, err := tbr.Peek(512)
	if err != nil || !isTarHeader(block) {
		return nil, nil
	}
	return tar.NewReader(tbr), nil
}

// isTarHeader reports whether block is a tar header: its checksum field
// matches the sum of its bytes, which holds for every tar format,
// including pre-POSIX ones without the "ustar" magic.
func isTarHeader(block []byte) bool {
	field := strings.Trim(string(block[148:156]), " \x00")
	want, err := strconv.ParseInt(field, 8, 64)
	if err != nil {
		return false
	}
	var unsigned, signed int64
	for i, c := range block[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// unpack writes the entries of tr, the archive src names, below dest.
// Names are cleaned as if rooted, so ../ cannot climb out of dest.
// Ownership, modes and mtimes come from the archive (unless --chown), as
// with tar -x: root file systems shipped as tarballs depend on it. Each
// entry is checked against the per-entry limits before it is used, and
// counts against the build's budget.
func unpack(w *layerWriter, tr *tar.Reader, src, dest string) error {
	placed := map[string]string{} // archive name → where it landed
	kept := tally{mem: &w.budget.mem}
	defer kept.release()
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", src, err)
		}
		if err := w.budget.read(src, hdr); err != nil {
			return err
		}
		name := path.Clean("/" + hdr.Name)
		target := path.Join(dest, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			_, err = w.dir(target, hdr)
		case tar.TypeReg, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			var dst string
			if dst, err = w.file(target, hdr, tr); err == nil {
				err = place(placed, &kept, name, dst)
			}
		case tar.TypeLink:
			dst, ok := placed[path.Clean("/"+hdr.Linkname)]
			if !ok {
				return fmt.Errorf("archive entry %s links to %s, which is not before it in the archive", hdr.Name, hdr.Linkname)
			}
			err = w.link(target, dst, hdr)
		default:
			// Other types (global PAX headers and the like) carry no
			// file, but a stream of them must end too.
			err = w.budget.entry()
		}
		if err != nil {
			return err
		}
	}
}

// place records in placed that archive entry name landed at dst,
// counting what the map keeps.
func place(placed map[string]string, kept *tally, name, dst string) error {
	old, ok := placed[name]
	cost := int64(len(dst) - len(old))
	if !ok {
		cost += seenCost + int64(len(name))
	}
	if err := kept.take(cost); err != nil {
		return err
	}
	placed[name] = dst
	return nil
}

// addURL downloads u through Options.Fetch into the layer: at dest, or
// into it under the URL's last path segment. The download is spooled to
// ScratchDir first because a tar header needs the size.
func (s *stage) addURL(ctx context.Context, w *layerWriter, u, dest string, destDir bool) error {
	if s.b.opts.Fetch == nil {
		return fmt.Errorf("ADD %s: downloading URLs is not allowed for this build", u)
	}
	if destDir {
		parsed, err := url.Parse(u)
		if err != nil {
			return err
		}
		name := path.Base(parsed.Path)
		if name == "/" || name == "." {
			return fmt.Errorf("ADD %s: cannot name the file after the URL; give a destination file name", u)
		}
		dest = path.Join(dest, name)
	}
	rc, err := s.b.opts.Fetch(ctx, u)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", u, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(s.b.opts.ScratchDir, "add-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	// The spool stops one byte past what the build may still write, so
	// that a download over the budget is refused by put below without
	// filling the disk first.
	var body io.Reader = ctxReader{ctx, rc}
	if limit := s.b.opts.MaxLayerBytes; limit > 0 {
		body = io.LimitReader(body, max(0, limit-s.b.budget.layerBytes)+1)
	}
	n, err := io.Copy(tmp, body)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", u, err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// Docker gives downloaded files mode 0600.
	hdr := &tar.Header{Typeflag: tar.TypeReg, Mode: 0o600, Size: n, ModTime: s.b.now()}
	_, err = w.file(dest, hdr, tmp)
	return err
}
