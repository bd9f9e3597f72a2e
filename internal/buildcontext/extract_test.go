package buildcontext_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/buildcontext"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func TestExtract(t *testing.T) {
	sample := tarball(t,
		dir("sub/", 0o755),
		file("Dockerfile", "FROM scratch\n"),
		fileMode("sub/run.sh", "#!/bin/sh\n", 0o755),
		symlink("link", "sub/run.sh"),
		hardlink("hard", "Dockerfile"),
		fileMode("setuid", "x", 0o4755),
	)
	sampleTree := map[string]string{
		"sub":        "dir",
		"Dockerfile": "file -rw-r--r-- FROM scratch\n",
		"sub/run.sh": "file -rwxr-xr-x #!/bin/sh\n",
		"link":       "link -> sub/run.sh",
		"hard":       "file -rw-r--r-- FROM scratch\n",
		"setuid":     "file -rwxr-xr-x x",
	}
	tests := []struct {
		name   string
		data   []byte
		format buildcontext.Format
		want   map[string]string
	}{
		{"tar", sample, buildcontext.FormatTar, sampleTree},
		{"tar.gz", gzipped(t, sample), buildcontext.FormatTarGz, sampleTree},
		{"zip", zipball(t,
			zipMember{name: "sub/", mode: fs.ModeDir | 0o755},
			zipMember{name: "Dockerfile", body: "FROM scratch\n", mode: 0o644},
			zipMember{name: "deep/er/run.sh", body: "#!/bin/sh\n", mode: 0o755},
			zipMember{name: "link", body: "deep/er/run.sh", mode: fs.ModeSymlink | 0o777},
		), buildcontext.FormatZip, map[string]string{
			"sub":            "dir",
			"Dockerfile":     "file -rw-r--r-- FROM scratch\n",
			"deep":           "dir",
			"deep/er":        "dir",
			"deep/er/run.sh": "file -rwxr-xr-x #!/bin/sh\n",
			"link":           "link -> deep/er/run.sh",
		}},
		{"bare Dockerfile", []byte("FROM scratch\nLABEL greeting=\"héllo\"\n"), buildcontext.FormatDockerfile,
			map[string]string{"Dockerfile": "file -rw-r--r-- FROM scratch\nLABEL greeting=\"héllo\"\n"}},
		{"dot-slash names", tarball(t, dir("./", 0o755), file("./Dockerfile", "FROM a\n")), buildcontext.FormatTar,
			map[string]string{"Dockerfile": "file -rw-r--r-- FROM a\n"}},
		{"dot-dot that stays inside", tarball(t, file("a/../b", "b")), buildcontext.FormatTar,
			map[string]string{"b": "file -rw-r--r-- b"}},
		{"duplicate file overwrites", tarball(t, file("a", "one"), file("a", "two")), buildcontext.FormatTar,
			map[string]string{"a": "file -rw-r--r-- two"}},
		{"duplicate replaces a symlink without following it",
			tarball(t, file("sub/f", "orig"), symlink("a", "sub/f"), file("a", "new")), buildcontext.FormatTar,
			map[string]string{"sub": "dir", "sub/f": "file -rw-r--r-- orig", "a": "file -rw-r--r-- new"}},
		{"file through an in-context symlink",
			tarball(t, dir("real/", 0o755), symlink("lib", "real"), file("lib/x", "x")), buildcontext.FormatTar,
			map[string]string{"real": "dir", "real/x": "file -rw-r--r-- x", "lib": "link -> real"}},
		{"symlink climbing inside the context is stored clean",
			tarball(t, file("d/f", "f"), symlink("d/e/l", "../././f")), buildcontext.FormatTar,
			map[string]string{"d": "dir", "d/f": "file -rw-r--r-- f", "d/e": "dir", "d/e/l": "link -> ../f"}},
		{"read-only directory stays writable for its owner",
			tarball(t, dir("ro/", 0o555), file("ro/f", "f")), buildcontext.FormatTar,
			map[string]string{"ro": "dir", "ro/f": "file -rw-r--r-- f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			format, err := buildcontext.Extract(context.Background(), bytes.NewReader(tt.data), s.dest, buildcontext.Limits{})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if format != tt.format {
				t.Errorf("format = %q, want %q", format, tt.format)
			}
			if diff := cmp.Diff(tt.want, tree(t, s.dest)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
			s.checkContained(t)
		})
	}
}

func TestExtractRefuses(t *testing.T) {
	tests := []struct {
		name string
		// build makes the upload; outside is an absolute directory next to
		// the destination that nothing may reach.
		build func(t *testing.T, outside string) []byte
		lim   buildcontext.Limits
		want  string
	}{
		{name: "parent escape", build: tarOf(file("../evil", "x")),
			want: `build context entry "../evil" escapes the context`},
		{name: "absolute path", build: tarOf(file("/abs", "x")),
			want: `build context entry "/abs" has an absolute path`},
		{name: "escape after cleaning", build: tarOf(file("a/../../x", "x")),
			want: `build context entry "a/../../x" escapes the context`},
		{name: "symlink to /etc/passwd", build: tarOf(symlink("passwd", "/etc/passwd")),
			want: `build context entry "passwd" is a symlink pointing outside the context (/etc/passwd)`},
		{name: "symlink up", build: tarOf(symlink("up", "../..")),
			want: `build context entry "up" is a symlink pointing outside the context (../..)`},
		{name: "nested symlink up", build: tarOf(symlink("a/b", "../../x")),
			want: `is a symlink pointing outside the context (../../x)`},
		{name: "symlink then file through it", build: func(t *testing.T, outside string) []byte {
			return tarball(t, symlink("a", outside), file("a/passwd", "root::0:0::/:/bin/sh\n"))
		}, want: `build context entry "a" is a symlink pointing outside the context`},
		{name: "climb below a symlinked parent",
			build: tarOf(symlink("up", "."), symlink("up/up/l", "../../x")),
			want:  `build context entry "up/up/l" is a symlink climbing out of "up/up", which is a symlink itself`},
		{name: "entry without a name", build: tarOf(file("", "x")),
			want: "build context has an entry without a name"},
		{name: "file named dot", build: tarOf(file(".", "x")),
			want: `build context entry "." has no name`},
		{name: "hard link out", build: tarOf(hardlink("h", "../etc/passwd")),
			want: `build context entry "h" is a hard link to "../etc/passwd", which is outside the context`},
		{name: "hard link absolute", build: tarOf(hardlink("h", "/etc/passwd")),
			want: `is a hard link to "/etc/passwd", which is outside the context`},
		{name: "hard link to a later file", build: tarOf(hardlink("h", "f"), file("f", "x")),
			want: `build context entry "h" is a hard link to "f", which is not a file extracted before it`},
		{name: "hard link to a symlink", build: tarOf(file("d/f", "x"), symlink("d/s", "../d/f"), hardlink("s", "d/s")),
			want: `is a hard link to "d/s", which is not a file extracted before it`},
		{name: "hard link to itself", build: tarOf(file("a", "x"), hardlink("a", "a")),
			want: `build context entry "a" is a hard link to itself`},
		{name: "character device", build: tarOf(special("null", tar.TypeChar)),
			want: `build context entry "null" is a character device`},
		{name: "block device", build: tarOf(special("sda", tar.TypeBlock)),
			want: `build context entry "sda" is a block device`},
		{name: "fifo", build: tarOf(special("pipe", tar.TypeFifo)),
			want: `build context entry "pipe" is a FIFO`},
		{name: "file replacing a directory", build: tarOf(dir("d/", 0o755), file("d", "x")),
			want: `build context entry "d" replaces a directory`},
		{name: "file below a file", build: tarOf(file("a", "x"), file("a/b", "y")),
			want: `build context entry "a/b" cannot be extracted`},
		{name: "zip escape", build: zipOf(zipMember{name: "../evil", body: "x", mode: 0o644}),
			want: `build context entry "../evil" escapes the context`},
		{name: "zip absolute", build: zipOf(zipMember{name: "/abs", body: "x", mode: 0o644}),
			want: `build context entry "/abs" has an absolute path`},
		{name: "zip symlink out", build: zipOf(zipMember{name: "l", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}),
			want: `build context entry "l" is a symlink pointing outside the context (/etc/passwd)`},
		{name: "zip device", build: zipOf(zipMember{name: "null", mode: fs.ModeDevice | fs.ModeCharDevice | 0o666}),
			want: `build context entry "null" is a character device`},
		{name: "too many files", build: tarOf(file("a", ""), file("b", ""), file("c", ""), file("d", "")),
			lim: buildcontext.Limits{MaxFiles: 3}, want: "build context has more than 3 entries"},
		{name: "too many zip files", build: zipOf(zipMember{name: "a"}, zipMember{name: "b"}, zipMember{name: "c"}, zipMember{name: "d"}),
			lim: buildcontext.Limits{MaxFiles: 3}, want: "build context has more than 3 entries"},
		{name: "name too long", build: tarOf(file(strings.Repeat("n/", 2100)+"f", "x")),
			want: `has a name longer than 4096 bytes`},
		{name: "long name clipped in the message", build: tarOf(file(strings.Repeat("n/", 2100)+"f", "x")),
			want: `build context entry "` + strings.Repeat("n/", 100) + `..." has a name`},
		{name: "link target too long", build: tarOf(symlink("l", strings.Repeat("a/", 2100))),
			want: `build context entry "l" has a link target longer than 4096 bytes`},
		{name: "hard link target too long", build: tarOf(hardlink("h", strings.Repeat("a/", 2100))),
			want: `build context entry "h" has a link target longer than 4096 bytes`},
		{name: "extended attribute too large", build: tarOf(withPAX(file("f", "x"), "SCHILY.xattr.user.x", strings.Repeat("A", 64<<10))),
			want: `build context entry "f" has 65555 bytes of attributes (PAX records, extended attributes, zip extra fields), more than the 64 KiB allowed per entry`},
		{name: "many extended attributes", build: func(t *testing.T, _ string) []byte {
			m := dir("d/", 0o755)
			for i := range 3000 {
				m = withPAX(m, fmt.Sprintf("SCHILY.xattr.user.%04d", i), "0123456789")
			}
			return tarball(t, m)
		}, want: `build context entry "d/" has 96000 bytes of attributes`},
		{name: "global PAX header too large", build: tarOf(globalPAX("comment", strings.Repeat("c", 70<<10))),
			want: `build context entry "global" has 71687 bytes of attributes`},
		{name: "names and attributes too large together", build: tarOf(file(strings.Repeat("a", 60), ""), withPAX(file("b", ""), "SCHILY.xattr.user.x", "abc")),
			lim: buildcontext.Limits{MaxHeaderBytes: 80}, want: "build context has more than 80 bytes of entry names, link targets and attributes"},
		{name: "global headers too large together", build: tarOf(globalPAX("comment", strings.Repeat("c", 50)), globalPAX("comment", strings.Repeat("c", 50))),
			lim: buildcontext.Limits{MaxHeaderBytes: 100}, want: "build context has more than 100 bytes of entry names, link targets and attributes"},
		{name: "zip name too long", build: zipOf(zipMember{name: strings.Repeat("z", 5000), mode: 0o644}),
			want: `has a name longer than 4096 bytes`},
		{name: "zip comments too large together", build: zipOf(zipMember{name: "a", mode: 0o644, comment: strings.Repeat("c", 600)}, zipMember{name: "b", mode: 0o644, comment: strings.Repeat("c", 600)}),
			lim: buildcontext.Limits{MaxHeaderBytes: 1000}, want: "build context has more than 1000 bytes of entry names, link targets and attributes"},
		{name: "zip central directory too large", build: func(t *testing.T, _ string) []byte {
			var ms []zipMember
			for i := range 4 {
				ms = append(ms, zipMember{name: fmt.Sprint(i), mode: 0o644, comment: strings.Repeat("c", 60<<10)})
			}
			return zipball(t, ms...)
		}, lim: buildcontext.Limits{MaxHeaderBytes: 1 << 10}, want: "build context has a zip central directory larger than 1 KiB"},
		{name: "file too large", build: tarOf(file("a", "0123456789x")),
			lim: buildcontext.Limits{MaxBytes: 10}, want: "build context is larger than the 10 bytes limit"},
		{name: "files too large together", build: tarOf(file("a", "012345"), file("b", "012345")),
			lim: buildcontext.Limits{MaxBytes: 10}, want: "build context is larger than the 10 bytes limit"},
		{name: "zip too large", build: zipOf(zipMember{name: "a", body: "012345"}, zipMember{name: "b", body: "012345"}),
			lim: buildcontext.Limits{MaxBytes: 10}, want: "build context is larger than the 10 bytes limit"},
		{name: "Dockerfile too large", build: func(*testing.T, string) []byte { return []byte("FROM scratch\n") },
			lim: buildcontext.Limits{MaxBytes: 10}, want: "build context is larger than the 10 bytes limit"},
		{name: "upload too large", build: tarOf(file("a", strings.Repeat("x", 4096))),
			lim: buildcontext.Limits{MaxCompressedBytes: 1024}, want: "build context upload is larger than the 1 KiB limit"},
		{name: "empty upload", build: func(*testing.T, string) []byte { return nil },
			want: "build context is empty"},
		{name: "binary upload", build: func(*testing.T, string) []byte { return []byte("\x7fELF\x02\x01\x01\x00") },
			want: "build context is neither a tar, tar.gz or zip archive nor a text Dockerfile"},
		{name: "NUL byte late in a Dockerfile", build: func(*testing.T, string) []byte {
			return []byte(strings.Repeat("# comment\n", 100) + "\x00")
		}, want: "build context is neither a tar, tar.gz or zip archive nor a text Dockerfile"},
		{name: "invalid UTF-8 in a Dockerfile", build: func(*testing.T, string) []byte { return []byte("FROM \xff\xfe\n") },
			want: "build context is neither a tar, tar.gz or zip archive nor a text Dockerfile"},
		{name: "truncated tar", build: func(t *testing.T, _ string) []byte {
			return tarball(t, file("a", strings.Repeat("x", 2000)))[:1200]
		}, want: "build context is not a valid tar archive"},
		{name: "corrupt gzip", build: func(*testing.T, string) []byte { return []byte("\x1f\x8b\x08\x00garbage") },
			want: "build context is not a valid tar.gz archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			data := tt.build(t, s.outside)
			_, err := buildcontext.Extract(context.Background(), bytes.NewReader(data), s.dest, tt.lim)
			if err == nil {
				t.Fatal("Extract succeeded, want a refusal")
			}
			if !wharf.IsCode(err, wharf.Invalid) {
				t.Errorf("code = %q, want %q (err %v)", wharf.ErrorCode(err), wharf.Invalid, err)
			}
			if msg := wharf.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.want)
			}
			s.checkContained(t)
		})
	}
}

func tarOf(members ...member) func(*testing.T, string) []byte {
	return func(t *testing.T, _ string) []byte { return tarball(t, members...) }
}

func zipOf(members ...zipMember) func(*testing.T, string) []byte {
	return func(t *testing.T, _ string) []byte { return zipball(t, members...) }
}

// A symlink already in the destination, pointing out, is the attack the
// lexical checks cannot see; the os.Root must refuse to write through it.
func TestExtractDoesNotFollowPlantedSymlink(t *testing.T) {
	s := newSandbox(t)
	if err := os.Mkdir(s.dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(s.outside, filepath.Join(s.dest, "a")); err != nil {
		t.Fatal(err)
	}
	data := tarball(t, file("a/passwd", "root::0:0::/:/bin/sh\n"))
	_, err := buildcontext.Extract(context.Background(), bytes.NewReader(data), s.dest, buildcontext.Limits{})
	if err == nil {
		t.Fatal("Extract wrote through a symlink leading out")
	}
	s.checkContained(t)
}

func TestExtractKeepsTimes(t *testing.T) {
	s := newSandbox(t)
	data := tarball(t, dir("d/", 0o755), file("d/f", "x"))
	if _, err := buildcontext.Extract(context.Background(), bytes.NewReader(data), s.dest, buildcontext.Limits{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d", "d/f"} {
		fi, err := os.Stat(filepath.Join(s.dest, name))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(testTime) {
			t.Errorf("%s: mtime = %v, want %v", name, fi.ModTime(), testTime)
		}
	}
}

func TestExtractStopsBombs(t *testing.T) {
	const huge = 2 << 30
	tests := []struct {
		name string
		// upload writes the bomb; it is fed through a pipe so that the
		// gigabytes are only produced as far as Extract reads them.
		upload func(w io.Writer) error
		lim    buildcontext.Limits
		want   string
	}{
		{name: "gzip bomb declaring its size", upload: func(w io.Writer) error {
			return tarGzZeros(w, huge)
		}, lim: buildcontext.Limits{MaxBytes: 1 << 20}, want: "build context is larger than the 1 MiB limit"},
		{name: "gzip bomb against the upload limit", upload: func(w io.Writer) error {
			return tarGzZeros(w, huge)
		}, lim: buildcontext.Limits{MaxBytes: huge, MaxCompressedBytes: 4 << 10}, want: "build context upload is larger than the 4 KiB limit"},
		{name: "endless Dockerfile", upload: func(w io.Writer) error {
			line := []byte(strings.Repeat("# padding\n", 1000))
			for {
				if _, err := w.Write(line); err != nil {
					return err
				}
			}
		}, lim: buildcontext.Limits{MaxBytes: 1 << 20}, want: "build context is larger than the 1 MiB limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(tt.upload(pw)) }()
			defer pr.Close()
			start := time.Now()
			_, err := buildcontext.Extract(context.Background(), pr, s.dest, tt.lim)
			if err == nil || !strings.Contains(wharf.ErrorMessage(err), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v to stop", d)
			}
			s.checkContained(t)
		})
	}
}

// tarGzZeros writes a tar.gz holding one file of n zero bytes.
func tarGzZeros(w io.Writer, n int64) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "zeros", Mode: 0o644, Size: n}); err != nil {
		return err
	}
	zeros := make([]byte, 1<<20)
	for ; n > 0; n -= int64(len(zeros)) {
		if _, err := tw.Write(zeros[:min(n, int64(len(zeros)))]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func TestExtractZipBombDeclaredSize(t *testing.T) {
	s := newSandbox(t)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("zeros")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 64<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = buildcontext.Extract(context.Background(), &buf, s.dest, buildcontext.Limits{MaxBytes: 1 << 20})
	if want := "build context is larger than the 1 MiB limit"; err == nil || wharf.ErrorMessage(err) != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if got := tree(t, s.dest); len(got) != 0 {
		t.Errorf("wrote %v before refusing", got)
	}
	s.checkContained(t)
}

func TestExtractCancel(t *testing.T) {
	t.Run("before", func(t *testing.T) {
		s := newSandbox(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		data := tarball(t, file("Dockerfile", "FROM scratch\n"))
		if _, err := buildcontext.Extract(ctx, bytes.NewReader(data), s.dest, buildcontext.Limits{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("while streaming", func(t *testing.T) {
		s := newSandbox(t)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := buildcontext.Extract(ctx, slowText{}, s.dest, buildcontext.Limits{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v to stop", d)
		}
	})
}

// slowText is an endless Dockerfile arriving a line per millisecond.
type slowText struct{}

func (slowText) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return copy(p, "# still uploading\n"), nil
}

func TestUnsafeErrorIsInvalid(t *testing.T) {
	err := error(&buildcontext.UnsafeError{Entry: "../evil", Reason: "escapes the context"})
	var we *wharf.Error
	if !errors.As(err, &we) {
		t.Fatal("UnsafeError does not carry a *wharf.Error")
	}
	want := `build context entry "../evil" escapes the context`
	if we.Code != wharf.Invalid || we.Message != want || err.Error() != want {
		t.Errorf("got code %q, message %q, Error %q; want %q, %q", we.Code, we.Message, err.Error(), wharf.Invalid, want)
	}
}
