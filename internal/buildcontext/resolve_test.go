package buildcontext_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wharf-registry/wharf/internal/buildcontext"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func TestResolveDockerfile(t *testing.T) {
	s := newSandbox(t)
	mustWrite(t, filepath.Join(s.outside, "Dockerfile"), "FROM outside\n")
	for _, d := range []string{"sub", "Dockerfile.d"} {
		if err := os.MkdirAll(filepath.Join(s.dest, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(s.dest, "Dockerfile"), "FROM root\n")
	mustWrite(t, filepath.Join(s.dest, "sub", "Dockerfile"), "FROM sub\n")
	mustWrite(t, filepath.Join(s.dest, "sub", "other.Dockerfile"), "FROM other\n")
	for link, target := range map[string]string{
		"link":    "sub",
		"df-link": "sub/Dockerfile",
		"out":     s.outside,
		"out-rel": "../outside",
		"dangles": "missing",
	} {
		if err := os.Symlink(target, filepath.Join(s.dest, link)); err != nil {
			t.Fatal(err)
		}
	}
	in := func(p string) string { return filepath.Join(s.dest, filepath.FromSlash(p)) }

	tests := []struct {
		name                    string
		contextPath, dockerfile string
		wantDir, wantFile       string
		wantErr                 string
	}{
		{name: "defaults", wantDir: in("."), wantFile: in("Dockerfile")},
		{name: "root", contextPath: "/", dockerfile: "/Dockerfile", wantDir: in("."), wantFile: in("Dockerfile")},
		{name: "subdirectory", contextPath: "/sub/", dockerfile: "/sub/Dockerfile", wantDir: in("sub"), wantFile: in("sub/Dockerfile")},
		{name: "relative paths", contextPath: "sub", dockerfile: "sub/other.Dockerfile", wantDir: in("sub"), wantFile: in("sub/other.Dockerfile")},
		{name: "Dockerfile outside the context directory", contextPath: "/sub/", dockerfile: "/Dockerfile", wantDir: in("sub"), wantFile: in("Dockerfile")},
		{name: "dot-dot that stays inside", contextPath: "/sub/../sub", dockerfile: "/sub/../Dockerfile", wantDir: in("sub"), wantFile: in("Dockerfile")},
		{name: "symlinked directory is resolved", contextPath: "/link/", dockerfile: "/link/Dockerfile", wantDir: in("sub"), wantFile: in("sub/Dockerfile")},
		{name: "symlinked Dockerfile is resolved", dockerfile: "/df-link", wantDir: in("."), wantFile: in("sub/Dockerfile")},
		{name: "context climbs out", contextPath: "/../", wantErr: "Context directory path /../ leaves the build context"},
		{name: "Dockerfile climbs out", dockerfile: "/sub/../../outside/Dockerfile", wantErr: "Dockerfile path /sub/../../outside/Dockerfile leaves the build context"},
		{name: "context through an absolute symlink", contextPath: "/out/", wantErr: "Context directory at /out cannot be resolved inside the build context"},
		{name: "Dockerfile through a relative symlink out", dockerfile: "/out-rel/Dockerfile", wantErr: "Dockerfile at /out-rel/Dockerfile cannot be resolved inside the build context"},
		{name: "missing context", contextPath: "/missing/", wantErr: "Context directory not found at /missing"},
		{name: "missing Dockerfile", contextPath: "/sub/", dockerfile: "/sub/nope", wantErr: "Dockerfile not found at /sub/nope"},
		{name: "dangling symlink", dockerfile: "/dangles", wantErr: "Dockerfile not found at /dangles"},
		{name: "below a file", dockerfile: "/Dockerfile/Dockerfile", wantErr: "Dockerfile not found at /Dockerfile/Dockerfile"},
		{name: "context is a file", contextPath: "/Dockerfile", wantErr: "Context directory at /Dockerfile is not a directory"},
		{name: "Dockerfile is a directory", dockerfile: "/Dockerfile.d", wantErr: "Dockerfile at /Dockerfile.d is not a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, file, err := buildcontext.ResolveDockerfile(s.dest, tt.contextPath, tt.dockerfile)
			if tt.wantErr != "" {
				if !wharf.IsCode(err, wharf.Invalid) || wharf.ErrorMessage(err) != tt.wantErr {
					t.Fatalf("err = %v, want Invalid %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dir != tt.wantDir || file != tt.wantFile {
				t.Errorf("got (%s, %s), want (%s, %s)", dir, file, tt.wantDir, tt.wantFile)
			}
		})
	}
}

func mustWrite(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
