package imagebuild

import (
	"archive/tar"
	"context"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

func TestIgnorePatterns(t *testing.T) {
	tests := []struct {
		name     string
		ignore   string
		excluded []string
		kept     []string
	}{
		{"literal file", "secret.txt", []string{"secret.txt"}, []string{"secret.txt.bak", "x/secret.txt", "."}},
		{"star stays in one directory", "*.md", []string{"README.md", ".md"}, []string{"docs/a.md", "md"}},
		{"star in a directory", "docs/*.md", []string{"docs/a.md"}, []string{"docs/sub/a.md", "a.md"}},
		{"question mark and class", "temp?\nlog[0-9]", []string{"temp1", "log7"}, []string{"temp12", "temp", "logx", "tmp"}},
		{"negated class", "v[^0-9]", []string{"vx"}, []string{"v1"}},
		{"escape", `\*.txt`, []string{"*.txt"}, []string{"a.txt"}},
		{"double star any depth", "**/*.tmp", []string{"a.tmp", "x/a.tmp", "x/y/z/a.tmp"}, []string{"a.tmpl"}},
		{"double star in the middle", "a/**/b", []string{"a/b", "a/x/b", "a/x/y/b", "a/b/c"}, []string{"a/xb", "b", "x/a/b"}},
		{"trailing double star spares the directory", "dir/**", []string{"dir/x", "dir/x/y"}, []string{"dir", "dirx"}},
		{"double star alone", "**", []string{"a", "a/b/c"}, []string{"."}},
		{"leading double star as suffix", "**.log", []string{"app.log", "x/y.log"}, []string{"log", "app.logs"}},
		{"directory excludes its contents", "build", []string{"build", "build/out", "build/a/b"}, []string{"builder", "src/build"}},
		{"pattern of a parent directory", "*/cache", []string{"a/cache/x/y"}, []string{"cache/x"}},
		{"exception", "*.md\n!README.md", []string{"CHANGES.md"}, []string{"README.md"}},
		{"later pattern wins", "!README.md\n*.md", []string{"README.md"}, nil},
		{"file re-included in an excluded directory", "docs\n!docs/keep.md", []string{"docs", "docs/drop.md"}, []string{"docs/keep.md"}},
		{"re-included directory keeps its contents", "docs\n!docs/api", []string{"docs/x"}, []string{"docs/api", "docs/api/v1/index.html"}},
		{"exclusion after the exception", "docs\n!docs/api\ndocs/api/private", []string{"docs/api/private/k"}, []string{"docs/api/v1"}},
		{"wildcard exception", "logs\n!logs/**/*.keep", []string{"logs/a.log"}, []string{"logs/a.keep", "logs/x/y.keep"}},
		{"comments and blank lines", "# secret.txt\n\n   \n\t# not a comment\nb.txt  ", []string{"b.txt", "# not a comment"}, []string{"secret.txt", "# secret.txt"}},
		{"leading slash and dot", "/a.txt\n./b.txt\n!/c", []string{"a.txt", "b.txt"}, []string{"x/a.txt", "c"}},
		{"pattern cleaned", "x/../y/./z/\n\r", []string{"y/z", "y/z/w"}, []string{"x"}},
		{"pattern outside the context", "../a", nil, []string{"a"}},
		{"dot pattern", ".", nil, []string{"a", "."}},
		{"exception with space", "*\n! keep", []string{"drop"}, []string{"keep"}},
		{"byte order mark", "\ufeffa.txt\r\nb.txt\r\n", []string{"a.txt", "b.txt"}, nil},
		{"regexp characters are literal", "a+(b).{c}$|", []string{"a+(b).{c}$|"}, []string{"aa(b)x{c}"}},
		{"invalid UTF-8", "caf\xe9*", []string{"caf\xe9.txt"}, []string{"cafe"}},
		{"empty range", "x[z-a]\ny[^z-a]", []string{"yb"}, []string{"xb", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseIgnore([]byte(tt.ignore))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.excluded {
				if !m.excluded(p) {
					t.Errorf("%q is not excluded", p)
				}
			}
			for _, p := range tt.kept {
				if m.excluded(p) {
					t.Errorf("%q is excluded", p)
				}
			}
		})
	}
}

func TestIgnoreErrors(t *testing.T) {
	many := strings.Repeat("a\n# comments do not count\n", maxIgnorePatterns)
	if _, err := parseIgnore([]byte(many)); err != nil {
		t.Errorf("%d patterns: %v", maxIgnorePatterns, err)
	}
	for _, tc := range []struct{ ignore, want string }{
		{"a\n[", `.dockerignore line 2: invalid pattern "["`},
		{"a\n\n!\n", `.dockerignore line 3: illegal exclusion pattern: "!"`},
		{"ok\nx\\", `line 2: invalid pattern`},
		{"[a-]", `line 1: invalid pattern`},
		{"[]", `line 1: invalid pattern`},
		{many + "b", "more than 10000 patterns"},
	} {
		if _, err := parseIgnore([]byte(tc.ignore)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.20q: error %v, want %q", tc.ignore, err, tc.want)
		}
	}
	dir := writeContext(t, map[string]fsEntry{".dockerignore": {body: strings.Repeat("#", maxIgnoreBytes+1)}})
	_, err := Build(context.Background(), stages(newStage(from("scratch", ""))), opts(t, dir))
	if err == nil || !strings.Contains(err.Error(), ".dockerignore is larger than 1048576 bytes") {
		t.Errorf("large .dockerignore: %v", err)
	}
}

func TestIgnoreMayReinclude(t *testing.T) {
	m, err := parseIgnore([]byte("*\n!src/app/keep\n!docs\n!lib/*/x\n"))
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]bool{
		"src": true, "src/app": true, "src/other": false, "src/app/keep": false,
		"docs": false, "docs/a": false, "lib": true, "lib/q": true, "tmp": false,
	} {
		if got := m.mayReinclude(dir); got != want {
			t.Errorf("mayReinclude(%q) = %v, want %v", dir, got, want)
		}
	}
}

// ignoreContext is a build context with a .dockerignore.
var ignoreContext = map[string]fsEntry{
	".dockerignore":             {body: "# junk\n*.log\nsecret.txt\n/build\nnode_modules\n**/*.tmp\ndocs\n!docs/keep.md\n.dockerignore\nDockerfile\n"},
	"Dockerfile":                {body: "FROM scratch\n"},
	"a.txt":                     {body: "alpha"},
	"secret.txt":                {body: "secret"},
	"app.log":                   {body: "log"},
	"build/out":                 {body: "out"},
	"src/main.go":               {body: "main"},
	"src/cache.tmp":             {body: "tmp"},
	"src/deep/x.tmp":            {body: "tmp"},
	"src/node_modules/y":        {body: "kept: only the top node_modules is ignored"},
	"node_modules/pkg/index.js": {body: "js"},
	"docs/keep.md":              {body: "keep"},
	"docs/drop.md":              {body: "drop"},
	"link-secret":               {link: "secret.txt"},
	"link-docs":                 {link: "docs"},
}

func TestCopyDockerignore(t *testing.T) {
	ctxDir := writeContext(t, ignoreContext)
	base := testImage(t, v1.Config{}, []tarEntry{{name: "secret.txt", body: "in the image"}})
	tests := []struct {
		name string
		ins  *dockerfile.Copy
		want []string // names in the layer, or the error
		err  string
	}{{
		name: "whole context",
		ins:  cp("/app", "."),
		want: []string{"app/", "app/a.txt", "app/docs/", "app/docs/keep.md", "app/link-docs", "app/link-secret",
			"app/src/", "app/src/deep/", "app/src/main.go", "app/src/node_modules/", "app/src/node_modules/y"},
	}, {
		name: "excluded directory shows what an exception includes",
		ins:  cp("/d", "docs"),
		want: []string{"d/", "d/keep.md"},
	}, {
		name: "symlink to such a directory",
		ins:  cp("/d", "link-docs"),
		want: []string{"d/", "d/keep.md"},
	}, {
		name: "wildcard skips excluded matches",
		ins:  cp("/t/", "*.txt", "*.log"),
		want: []string{"t/", "t/a.txt"},
	}, {
		name: "wildcard in an excluded directory",
		ins:  cp("/t/", "docs/*.md"),
		want: []string{"t/", "t/keep.md"},
	}, {
		name: "re-included file through a symlinked directory",
		ins:  cp("/k", "link-docs/keep.md"),
		want: []string{"k"},
	}, {
		name: "excluded file through a symlinked directory",
		ins:  cp("/k", "link-docs/drop.md"),
		err:  "excluded by .dockerignore: link-docs/drop.md",
	}, {
		name: "wildcard matching only excluded files",
		ins:  cp("/t/", "src/*.tmp"),
		err:  "no source files were specified",
	}, {
		name: "excluded file",
		ins:  cp("/x", "secret.txt"),
		err:  "line 1: COPY failed: file not found in build context or excluded by .dockerignore: secret.txt",
	}, {
		name: "file in an excluded directory",
		ins:  cp("/x", "./build/out"),
		err:  "excluded by .dockerignore: build/out",
	}, {
		name: "excluded file in an excluded directory",
		ins:  cp("/x", "docs/drop.md"),
		err:  "excluded by .dockerignore: docs/drop.md",
	}, {
		name: "symlink to an excluded file",
		ins:  cp("/x", "link-secret"),
		err:  "excluded by .dockerignore: link-secret",
	}, {
		name: "ADD",
		ins:  add("/x", "app.log"),
		err:  "ADD failed: file not found in build context or excluded by .dockerignore: app.log",
	}, {
		name: "COPY --from ignores .dockerignore",
		ins:  copyFrom("acme/base", "/x", "/secret.txt"),
		want: []string{"x"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, ctxDir)
			o.Base = (&registry{images: map[string]v1.Image{"acme/base": base}}).base
			img, err := Build(context.Background(), stages(newStage(from("scratch", ""), tt.ins)), o)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names, entries := lastLayer(t, img)
			checkParentsFirst(t, names)
			slices.Sort(names)
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("layer (-want +got):\n%s", diff)
			}
			// A directory shown for its re-included entries keeps its
			// own metadata.
			if e, ok := entries["app/docs/"]; ok && (e.typ != tar.TypeDir || !e.mtime.Equal(modTime(t, ctxDir, "docs"))) {
				t.Errorf("app/docs/ is %+v", e)
			}
		})
	}
}

// FuzzIgnorePatterns: any .dockerignore parses or fails without panicking,
// and a literal pattern, matched without a regexp, means what the same
// pattern compiled to a regexp would.
func FuzzIgnorePatterns(f *testing.F) {
	f.Add("*.md\n!README.md\n", "docs/README.md")
	f.Add("**/x/**\n[a-c]?\\*", "a/x/b")
	f.Add("!\n", "a")
	f.Add("docs\n!docs/**/*.keep", "docs/a/b.keep")
	f.Add("x[^z-a]", "x/")
	f.Fuzz(func(t *testing.T, ignore, name string) {
		m, err := parseIgnore([]byte(ignore))
		if err != nil {
			return
		}
		p := strings.TrimPrefix(path.Clean("/"+name), "/")
		if p == "" {
			p = "."
		}
		ex := m.excluded(p)
		if ex && p == "." {
			t.Fatal("the context itself is excluded")
		}
		if ex != m.excluded(p) {
			t.Fatal("excluded is not deterministic")
		}
		m.mayReinclude(p)
		for _, pt := range m.patterns {
			if pt.re != nil || !utf8.ValidString(pt.text) || !utf8.ValidString(p) {
				continue
			}
			expr, err := ignoreRegexp(pt.text)
			if err != nil {
				t.Fatalf("%q: %v", pt.text, err)
			}
			re := regexp.MustCompile(expr)
			pr := pt
			pr.re = re
			if pt.match(p) != pr.match(p) {
				t.Fatalf("literal %q on %q: %v without a regexp, %v with", pt.text, p, pt.match(p), pr.match(p))
			}
		}
	})
}
