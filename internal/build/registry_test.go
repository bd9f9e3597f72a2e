package build_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func TestRegistryResolve(t *testing.T) {
	const host = "registry.test:5000"
	digest := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name      string
		ref       string
		noHost    bool   // the registry has no SERVER_HOSTNAME
		want      string // fully qualified
		local     bool
		registry  string // of a remote reference
		wantError bool
	}{
		{name: "bare", ref: "acme/base", want: host + "/acme/base:latest", local: true},
		{name: "single-component", ref: "alpine", want: host + "/alpine:latest", local: true},
		{name: "tag", ref: "acme/base:v1", want: host + "/acme/base:v1", local: true},
		{name: "nested", ref: "acme/team/base:1.0", want: host + "/acme/team/base:1.0", local: true},
		{name: "digest", ref: "acme/base@" + digest, want: host + "/acme/base@" + digest, local: true},
		{name: "tag-and-digest", ref: "acme/base:v1@" + digest, want: host + "/acme/base@" + digest, local: true},
		{name: "server-hostname", ref: serverHostname + "/acme/base", want: host + "/acme/base:latest", local: true},
		{name: "server-hostname-tag", ref: serverHostname + "/acme/base:v2", want: host + "/acme/base:v2", local: true},
		{name: "server-hostname-digest", ref: serverHostname + "/acme/base@" + digest, want: host + "/acme/base@" + digest, local: true},
		{name: "registry-host-itself", ref: host + "/acme/base:v3", want: host + "/acme/base:v3", local: true},
		{name: "server-hostname-unset", ref: serverHostname + "/acme/base", noHost: true, want: serverHostname + "/acme/base:latest",
			registry: serverHostname},
		{name: "docker-hub", ref: "docker.io/library/alpine", want: "index.docker.io/library/alpine:latest", registry: "index.docker.io"},
		{name: "docker-hub-tag", ref: "docker.io/library/alpine:3.20", want: "index.docker.io/library/alpine:3.20", registry: "index.docker.io"},
		{name: "other-registry-digest", ref: "ghcr.io/o/i@" + digest, want: "ghcr.io/o/i@" + digest, registry: "ghcr.io"},
		{name: "localhost-port", ref: "localhost:5000/x/y", want: "localhost:5000/x/y:latest", registry: "localhost:5000"},
		{name: "localhost", ref: "localhost/x", want: "localhost/x:latest", registry: "localhost"},
		{name: "host-port", ref: "myhost:5000/x", want: "myhost:5000/x:latest", registry: "myhost:5000"},
		{name: "empty", ref: "", wantError: true},
		{name: "upper-case", ref: "Acme/Base", wantError: true},
		{name: "empty-tag", ref: "acme/base:", wantError: true},
		{name: "short-digest", ref: "acme/base@sha256:1234", wantError: true},
		{name: "space", ref: "acme base", wantError: true},
		{name: "tag-too-long", ref: "acme/base:" + strings.Repeat("t", 129), wantError: true},
		{name: "bad-tag-char", ref: "acme/base:v!1", wantError: true},
		{name: "only-tag", ref: ":v1", wantError: true},
	}
	for _, insecure := range []bool{true, false} {
		scheme := map[bool]string{true: "http", false: "https"}[insecure]
		for _, tt := range tests {
			t.Run(scheme+"/"+tt.name, func(t *testing.T) {
				r := build.Registry{Host: host, Insecure: insecure, ServerHostname: serverHostname}
				if tt.noHost {
					r.ServerHostname = ""
				}
				n, local, err := r.Resolve(tt.ref)
				if tt.wantError {
					if !wharf.IsCode(err, wharf.Invalid) || !strings.Contains(err.Error(), "invalid image reference") {
						t.Fatalf("Resolve(%q) = %v, %v, %v; want Invalid", tt.ref, n, local, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Resolve(%q): %v", tt.ref, err)
				}
				if n.Name() != tt.want || local != tt.local {
					t.Fatalf("Resolve(%q) = %s, local %t; want %s, local %t", tt.ref, n.Name(), local, tt.want, tt.local)
				}
				if !local {
					if got := n.Context().RegistryStr(); got != tt.registry {
						t.Fatalf("registry %q, want %q", got, tt.registry)
					}
					return
				}
				// Local references are rewritten whole, and reached the
				// way the worker reaches the registry.
				if n.String() != tt.want || n.Context().Scheme() != scheme {
					t.Fatalf("local reference %q over %s; want %q over %s", n.String(), n.Context().Scheme(), tt.want, scheme)
				}
				if _, isDigest := n.(name.Digest); isDigest != strings.Contains(tt.want, "@") {
					t.Fatalf("resolved to a %T", n)
				}
			})
		}
	}
}

func TestRegistryEndpoint(t *testing.T) {
	b := &wharf.Build{Repository: wharf.Repository{Namespace: "acme", Name: "app"}, Job: wharf.BuildJob{DockerTags: []string{"latest", "v1"}}}
	tests := []struct {
		name     string
		url      string
		insecure bool
		targets  []string
	}{
		{"http", "http://127.0.0.1:8080", true, []string{"127.0.0.1:8080/acme/app:latest", "127.0.0.1:8080/acme/app:v1"}},
		{"https", "https://registry.test", false, []string{"registry.test/acme/app:latest", "registry.test/acme/app:v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			must(t, err)
			r := build.RegistryEndpoint{URL: u, ServerHostname: serverHostname}.For(b, "the-token")
			want := build.Registry{Host: u.Host, Insecure: tt.insecure, ServerHostname: serverHostname, Username: auth.BuildTokenUsername,
				Password: "the-token", Repository: "acme/app", Tags: []string{"latest", "v1"}}
			noDiff(t, "registry", want, r)
			noDiff(t, "targets", tt.targets, r.Targets())
			// Every target resolves to itself, in this registry.
			for _, target := range r.Targets() {
				n, local, err := r.Resolve(target)
				if err != nil || !local || n.Name() != target {
					t.Fatalf("Resolve(%s) = %v, %t, %v", target, n, local, err)
				}
			}
		})
	}
	if got := (build.Registry{Host: "h", Repository: "a/b"}).Targets(); len(got) != 0 {
		t.Fatalf("targets without tags: %v", got)
	}
}

// The fixture, fakes and helpers below are shared by the package's tests.

// serverHostname is the SERVER_HOSTNAME the test service records in jobs.
const serverHostname = "wharf.example.com"

// fixture is a user alice with a pull robot and a repository alice/app, a
// build service storing files on disk, and an archive server that the
// fake URL policy allows.
type fixture struct {
	t     *testing.T
	store *db.DB
	files *filesystem.Driver
	dir   string // the storage root
	urls  *fakeURLs
	svc   *build.Service
	alice *wharf.Account
	robot *wharf.Robot
	repo  *wharf.Repository
}

func newFixture(t *testing.T, store *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, store: store, urls: newFakeURLs(t)}
	f.alice = &wharf.Account{Name: "alice", Kind: wharf.KindUser, Email: "alice@example.com", Enabled: true, Verified: true}
	must(t, store.Accounts.CreateAccount(ctx, f.alice, nil))
	f.robot = &wharf.Robot{Account: &wharf.Account{Name: "alice+builder", Kind: wharf.KindRobot, Enabled: true, Verified: true},
		NamespaceID: f.alice.ID, Token: "token"}
	must(t, store.Accounts.CreateRobot(ctx, f.robot))
	must(t, store.Registry.CreateRepository(ctx, &wharf.Repository{NamespaceID: f.alice.ID, Name: "app", Visibility: wharf.Private}, 0))
	repo, err := store.Registry.RepositoryByName(ctx, "alice", "app")
	must(t, err)
	f.repo = repo
	f.dir = t.TempDir()
	f.files, err = filesystem.New(f.dir, filesystem.Options{})
	must(t, err)
	f.svc = build.NewService(store.Builds, f.files, f.urls, 1<<20, serverHostname)
	return f
}

func (f *fixture) actor() *wharf.Caller { return &wharf.Caller{Account: f.alice, IP: "192.0.2.7"} }

// upload prepares a user file and uploads content to it.
func (f *fixture) upload(content []byte) *wharf.UserFile {
	f.t.Helper()
	ctx := context.Background()
	file, err := f.svc.PrepareFile(ctx, f.alice, "application/gzip")
	must(f.t, err)
	got, err := f.svc.ReceiveFile(ctx, file.UUID, bytes.NewReader(content))
	must(f.t, err)
	return got
}

// start queues a build of f.repo from req, as alice.
func (f *fixture) start(req build.Request) *wharf.Build {
	f.t.Helper()
	b, err := f.svc.Start(context.Background(), f.actor(), f.repo, req)
	must(f.t, err)
	return b
}

func (f *fixture) load(uuid string) *wharf.Build {
	f.t.Helper()
	b, err := f.store.Builds.BuildByUUID(context.Background(), uuid)
	must(f.t, err)
	return b
}

// actions returns the action-log entries of kind, newest first.
func (f *fixture) actions(kind string) []wharf.LogEntry {
	f.t.Helper()
	all, err := f.store.Logs.ListLogs(context.Background(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 1000})
	must(f.t, err)
	var out []wharf.LogEntry
	for _, e := range all {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// buildLog returns build id's log as "type:message" lines.
func (f *fixture) buildLog(id int64) []string {
	f.t.Helper()
	total, entries, err := f.store.Builds.BuildLogs(context.Background(), id, 0)
	must(f.t, err)
	if total != len(entries) {
		f.t.Fatalf("build log: total %d, %d entries", total, len(entries))
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Type + ":" + e.Message
	}
	return out
}

// objects returns the storage keys holding uploads of user file uuid.
func (f *fixture) objects(uuid string) []string {
	f.t.Helper()
	keys, err := f.files.List(context.Background(), "userfiles")
	if wharf.IsCode(err, wharf.NotFound) {
		return nil
	}
	must(f.t, err)
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, "userfiles/"+uuid) {
			out = append(out, k)
		}
	}
	return out
}

// diskFiles counts the files below the storage root, uncommitted ones too.
func (f *fixture) diskFiles() int {
	f.t.Helper()
	n := 0
	must(f.t, filepath.WalkDir(f.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	}))
	return n
}

// read returns the content of an uploaded file.
func (f *fixture) read(file *wharf.UserFile) []byte {
	f.t.Helper()
	r, err := f.svc.OpenFile(context.Background(), file)
	must(f.t, err)
	defer r.Close()
	body, err := io.ReadAll(r)
	must(f.t, err)
	return body
}

// moveTo brings b, the oldest waiting build, to phase; worker "w" holds
// it in the running phases.
func (f *fixture) moveTo(b *wharf.Build, phase string) {
	f.t.Helper()
	ctx := context.Background()
	switch {
	case phase == wharf.PhaseWaiting:
	case phase == wharf.PhaseCancelled:
		must(f.t, f.svc.Cancel(ctx, f.actor(), b))
	case wharf.TerminalPhase(phase):
		claim(f.t, f.store, b.UUID)
		must(f.t, f.store.Builds.FinishBuild(ctx, b.UUID, "w", phase, ""))
	default:
		claim(f.t, f.store, b.UUID)
		if phase != wharf.PhaseScheduled {
			must(f.t, f.store.Builds.SetBuildPhase(ctx, b.UUID, "w", phase))
		}
	}
	if got := f.load(b.UUID).Phase; got != phase {
		f.t.Fatalf("build is %s, want %s", got, phase)
	}
}

// fakeURLs is a URLPolicy that refuses every URL but those of its own
// archive server, which serves the bodies in archives by path.
type fakeURLs struct {
	srv      *httptest.Server
	mu       sync.Mutex
	archives map[string][]byte
}

func newFakeURLs(t *testing.T) *fakeURLs {
	p := &fakeURLs{archives: map[string][]byte{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		body, ok := p.archives[r.URL.Path]
		p.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// serve publishes body at path and returns its URL.
func (p *fakeURLs) serve(path string, body []byte) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.archives[path] = body
	return p.srv.URL + path
}

func (p *fakeURLs) Check(_ context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme+"://"+u.Host != p.srv.URL {
		return nil, wharf.Errorf(wharf.Invalid, "policy refuses %s", raw)
	}
	return u, nil
}

func (p *fakeURLs) Client(timeout time.Duration) *http.Client {
	c := *p.srv.Client()
	c.Timeout = timeout
	return &c
}

// tarGz packs name, body pairs into a gzip-compressed tar.
func tarGz(t *testing.T, nameBody ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for i := 0; i < len(nameBody); i += 2 {
		h := &tar.Header{Name: nameBody[i], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(nameBody[i+1])), ModTime: time.Unix(1700000000, 0)}
		must(t, tw.WriteHeader(h))
		io.WriteString(tw, nameBody[i+1])
	}
	must(t, tw.Close())
	must(t, zw.Close())
	return buf.Bytes()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err has code and, when msg is not "", says msg.
func wantCode(t *testing.T, what string, err error, code wharf.Code, msg string) {
	t.Helper()
	if !wharf.IsCode(err, code) || !strings.Contains(fmt.Sprint(err), msg) {
		t.Fatalf("%s: got %v, want %s saying %q", what, err, code, msg)
	}
}

func noDiff(t *testing.T, what string, want, got any) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", what, diff)
	}
}

func ptr(s string) *string { return &s }

// newUUIDFor returns a well-formed user-file id that is not stored.
func newUUIDFor(t *testing.T) string {
	sum := sha256.Sum256([]byte(t.Name()))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// claim makes worker "w" claim build uuid, the oldest waiting one.
func claim(t *testing.T, store *db.DB, uuid string) *wharf.Build {
	t.Helper()
	b, err := store.Builds.ClaimBuild(context.Background(), "w", time.Minute)
	must(t, err)
	if b == nil || b.UUID != uuid {
		t.Fatalf("claimed %+v, want %s", b, uuid)
	}
	return b
}
