package buildcontext_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// This file builds archives in memory and inspects extracted trees; the
// tests themselves are in extract_test.go.

// member is one tar entry to write.
type member struct {
	hdr  tar.Header
	body string
}

var testTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func file(name, body string) member {
	return fileMode(name, body, 0o644)
}

func fileMode(name, body string, mode int64) member {
	return member{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: testTime}, body: body}
}

func dir(name string, mode int64) member {
	return member{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: testTime}}
}

func symlink(name, target string) member {
	return member{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) member {
	return member{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644}}
}

// withPAX adds a PAX record to m.
func withPAX(m member, key, value string) member {
	if m.hdr.PAXRecords == nil {
		m.hdr.PAXRecords = map[string]string{}
	}
	m.hdr.PAXRecords[key] = value
	m.hdr.Format = tar.FormatPAX
	return m
}

// globalPAX is a global PAX header carrying one record.
func globalPAX(key, value string) member {
	return member{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "global", PAXRecords: map[string]string{key: value}, Format: tar.FormatPAX}}
}

func special(name string, typ byte) member {
	return member{hdr: tar.Header{Typeflag: typ, Name: name, Mode: 0o600, Devmajor: 1, Devminor: 3}}
}

func tarball(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		if err := tw.WriteHeader(&m.hdr); err != nil {
			t.Fatalf("tar header %q: %v", m.hdr.Name, err)
		}
		if _, err := io.WriteString(tw, m.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipMember is one zip entry; a symlink's body is its target.
type zipMember struct {
	name    string
	body    string
	mode    fs.FileMode
	comment string
}

func zipball(t testing.TB, members ...zipMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: testTime, Comment: m.comment}
		h.SetMode(m.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, m.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sandbox is a fresh parent directory holding the destination "ctx" and a
// directory "outside" that archives aim at; nothing else may appear in it.
type sandbox struct {
	parent, dest, outside string
}

func newSandbox(t testing.TB) sandbox {
	t.Helper()
	parent := t.TempDir()
	s := sandbox{parent: parent, dest: filepath.Join(parent, "ctx"), outside: filepath.Join(parent, "outside")}
	if err := os.Mkdir(s.outside, 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkContained fails unless the parent holds only ctx and an empty
// outside.
func (s sandbox) checkContained(t testing.TB) {
	t.Helper()
	if got := names(t, s.parent); !slices.Equal(got, []string{"ctx", "outside"}) && !slices.Equal(got, []string{"outside"}) {
		t.Errorf("parent holds %v, want only ctx and outside", got)
	}
	if got := names(t, s.outside); len(got) != 0 {
		t.Errorf("outside holds %v, want nothing", got)
	}
}

func names(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// tree describes every path under dir: "file 0644 <contents>", "dir" or
// "link -> <target>".
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link -> " + target
		case fi.IsDir():
			out[rel] = "dir"
		default:
			body, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = "file " + fi.Mode().Perm().String() + " " + string(body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
