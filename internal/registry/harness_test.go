package registry_test

// The harness serves wharf the way cmd/wharf wires it — the registry for
// /v2/, the Quay API for everything else — over a dbtest database and a
// filesystem driver in a temp dir, and gives tests a small registry client
// that does the Docker token flow: a request answered 401 with a Bearer
// challenge makes the client fetch a token for the challenged scope from
// the realm (with Basic credentials, or none when anonymous) and retry.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/app"
	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/repository"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/testclock"
	"github.com/wharf-registry/wharf/internal/throttle"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// testSecret is the SECRET_KEY of every test server.
const testSecret = "registry-test-secret"

// env is one wharf (registry + API) served by httptest.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	store *db.DB
	blobs *filesystem.Driver
	host  string // SERVER_HOSTNAME: the listener's host:port
	admin string // OAuth token of the superuser "admin", every scope
	// keys are the instance keys registry tokens are signed with.
	keys        *servicekey.InstanceKeys
	serviceKeys *servicekey.Service
	revocations *auth.Revocations
	// clock is the login throttle's: tests move it past a wait.
	clock *testclock.Clock
}

// newEnv serves wharf over store with SUPER_USERS=[admin], a fresh
// filesystem driver, and the superuser "admin" already initialized.
func newEnv(t testing.TB, store *db.DB) *env {
	t.Helper()
	blobs, err := filesystem.New(t.TempDir(), filesystem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := serve(t, store, blobs, nil)
	status, body := e.api("", "POST", "/api/v1/user/initialize", map[string]any{
		"username": "admin", "password": "adminpass1", "email": "admin@example.com", "access_token": true})
	if status != http.StatusOK {
		t.Fatalf("initialize: %d %s", status, body)
	}
	e.admin = jsonField(t, body, "access_token")
	return e
}

// serve starts wharf over store and blobs as app.New assembles it.
func serve(t testing.TB, store *db.DB, blobs *filesystem.Driver, tweak func(*config.Config)) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	host := srv.Listener.Addr().String()

	cfg := config.Default()
	cfg.SuperUsers = []string{"admin"}
	cfg.SecretKey = testSecret
	cfg.ServerHostname = host
	if tweak != nil {
		tweak(&cfg)
	}
	// WHARF_TEST_LOG=1 shows the server's log (e.g. the cause of a 500).
	var logOut io.Writer = io.Discard
	if os.Getenv("WHARF_TEST_LOG") != "" {
		logOut = os.Stderr
	}
	clock := testclock.New(time.Now())
	a, err := app.New(&cfg, store, blobs, requestlog.NewOutput(logOut, false), app.WithLoginThrottle(throttle.New(throttle.Default, clock.Now)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.Handler
	keys, serviceKeys := a.Keys, a.ServiceKeys
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})

	return &env{t: t, srv: srv, store: store, blobs: blobs, host: host, keys: keys, serviceKeys: serviceKeys, revocations: a.Revocations, clock: clock}
}

func jsonField(t testing.TB, body []byte, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, body)
	}
	s, _ := m[key].(string)
	if s == "" {
		t.Fatalf("no %q in %s", key, body)
	}
	return s
}

// api calls the Quay API with an OAuth bearer token ("" = none).
func (e *env) api(token, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// mustAPI is api that fails the test unless the status is want.
func (e *env) mustAPI(want int, method, path string, body any) []byte {
	e.t.Helper()
	status, raw := e.api(e.admin, method, path, body)
	if status != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, raw)
	}
	return raw
}

// createUser creates a user through the superuser API and returns its password.
func (e *env) createUser(name string) string {
	e.t.Helper()
	raw := e.mustAPI(http.StatusOK, "POST", "/api/v1/superuser/users/", map[string]any{"username": name, "email": name + "@example.com"})
	return jsonField(e.t, raw, "password")
}

// createOrg creates an organization owned by admin, with members as
// further owners (the API has no team membership yet, so the store adds them).
func (e *env) createOrg(name string, members ...string) {
	e.t.Helper()
	e.mustAPI(http.StatusCreated, "POST", "/api/v1/organization/", map[string]any{"name": name, "email": name + "@example.org"})
	ctx := context.Background()
	org, err := e.store.Accounts.AccountByName(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range members {
		acct, err := e.store.Accounts.AccountByName(ctx, m)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.store.Accounts.AddOrgAdmin(ctx, org.ID, acct.ID); err != nil {
			e.t.Fatal(err)
		}
	}
}

// createRobot creates robot org+short through the API and returns its token.
func (e *env) createRobot(org, short string) string {
	e.t.Helper()
	raw := e.mustAPI(http.StatusCreated, "PUT", "/api/v1/organization/"+org+"/robots/"+short, map[string]any{"description": "ci"})
	return jsonField(e.t, raw, "token")
}

// joinTeam puts member in org's team, created with role when missing.
func (e *env) joinTeam(org, team, role, member string) {
	e.t.Helper()
	ctx := context.Background()
	o, err := e.store.Accounts.AccountByName(ctx, org)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := e.store.Accounts.AccountByName(ctx, member)
	if err != nil {
		e.t.Fatal(err)
	}
	tm, err := e.store.Tenancy.TeamByName(ctx, o.ID, team)
	if wharf.IsCode(err, wharf.NotFound) {
		tm = &wharf.Team{OrgID: o.ID, Name: team, Role: role}
		err = e.store.Tenancy.SaveTeam(ctx, tm)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.Tenancy.AddTeamMember(ctx, tm.ID, m.ID); err != nil {
		e.t.Fatal(err)
	}
}

// grant gives account role on repository "ns/name".
func (e *env) grant(repo, account, role string) {
	e.t.Helper()
	ctx := context.Background()
	ns, name, _ := strings.Cut(repo, "/")
	r, err := e.store.Registry.RepositoryByName(ctx, ns, name)
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.store.Accounts.AccountByName(ctx, account)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.Tenancy.SetPermission(ctx, wharf.Permission{Repository: r, Account: a, Role: role}); err != nil {
		e.t.Fatal(err)
	}
}

// logs returns every action-log entry, newest first.
func (e *env) logs() []wharf.LogEntry {
	e.t.Helper()
	entries, err := e.store.Logs.ListLogs(context.Background(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 100000})
	if err != nil {
		e.t.Fatal(err)
	}
	return entries
}

// logsOf returns the entries of kind whose metadata has repo name.
func (e *env) logsOf(kind, repo string) []wharf.LogEntry {
	e.t.Helper()
	var out []wharf.LogEntry
	for _, en := range e.logs() {
		if en.Kind == kind && en.Metadata["repo"] == repo {
			out = append(out, en)
		}
	}
	return out
}

// storedFiles returns the keys of every committed file below prefix.
func (e *env) storedFiles(prefix string) []string {
	e.t.Helper()
	var keys []string
	err := e.blobs.Walk(context.Background(), prefix, func(fi storage.FileInfo) error {
		keys = append(keys, fi.Path)
		return nil
	})
	if err != nil && !wharf.IsCode(err, wharf.NotFound) {
		e.t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

// blobCopies returns the files below blobs/ that hold digest's content,
// whatever the layout: every file named by the digest's hex.
func (e *env) blobCopies(digest string) []string {
	e.t.Helper()
	_, h, _ := strings.Cut(digest, ":")
	var out []string
	for _, k := range e.storedFiles("blobs") {
		if strings.HasSuffix(k, "/"+h) {
			out = append(out, k)
		}
	}
	return out
}

// response is a finished registry call.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Code returns the first OCI error code of the body ("" if none).
func (r *response) Code() string {
	var b struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(r.Body, &b) != nil || len(b.Errors) == 0 {
		return ""
	}
	return b.Errors[0].Code
}

func (r *response) String() string {
	body := string(r.Body)
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return http.StatusText(r.Status) + " " + body
}

// client is one registry caller: user and password (or robot name and
// token), or anonymous when user is "".
type client struct {
	e      *env
	user   string
	pass   string
	token  string            // current bearer token
	tokens map[string]string // scope → token, so one login serves many calls
	extra  []string          // scopes requested with every token (e.g. a mount source)
	logins int               // token requests made
}

func (e *env) as(user, pass string) *client {
	return &client{e: e, user: user, pass: pass, tokens: map[string]string{}}
}

func (e *env) anonymous() *client { return e.as("", "") }

// send makes one request with bearer token tok ("" = none). The path
// (with its query) goes into the request line verbatim; hdr holds header
// name/value pairs.
func (e *env) send(method, path string, body []byte, tok string, hdr ...string) *response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/", rd)
	if err != nil {
		e.t.Fatal(err)
	}
	// Opaque sends the path byte for byte: no cleaning, no re-escaping.
	p, q, _ := strings.Cut(path, "?")
	req.URL.Opaque, req.URL.RawQuery = p, q
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// challenge parses a Bearer WWW-Authenticate header.
func challenge(h string) map[string]string {
	rest, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil
	}
	out := map[string]string{}
	for rest != "" {
		k, v, ok := strings.Cut(rest, `="`)
		if !ok {
			return out
		}
		val, after, _ := strings.Cut(v, `"`)
		out[strings.TrimSpace(k)] = val
		rest = strings.TrimPrefix(after, ",")
	}
	return out
}

// fetchToken asks the realm for a token with scopes, with the client's
// Basic credentials. It returns the token response.
func (c *client) fetchToken(realm, service string, scopes ...string) *response {
	c.e.t.Helper()
	q := url.Values{"service": {service}}
	for _, s := range append(scopes, c.extra...) {
		if s != "" {
			q.Add("scope", s)
		}
	}
	req, err := http.NewRequest("GET", realm+"?"+q.Encode(), nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.e.srv.Client().Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	c.logins++
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// login fetches (and keeps) a token for scopes from the server's realm.
func (c *client) login(scopes ...string) *response {
	c.e.t.Helper()
	r := c.fetchToken("http://"+c.e.host+"/v2/auth", c.e.host, scopes...)
	if r.Status == http.StatusOK {
		c.token = jsonField(c.e.t, r.Body, "token")
	}
	return r
}

// do sends a request with the current token; a 401 with a Bearer
// challenge makes it fetch a token for the challenged scope and retry once.
func (c *client) do(method, path string, body []byte, hdr ...string) *response {
	c.e.t.Helper()
	r := c.e.send(method, path, body, c.token, hdr...)
	if r.Status != http.StatusUnauthorized {
		return r
	}
	ch := challenge(r.Header.Get("WWW-Authenticate"))
	if ch == nil || ch["realm"] == "" {
		return r
	}
	key := ch["scope"] + " " + strings.Join(c.extra, " ")
	tok, ok := c.tokens[key]
	if !ok || tok == c.token {
		tr := c.fetchToken(ch["realm"], ch["service"], ch["scope"])
		if tr.Status != http.StatusOK {
			return r
		}
		tok = jsonField(c.e.t, tr.Body, "token")
		c.tokens[key] = tok
	}
	c.token = tok
	return c.e.send(method, path, body, c.token, hdr...)
}

// must fails the test unless r has status want.
func must(t testing.TB, what string, r *response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d; body: %s", what, r.Status, want, r.Body)
	}
}

// mustErr fails the test unless r has status want and OCI error code code.
func mustErr(t testing.TB, what string, r *response, want int, code string) {
	t.Helper()
	if r.Status != want || r.Code() != code {
		t.Fatalf("%s: got %d %q, want %d %s; body: %s", what, r.Status, r.Code(), want, code, r.Body)
	}
}

func sha256Of(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func sha512Of(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512:" + hex.EncodeToString(s[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// pushBlob uploads data to repo name in one POST and returns its digest.
func (c *client) pushBlob(name string, data []byte) string {
	c.e.t.Helper()
	d := sha256Of(data)
	r := c.do("POST", "/v2/"+name+"/blobs/uploads/?digest="+d, data, "Content-Type", "application/octet-stream")
	must(c.e.t, "push blob to "+name, r, http.StatusCreated)
	return d
}

// desc is an OCI descriptor.
type desc struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

const (
	mtOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex    = "application/vnd.oci.image.index.v1+json"
	mtDockerV2    = "application/vnd.docker.distribution.manifest.v2+json"
	mtOCIConfig   = "application/vnd.oci.image.config.v1+json"
	mtOCILayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
	mtEmpty       = "application/vnd.oci.empty.v1+json"
)

func blobDesc(mediaType string, data []byte) desc {
	return desc{MediaType: mediaType, Digest: sha256Of(data), Size: int64(len(data))}
}

// manifestJSON builds an image manifest; extra fields (artifactType,
// subject, annotations) are merged in.
func manifestJSON(mediaType string, config desc, layers []desc, extra map[string]any) []byte {
	m := map[string]any{"schemaVersion": 2, "mediaType": mediaType, "config": config, "layers": layers}
	if layers == nil {
		m["layers"] = []desc{}
	}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

func indexJSON(children ...desc) []byte {
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mtOCIIndex, "manifests": children})
	return b
}

// pushImage pushes a config and one layer to name, then a manifest that
// references them (made unique by seed) by ref; it returns the manifest's
// bytes and digest.
func (c *client) pushImage(name, ref, seed string) ([]byte, string) {
	c.e.t.Helper()
	config := []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`)
	layer := []byte("layer of " + seed)
	c.pushBlob(name, config)
	c.pushBlob(name, layer)
	body := manifestJSON(mtOCIManifest, blobDesc(mtOCIConfig, config), []desc{blobDesc(mtOCILayer, layer)}, nil)
	r := c.do("PUT", "/v2/"+name+"/manifests/"+ref, body, "Content-Type", mtOCIManifest)
	must(c.e.t, "push manifest "+name+":"+ref, r, http.StatusCreated)
	return body, sha256Of(body)
}

// each runs fn for every element of xs at once — every goroutine waits
// at a start line until all are running — and waits for them all.
func each[T any](xs []T, fn func(i int, x T)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, x := range xs {
		wg.Go(func() {
			<-start
			fn(i, x)
		})
	}
	close(start)
	wg.Wait()
}

// repositories is the repository service over store, for fixtures that
// create repositories and robots directly.
func repositories(store *db.DB) *repository.Service {
	return repository.NewService(struct {
		*db.Accounts
		*db.Registry
		*db.Tenancy
	}{store.Accounts, store.Registry, store.Tenancy})
}
