package main

// Black-box end-to-end tests: TestMain builds the wharf binary once, every
// test starts it as a subprocess ("wharf serve --addr 127.0.0.1:0"), talks
// HTTP to it like Quay's real clients do (the curl commands of the Red Hat
// API reference, the Ansible collection infra.quay_configuration) and stops
// it with SIGTERM, asserting a clean exit. Every scenario runs on SQLite and,
// when WHARF_TEST_POSTGRES is set, on PostgreSQL (a fresh schema per run).
//
// The contract is Quay's behaviour as docs/api-compatibility.md describes
// it, and chapter 7.21 ("Superuser") of the Red Hat Quay API reference.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// e2eBinary is the wharf binary TestMain builds.
var e2eBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wharf-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	e2eBinary = filepath.Join(dir, "wharf")
	build := exec.Command("go", "build", "-o", e2eBinary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build ./cmd/wharf:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---------------------------------------------------------------------------
// The server process

// e2eServer is one running "wharf serve" process.
type e2eServer struct {
	URL    string
	Ready  string // the ready line
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited
}

// lockedBuffer collects a process's output for concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// firstLineWriter is the process's stdout: it reports the first complete
// line (the ready line) once and keeps everything.
type firstLineWriter struct {
	lockedBuffer
	once  sync.Once
	ready chan string
}

func (w *firstLineWriter) Write(p []byte) (int, error) {
	n, err := w.lockedBuffer.Write(p)
	if line, _, ok := strings.Cut(w.String(), "\n"); ok {
		w.once.Do(func() { w.ready <- line })
	}
	return n, err
}

// childEnv is the environment of every subprocess: the test's own, without
// WHARF_* (they would override the configuration under test) and without
// proxies (every request goes to 127.0.0.1), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if strings.HasPrefix(upper, "WHARF_") || strings.HasSuffix(upper, "_PROXY") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "NO_PROXY=*", "no_proxy=*")
	return append(env, extra...)
}

// engineEnv selects the database of one run: SQLite in the data directory,
// or a fresh PostgreSQL schema (dropped after the server stopped).
func engineEnv(t *testing.T, engine db.Dialect) []string {
	if engine == db.Postgres {
		return []string{"WHARF_DB_URI=" + dbtest.URI(t, db.Postgres)}
	}
	return nil
}

var readyLine = regexp.MustCompile(`^wharf listening on (http://\S+) \(`)

// startWharf runs "wharf serve --addr 127.0.0.1:0 --data <tempdir>" plus
// args with env, waits for the ready line and, at cleanup, stops the server
// with SIGTERM and asserts it exits 0 within 5 s without logging an error.
func startWharf(t *testing.T, env []string, args ...string) *e2eServer {
	t.Helper()
	s := launchWharf(t, t.TempDir(), env, args...)
	t.Cleanup(func() {
		if s.exited(t) {
			return
		}
		s.terminate(t)
	})
	return s
}

// launchWharf runs "wharf serve --addr 127.0.0.1:0 --data dataDir" plus
// args with env and waits for the ready line; stopping it is the caller's.
func launchWharf(t *testing.T, dataDir string, env []string, args ...string) *e2eServer {
	t.Helper()
	stdout := &firstLineWriter{ready: make(chan string, 1)}
	s := &e2eServer{stderr: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(e2eBinary, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dataDir}, args...)...)
	s.cmd.Env = childEnv(env...)
	s.cmd.Stdout, s.cmd.Stderr = stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start wharf: %v", err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	select {
	case line := <-stdout.ready:
		m := readyLine.FindStringSubmatch(line)
		if m == nil {
			s.cmd.Process.Kill()
			<-s.done
			t.Fatalf("unexpected first stdout line %q; stderr:\n%s", line, s.stderr)
		}
		s.URL, s.Ready = m[1], line
	case <-s.done:
		t.Fatalf("wharf exited before it was ready (%v); stdout %q; stderr:\n%s", s.cmd.ProcessState, stdout.String(), s.stderr)
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Fatalf("wharf printed no ready line within 30s; stderr:\n%s", s.stderr)
	}
	return s
}

// exited reports (as a test error) a process that ended before the test
// stopped it.
func (s *e2eServer) exited(t *testing.T) bool {
	t.Helper()
	select {
	case <-s.done:
		t.Errorf("wharf exited before the test stopped it (%v); stderr:\n%s", s.cmd.ProcessState, s.stderr)
		return true
	default:
		return false
	}
}

// terminate stops the server with SIGTERM and asserts it exits 0 within
// 5 s without logging an error.
func (s *e2eServer) terminate(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-s.done:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("after SIGTERM wharf exited with %d (%v), want 0 (graceful shutdown); stderr:\n%s", code, s.cmd.ProcessState, s.stderr)
		}
		t.Logf("graceful shutdown in %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("wharf did not exit within 5s of SIGTERM; stderr:\n%s", s.stderr)
	}
	if strings.Contains(s.stderr.String(), "level=ERROR") {
		t.Errorf("wharf logged errors (an internal fault behind some response):\n%s", s.stderr)
	}
}

// forEachEngine runs fn once per database engine, in parallel subtests.
func forEachEngine(t *testing.T, fn func(t *testing.T, engine db.Dialect)) {
	for _, engine := range dbtest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			fn(t, engine)
			t.Logf("%s: %v", engine, time.Since(start).Round(time.Millisecond))
		})
	}
}

// ---------------------------------------------------------------------------
// HTTP clients

// response is one finished HTTP exchange.
type response struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
}

func (r *response) String() string {
	return fmt.Sprintf("%s %s → %d %s", r.Method, r.Path, r.Status, bytes.TrimSpace(r.Body))
}

// value decodes the body as JSON (numbers kept as json.Number, so that an
// integer stays distinguishable from a float).
func (r *response) value(t *testing.T) any {
	t.Helper()
	v, err := decodeJSON(r.Body)
	if err != nil {
		t.Fatalf("%s: body is not JSON: %v", r, err)
	}
	return v
}

// object decodes the body as a JSON object.
func (r *response) object(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.value(t).(map[string]any)
	if !ok {
		t.Fatalf("%s: body is not a JSON object", r)
	}
	return m
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

// client talks to wharf the way infra.quay_configuration's APIModule does
// (module_utils/api_module.py, quay-clients.md §1): one cookie jar per
// module run, redirects not followed, and on every request — GET and DELETE
// without a body included — Content-Type: application/json and Accept:
// application/json; then either Authorization: Bearer <token> or the session
// cookie plus X-CSRF-Token.
type client struct {
	t     *testing.T
	base  string
	http  *http.Client
	token string // Authorization: Bearer
	csrf  string // X-CSRF-Token of a session login
}

func (s *e2eServer) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: s.URL, http: &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second, // the collection's default timeout
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

func (s *e2eServer) withToken(t *testing.T, token string) *client {
	c := s.client(t)
	c.token = token
	return c
}

// userAgent is sent by every request of these tests (login_success logs it).
const userAgent = "wharf-e2e/1 (ansible-httpget)"

// raw sends one request. path is absolute ("/api/v1/…", "/csrf_token").
func (c *client) raw(method, path string, body io.Reader, headers map[string]string) *response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("User-Agent", userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &response{Method: method, Path: path, Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// call is APIModule.make_request: path is relative to /api/v1/ unless it
// starts with "/"; body (if not nil) is JSON-encoded. Like the collection,
// it requires every non-empty body to be JSON (json.loads), and, wharf's
// rule, every JSON body on /api/v1 to be served as application/json.
func (c *client) call(method, path string, body any) *response {
	c.t.Helper()
	if !strings.HasPrefix(path, "/") {
		path = "/api/v1/" + path
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	r := c.raw(method, path, rd, map[string]string{"Content-Type": "application/json", "Accept": "application/json"})
	if len(bytes.TrimSpace(r.Body)) > 0 {
		if _, err := decodeJSON(r.Body); err != nil {
			c.t.Errorf("%s: the collection json.loads every body: %v (quay-clients.md §1, §5.1)", r, err)
		} else if ct := r.Header.Get("Content-Type"); strings.HasPrefix(path, "/api/") && !strings.HasPrefix(ct, "application/json") {
			c.t.Errorf("%s: Content-Type %q, want application/json", r, ct)
		}
	}
	return r
}

// expect fails the test unless r has one of the statuses.
func expect(t *testing.T, r *response, statuses ...int) {
	t.Helper()
	if !slices.Contains(statuses, r.Status) {
		t.Fatalf("%s: want status %v", r, statuses)
	}
}

// Status sets of the collection's helpers (quay-clients.md §1).
var (
	okGet    = []int{200}
	okCreate = []int{200, 201, 204}
	okUpdate = []int{200, 201, 204}
	okDelete = []int{200, 201, 202, 204}
)

// exists is get_object_path: 200 → the object, 404 → nil (absent); any
// other status would make the module fail.
func (c *client) exists(path string) map[string]any {
	c.t.Helper()
	r := c.call("GET", path, nil)
	if r.Status == 404 {
		return nil
	}
	expect(c.t, r, okGet...)
	return r.object(c.t)
}

// login is APIModule.authenticate (quay-clients.md §2.2): GET /csrf_token
// with Accept */*, then POST /api/v1/signin with X-CSRF-Token, which must
// answer exactly 200 with X-Next-CSRF-Token; later calls send that token.
func (c *client) login(username, password string) {
	c.t.Helper()
	r := c.raw("GET", "/csrf_token", nil, map[string]string{"Content-Type": "application/json", "Accept": "*/*"})
	expect(c.t, r, 200)
	tok, _ := r.object(c.t)["csrf_token"].(string)
	if tok == "" {
		c.t.Fatalf("%s: no csrf_token", r)
	}
	c.csrf = tok
	r = c.call("POST", "signin", map[string]any{"username": username, "password": password})
	if r.Status != 200 {
		c.t.Fatalf("%s: signin must answer exactly 200 (quay-clients.md §2.2)", r)
	}
	next := r.Header.Get("X-Next-CSRF-Token")
	if next == "" {
		c.t.Fatalf("%s: no X-Next-CSRF-Token header (quay-clients.md §2.2)", r)
	}
	c.csrf = next
}

// sessionCookie returns the value of the cookie the jar holds for the server.
func (c *client) sessionCookie() *http.Cookie {
	u, _ := url.Parse(c.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "_csrf_token" {
			return ck
		}
	}
	return nil
}

// signout is the collection's POST /api/v1/signout at module exit. It also
// checks that the server really ended the session: the old cookie, replayed,
// no longer authenticates.
func (c *client) signout() {
	c.t.Helper()
	old := c.sessionCookie()
	if old == nil {
		c.t.Fatal("no session cookie before signout")
	}
	replay := &client{t: c.t, base: c.base, http: &http.Client{Timeout: 10 * time.Second}}
	whoami := func() *response {
		return replay.raw("GET", "/api/v1/user/", nil, map[string]string{"Cookie": old.Name + "=" + old.Value, "Accept": "application/json"})
	}
	// Before: the cookie alone authenticates a GET (who_am_i, §5.9).
	if r := whoami(); r.Status != 200 {
		c.t.Errorf("%s: the session cookie does not authenticate, want 200", r)
	}
	r := c.call("POST", "signout", nil)
	expect(c.t, r, 200, 204)
	if r := whoami(); r.Status != 401 {
		c.t.Errorf("%s: the session cookie still works after signout, want 401", r)
	}
}

// signinStatus reports the status of a fresh username/password login; it
// proves what password (and enabled flag) the server stored.
func (s *e2eServer) signinStatus(t *testing.T, username, password string) int {
	t.Helper()
	c := s.client(t)
	r := c.raw("GET", "/csrf_token", nil, map[string]string{"Accept": "*/*"})
	expect(t, r, 200)
	c.csrf, _ = r.object(t)["csrf_token"].(string)
	return c.call("POST", "signin", map[string]any{"username": username, "password": password}).Status
}

// initialize is quay_first_user with create_token: true; it returns a
// client using the minted token.
func (s *e2eServer) initialize(t *testing.T, username, password, email string) *client {
	t.Helper()
	r := s.client(t).call("POST", "user/initialize", map[string]any{
		"username": username, "password": password, "access_token": true, "email": email})
	expect(t, r, 200)
	tok, _ := r.object(t)["access_token"].(string)
	if tok == "" {
		t.Fatalf("%s: no access_token", r)
	}
	return s.withToken(t, tok)
}

// ---------------------------------------------------------------------------
// JSON assertions

// jsonEqual compares two decoded or Go values by their JSON encoding, so an
// int 604800 equals json.Number("604800") but not "604800" or 604800.0.
func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// differences returns the keys of want whose value in got differs — the
// collection's update() comparison.
func differences(got map[string]any, want map[string]any) map[string]any {
	diff := map[string]any{}
	for k, v := range want {
		if !jsonEqual(got[k], v) {
			diff[k] = v
		}
	}
	return diff
}

// mustMatch fails unless every key of want has exactly that value in got.
func mustMatch(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if !jsonEqual(got[k], v) {
			t.Errorf("%s: %q = %s, want %s (full: %s)", what, k, js(got[k]), js(v), js(got))
		}
	}
}

// mustBool fails unless got[k] is a JSON boolean equal to want.
func mustBool(t *testing.T, what string, got map[string]any, k string, want bool) {
	t.Helper()
	b, ok := got[k].(bool)
	if !ok || b != want {
		t.Errorf("%s: %q = %s, want the JSON boolean %v", what, k, js(got[k]), want)
	}
}

func objects(t *testing.T, v any, what string) []map[string]any {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: want a JSON list, got %s", what, js(v))
	}
	out := make([]map[string]any, len(list))
	for i, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("%s[%d]: want an object, got %s", what, i, js(x))
		}
		out[i] = m
	}
	return out
}

func findBy(list []map[string]any, key string, value any) map[string]any {
	for _, m := range list {
		if jsonEqual(m[key], value) {
			return m
		}
	}
	return nil
}

// avatarHash is Quay's avatar hash: sha256 of the trimmed lower-case e-mail
// (of the name when there is none).
func avatarHash(nameOrEmail string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(nameOrEmail))))
	return hex.EncodeToString(sum[:])
}

// checkAvatar checks the avatar block of §1.9.1.
func checkAvatar(t *testing.T, what string, v any, name, email, kind string) {
	t.Helper()
	av, ok := v.(map[string]any)
	if !ok {
		t.Errorf("%s: avatar = %s, want an object", what, js(v))
		return
	}
	src := email
	if src == "" {
		src = name
	}
	mustMatch(t, what+" avatar", av, map[string]any{"name": name, "hash": avatarHash(src), "kind": kind})
	if c, _ := av["color"].(string); !strings.HasPrefix(c, "#") {
		t.Errorf("%s: avatar color %s, want #rrggbb", what, js(av["color"]))
	}
}

// checkQuotaFields checks the quota keys every superuser user/org view has
// with the default FEATURE_QUOTA_MANAGEMENT + FEATURE_EDIT_QUOTA (§1.9.2).
func checkQuotaFields(t *testing.T, what string, v map[string]any) {
	t.Helper()
	if !jsonEqual(v["quotas"], []any{}) {
		t.Errorf("%s: quotas = %s, want []", what, js(v["quotas"]))
	}
	mustMatch(t, what+" quota_report", asObject(v["quota_report"]), map[string]any{
		"quota_bytes": 0, "configured_quota": nil, "running_backfill": "complete", "backfill_status": "complete"})
}

func asObject(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

// checkProblem checks wharf's one error body (README "Where wharf
// deliberately differs": Quay's problem JSON plus message).
func checkProblem(t *testing.T, r *response, status int, errorType, detailContains string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: want status %d", r, status)
		return
	}
	v, err := decodeJSON(r.Body)
	p, _ := v.(map[string]any)
	if err != nil || p == nil {
		t.Errorf("%s: error body is not a JSON object", r)
		return
	}
	detail, _ := p["detail"].(string)
	mustMatch(t, r.Method+" "+r.Path+" error", p, map[string]any{
		"status": status, "error_type": errorType, "title": errorType, "error_message": detail, "message": detail})
	if !strings.Contains(detail, detailContains) {
		t.Errorf("%s: detail %q, want it to contain %q", r, detail, detailContains)
	}
	if typ, _ := p["type"].(string); !strings.HasSuffix(typ, "/api/v1/error/"+errorType) {
		t.Errorf("%s: type %q, want …/api/v1/error/%s", r, typ, errorType)
	}
}

// rfc2822 is Quay's format_date (RFC 2822, numeric -0000 zone).
const rfc2822 = "Mon, 02 Jan 2006 15:04:05 -0000"

// allLogs reads every page of GET /api/v1/superuser/logs (default window).
func allLogs(t *testing.T, c *client) []map[string]any {
	t.Helper()
	var all []map[string]any
	path := "superuser/logs"
	for page := 1; ; page++ {
		r := c.call("GET", path, nil)
		expect(t, r, 200)
		body := r.object(t)
		logs := objects(t, body["logs"], "logs")
		all = append(all, logs...)
		next, ok := body["next_page"].(string)
		if !ok {
			return all
		}
		if len(logs) != 20 {
			t.Errorf("logs page %d has %d entries and a next_page, want 20 per page", page, len(logs))
		}
		if page > 100 {
			t.Fatal("logs never end")
		}
		path = "superuser/logs?next_page=" + url.QueryEscape(next)
	}
}

// wantLog is one audit entry a test expects to find.
type wantLog struct {
	kind, performer, namespace string
	metadata                   map[string]any
	viaToken                   bool // performed with the /user/initialize token: oauth_token_* metadata
}

// findLog returns the first entry matching w (kind, performer, namespace,
// metadata subset) or nil.
func findLog(logs []map[string]any, w wantLog) map[string]any {
	for _, e := range logs {
		if e["kind"] != w.kind {
			continue
		}
		if w.performer != "" && asObject(e["performer"])["name"] != w.performer {
			continue
		}
		if w.namespace != "" && asObject(e["namespace"])["name"] != w.namespace {
			continue
		}
		meta := asObject(e["metadata"])
		if len(differences(meta, w.metadata)) == 0 {
			return e
		}
	}
	return nil
}

func mustFindLogs(t *testing.T, logs []map[string]any, wants []wantLog) {
	t.Helper()
	for _, w := range wants {
		e := findLog(logs, w)
		if e == nil {
			var same []string
			for _, l := range logs {
				if l["kind"] == w.kind {
					same = append(same, js(l))
				}
			}
			t.Errorf("no %s log by %q in %q with metadata ⊇ %s; entries of that kind:\n%s",
				w.kind, w.performer, w.namespace, js(w.metadata), strings.Join(same, "\n"))
			continue
		}
		meta := asObject(e["metadata"])
		_, hasToken := meta["oauth_token_id"]
		if w.viaToken {
			mustMatch(t, w.kind+" metadata", meta, map[string]any{
				"oauth_token_application_id": w.performer, "oauth_token_application": "automation"})
			if !hasToken {
				t.Errorf("%s by token: metadata %s lacks oauth_token_id (spec §1.8)", w.kind, js(meta))
			}
		} else if hasToken {
			t.Errorf("%s by session: metadata %s has oauth_token_* keys", w.kind, js(meta))
		}
		if p := asObject(e["performer"]); w.performer != "" {
			mustMatch(t, w.kind+" performer", p, map[string]any{"kind": "user", "name": w.performer, "is_robot": false})
		}
		if e["ip"] != "127.0.0.1" {
			t.Errorf("%s: ip %s, want \"127.0.0.1\"", w.kind, js(e["ip"]))
		}
		if d, _ := e["datetime"].(string); d == "" {
			t.Errorf("%s: no datetime", w.kind)
		} else if _, err := time.Parse(rfc2822, d); err != nil {
			t.Errorf("%s: datetime %q is not RFC 2822 with -0000 (§1.6): %v", w.kind, d, err)
		}
	}
}

// ---------------------------------------------------------------------------
// TestSeedCurlExamples

// The seed's example commands (Red Hat Quay API reference §7.21, chapter
// "超级用户"), copied verbatim including the prompt. Only the placeholders
// are substituted before the command is split like a POSIX shell would.
const (
	seedCreateInstallUser = `$ curl -X POST -H "Authorization: Bearer <bearer_token>" -H "Content-Type: application/json" -d '{
  "username": "newuser",
  "email": "newuser@example.com"
}' "https://<quay-server.example.com>/api/v1/superuser/users/"`

	seedDeleteInstallUser = `$ curl -X DELETE -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/superuser/users/{username}"`

	seedListAllUsers = `$ curl -X GET -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/superuser/users/"`

	seedListAllLogs = `$ curl -X GET \
  -H "Authorization: Bearer <bearer_token>" \
  "https://<quay_server>/api/v1/superuser/logs?starttime=<start_time>&endtime=<end_time>&page=<page_number>&next_page=<next_page_token>"`

	seedListAllOrganizations = `$ curl -X GET -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/superuser/organizations/"`

	seedChangeOrganization = `$ curl -X PUT \
  -H "Authorization: Bearer <bearer_token>" \
  -H "Content-Type: application/json" \
  -d '{
        "email": "<contact_email>",
        "invoice_email": <boolean_value>,
        "invoice_email_address": "<invoice_email_address>",
        "tag_expiration_s": <expiration_seconds>
      }' \
  "https://<quay_server>/api/v1/superuser/organizations/<organization_name>"`

	seedDeleteOrganization = `$ curl -X DELETE \
  -H "Authorization: Bearer <bearer_token>" \
  "https://<quay_server>/api/v1/superuser/organizations/<organization_name>"`
)

// shellWords splits a command line as sh does for the subset the seed uses:
// blanks, '…', "…" (with \" \\ \$ \` escapes), backslash-newline. Anything
// that would need a real shell (expansions, pipes, redirections) is refused.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i++
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			i++
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' at %d", i)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch {
				case s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0:
					if s[i+1] != '\n' {
						cur.WriteByte(s[i+1])
					}
					i++
				case s[i] == '$' || s[i] == '`':
					return nil, fmt.Errorf("shell expansion in %q", s)
				default:
					cur.WriteByte(s[i])
				}
			}
			if i >= len(s) {
				return nil, fmt.Errorf(`unterminated " in %q`, s)
			}
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.IndexByte("$`|;&<>(){}*?", c) >= 0:
			return nil, fmt.Errorf("unquoted %q needs a shell", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

var leftoverPlaceholder = regexp.MustCompile(`<[A-Za-z_.-]+>|\{username\}`)

// runSeedCurl runs one seed command through the real curl binary: the
// command's own arguments unchanged after substituting vars, preceded by
// output-only options (-q: ignore ~/.curlrc, -sS: no progress meter, -D/-o:
// where to write the response headers and body); nothing on the wire changes.
func runSeedCurl(t *testing.T, command string, vars map[string]string) *response {
	t.Helper()
	line := strings.TrimPrefix(command, "$ ")
	for k, v := range vars {
		line = strings.ReplaceAll(line, k, v)
	}
	words, err := shellWords(line)
	if err != nil {
		t.Fatalf("split seed command: %v", err)
	}
	if len(words) == 0 || words[0] != "curl" {
		t.Fatalf("not a curl command: %q", line)
	}
	for _, w := range words {
		if m := leftoverPlaceholder.FindString(w); m != "" {
			t.Fatalf("placeholder %s left in %q", m, w)
		}
	}
	dir := t.TempDir()
	hdr, body := filepath.Join(dir, "headers"), filepath.Join(dir, "body")
	args := append([]string{"-q", "-sS", "-D", hdr, "-o", body}, words[1:]...)
	cmd := exec.Command("curl", args...)
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl %q: %v\n%s", words[1:], err, out)
	}
	rawHdr, err := os.ReadFile(hdr)
	if err != nil {
		t.Fatal(err)
	}
	rawBody, err := os.ReadFile(body)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(rawHdr), "\r\n", "\n")), "\n")
	r := &response{Header: http.Header{}, Body: rawBody}
	if _, err := fmt.Sscanf(lines[0], "HTTP/%s %d", new(string), &r.Status); err != nil {
		t.Fatalf("status line %q: %v", lines[0], err)
	}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	for i, w := range words {
		if i > 0 && words[i-1] == "-X" {
			r.Method = w
		}
		if strings.HasPrefix(w, "http://") {
			u, _ := url.Parse(w)
			r.Path = u.RequestURI()
		}
	}
	t.Logf("curl %s %s → %d", r.Method, r.Path, r.Status)
	return r
}

// mustJSONBody checks that an /api/v1 answer is application/json.
func mustJSONBody(t *testing.T, r *response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", r, ct)
	}
}

func TestSeedCurlExamples(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("the seed examples must run through the real curl: %v", err)
	}
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		srv := startWharf(t, engineEnv(t, engine))
		admin := srv.initialize(t, "quayadmin", "quayadmin-password", "quayadmin@example.com")
		base := map[string]string{
			"<bearer_token>":                    admin.token,
			"https://<quay-server.example.com>": srv.URL,
			"https://<quay_server>":             srv.URL,
		}
		with := func(extra map[string]string) map[string]string {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}

		var newuserView map[string]any
		t.Run("7.21.1 createInstallUser", func(t *testing.T) {
			r := runSeedCurl(t, seedCreateInstallUser, base)
			// Documented 201; Quay's code (and wharf) answer 200 (spec §2.1, §6 item 3).
			expect(t, r, 200)
			mustJSONBody(t, r)
			body := r.object(t)
			keys := slices.Sorted(maps.Keys(body))
			if !slices.Equal(keys, []string{"email", "encrypted_password", "password", "username"}) {
				t.Errorf("createInstallUser keys %v, want email, encrypted_password, password, username", keys)
			}
			mustMatch(t, "createInstallUser", body, map[string]any{"username": "newuser", "email": "newuser@example.com"})
			password, _ := body["password"].(string)
			if !regexp.MustCompile(`^[A-Z0-9]{32}$`).MatchString(password) {
				t.Errorf("password %q, want 32 characters of [A-Z0-9] (§2.1)", password)
			}
			enc, _ := body["encrypted_password"].(string)
			if raw, err := base64.StdEncoding.DecodeString(enc); err != nil || len(raw) < 32 || len(raw)%16 != 0 {
				t.Errorf("encrypted_password %q: want base64(16-byte IV ‖ AES-CBC blocks) (§2.1): %v", enc, err)
			}

			// What was stored: the superuser view, and the password works.
			r = admin.call("GET", "superuser/users/newuser", nil)
			expect(t, r, 200)
			newuserView = r.object(t)
			mustMatch(t, "getInstallUser newuser", newuserView, map[string]any{
				"kind": "user", "name": "newuser", "username": "newuser", "email": "newuser@example.com",
				"verified": true, "enabled": true, "super_user": false, "global_readonly_super_user": false})
			checkAvatar(t, "newuser", newuserView["avatar"], "newuser", "newuser@example.com", "user")
			checkQuotaFields(t, "newuser", newuserView)
			if st := srv.signinStatus(t, "newuser", password); st != 200 {
				t.Errorf("signin with the generated password: %d, want 200", st)
			}

			// The same command again: the name is taken.
			r = runSeedCurl(t, seedCreateInstallUser, base)
			checkProblem(t, r, 400, "invalid_request", "newuser")
		})

		t.Run("7.21.3 listAllUsers", func(t *testing.T) {
			r := runSeedCurl(t, seedListAllUsers, base)
			expect(t, r, 200)
			mustJSONBody(t, r)
			body := r.object(t)
			if _, ok := body["next_page"]; ok {
				t.Errorf("unpaginated list has next_page: %s", r)
			}
			users := objects(t, body["users"], "users")
			if len(users) != 2 {
				t.Errorf("listAllUsers: %d users, want quayadmin and newuser: %s", len(users), r)
			}
			if u := findBy(users, "username", "newuser"); u == nil || !jsonEqual(u, newuserView) {
				t.Errorf("listAllUsers newuser = %s, want the getInstallUser view %s", js(u), js(newuserView))
			}
			adm := findBy(users, "username", "quayadmin")
			if adm == nil {
				t.Fatalf("quayadmin not listed: %s", r)
			}
			mustMatch(t, "quayadmin", adm, map[string]any{"email": "quayadmin@example.com", "super_user": true, "enabled": true, "kind": "user"})
			checkAvatar(t, "quayadmin", adm["avatar"], "quayadmin", "quayadmin@example.com", "user")
		})

		// Organizations to list, change and delete, and enough log entries
		// (one org_create each) for listAllLogs to have a second page.
		mustCreated := func(name, email string) {
			r := admin.call("POST", "organization/", map[string]any{"name": name, "email": email})
			expect(t, r, 201)
			if !jsonEqual(r.value(t), "Created") {
				t.Errorf("%s: want the JSON string \"Created\"", r)
			}
		}
		mustCreated("acme", "acme@example.com")
		const fillers = 24
		for i := range fillers {
			mustCreated(fmt.Sprintf("filler-%02d", i), fmt.Sprintf("filler-%02d@example.com", i))
		}

		t.Run("7.21.5 listAllOrganizations", func(t *testing.T) {
			r := runSeedCurl(t, seedListAllOrganizations, base)
			expect(t, r, 200)
			mustJSONBody(t, r)
			body := r.object(t)
			orgs := objects(t, body["organizations"], "organizations")
			if len(orgs) != fillers+1 {
				t.Errorf("listAllOrganizations: %d organizations, want %d", len(orgs), fillers+1)
			}
			if _, ok := body["next_page"]; ok {
				t.Errorf("unpaginated list has next_page")
			}
			acme := findBy(orgs, "name", "acme")
			if acme == nil {
				t.Fatalf("acme not listed: %s", r)
			}
			mustMatch(t, "acme", acme, map[string]any{"name": "acme", "email": "acme@example.com"})
			checkAvatar(t, "acme", acme["avatar"], "acme", "acme@example.com", "org")
			checkQuotaFields(t, "acme", acme)
			if u := findBy(orgs, "name", "quayadmin"); u != nil {
				t.Errorf("a user is listed as an organization: %s", js(u))
			}
			// The heading documents the path without the slash: 308 to it (§1.1, §6 item 6).
			r = admin.raw("GET", "/api/v1/superuser/organizations", nil, nil)
			if r.Status != 308 || r.Header.Get("Location") != srv.URL+"/api/v1/superuser/organizations/" {
				t.Errorf("%s Location %q: want 308 to the slashed URL", r, r.Header.Get("Location"))
			}
		})

		t.Run("7.21.16 changeOrganization", func(t *testing.T) {
			vars := with(map[string]string{
				"<organization_name>": "acme", "<contact_email>": "billing@acme.example.com", "<boolean_value>": "true",
				"<invoice_email_address>": "invoices@acme.example.com", "<expiration_seconds>": "604800"})
			r := runSeedCurl(t, seedChangeOrganization, vars)
			expect(t, r, 200)
			mustJSONBody(t, r)
			view := r.object(t)
			mustMatch(t, "changeOrganization", view, map[string]any{"name": "acme", "email": "billing@acme.example.com"})
			checkAvatar(t, "changeOrganization", view["avatar"], "acme", "billing@acme.example.com", "org")
			checkQuotaFields(t, "changeOrganization", view)

			stored := map[string]any{"name": "acme", "email": "billing@acme.example.com", "invoice_email": true,
				"invoice_email_address": "invoices@acme.example.com", "tag_expiration_s": 604800}
			r = admin.call("GET", "organization/acme", nil)
			expect(t, r, 200)
			mustMatch(t, "GET organization/acme after changeOrganization", r.object(t), stored)

			// The same command with a value outside TAG_EXPIRATION_OPTIONS: 400, nothing stored.
			vars["<expiration_seconds>"] = "12345"
			vars["<contact_email>"] = "other@acme.example.com"
			r = runSeedCurl(t, seedChangeOrganization, vars)
			checkProblem(t, r, 400, "invalid_request", "12345")
			r = admin.call("GET", "organization/acme", nil)
			expect(t, r, 200)
			mustMatch(t, "GET organization/acme after a refused change", r.object(t), stored)

			r = admin.call("GET", "superuser/organizations/", nil)
			expect(t, r, 200)
			acme := findBy(objects(t, r.object(t)["organizations"], "organizations"), "name", "acme")
			mustMatch(t, "listed acme", asObject(acme), map[string]any{"email": "billing@acme.example.com"})
		})

		t.Run("7.21.17 deleteOrganization", func(t *testing.T) {
			vars := with(map[string]string{"<organization_name>": "acme"})
			r := runSeedCurl(t, seedDeleteOrganization, vars)
			expect(t, r, 204)
			if len(r.Body) != 0 {
				t.Errorf("%s: want an empty body", r)
			}
			checkProblem(t, admin.call("GET", "organization/acme", nil), 404, "not_found", "")
			r = admin.call("GET", "superuser/organizations/", nil)
			expect(t, r, 200)
			if o := findBy(objects(t, r.object(t)["organizations"], "organizations"), "name", "acme"); o != nil {
				t.Errorf("deleted organization still listed: %s", js(o))
			}
			checkProblem(t, runSeedCurl(t, seedDeleteOrganization, vars), 404, "not_found", "")
			// A user's name is not an organization (§2.17).
			checkProblem(t, runSeedCurl(t, seedDeleteOrganization, with(map[string]string{"<organization_name>": "newuser"})), 404, "not_found", "")
		})

		t.Run("7.21.2 deleteInstallUser", func(t *testing.T) {
			vars := with(map[string]string{"{username}": "newuser"})
			r := runSeedCurl(t, seedDeleteInstallUser, vars)
			// Documented 201 with a body; Quay's code (and wharf) answer 204 (§2.2, §6 item 2).
			expect(t, r, 204)
			if len(r.Body) != 0 {
				t.Errorf("%s: want an empty body", r)
			}
			checkProblem(t, admin.call("GET", "superuser/users/newuser", nil), 404, "not_found", "")
			r = admin.call("GET", "superuser/users/", nil)
			expect(t, r, 200)
			if u := findBy(objects(t, r.object(t)["users"], "users"), "username", "newuser"); u != nil {
				t.Errorf("deleted user still listed: %s", js(u))
			}
			checkProblem(t, runSeedCurl(t, seedDeleteInstallUser, vars), 404, "not_found", "")
			checkProblem(t, runSeedCurl(t, seedDeleteInstallUser, with(map[string]string{"{username}": "quayadmin"})),
				400, "invalid_request", "Cannot delete a superuser")
		})

		t.Run("7.21.4 listAllLogs", func(t *testing.T) {
			today := time.Now().UTC().Truncate(24 * time.Hour)
			start, end := today.AddDate(0, 0, -1), today.AddDate(0, 0, 1)
			vars := with(map[string]string{
				"<start_time>": start.Format("01/02/2006"), "<end_time>": end.Format("01/02/2006"),
				"<page_number>": "1", "<next_page_token>": ""})
			var all []map[string]any
			for page := 1; ; page++ {
				vars["<page_number>"] = fmt.Sprint(page)
				r := runSeedCurl(t, seedListAllLogs, vars)
				expect(t, r, 200)
				mustJSONBody(t, r)
				body := r.object(t)
				// The end date is inclusive: end_time is the day after (§2.4).
				mustMatch(t, "listAllLogs window", body, map[string]any{
					"start_time": start.Format(rfc2822), "end_time": end.AddDate(0, 0, 1).Format(rfc2822)})
				logs := objects(t, body["logs"], "logs")
				all = append(all, logs...)
				next, ok := body["next_page"].(string)
				if page == 1 && (!ok || len(logs) != 20) {
					t.Fatalf("first page: %d entries, next_page %s; want 20 and a next_page (>20 entries exist)", len(logs), js(body["next_page"]))
				}
				if !ok {
					if _, present := body["next_page"]; present {
						t.Errorf("last page: next_page = %s, want the key absent (§1.7)", js(body["next_page"]))
					}
					break
				}
				if len(logs) != 20 {
					t.Errorf("page %d: %d entries with a next_page, want 20", page, len(logs))
				}
				if page > 20 {
					t.Fatal("the log pages never end")
				}
				vars["<next_page_token>"] = url.QueryEscape(next)
			}

			// Newest first, no entry twice, each in the §1.9.7 shape.
			seen := map[string]bool{}
			var prev time.Time
			for i, e := range all {
				key := js(e)
				if seen[key] {
					t.Errorf("entry %d appears twice across pages: %s", i, key)
				}
				seen[key] = true
				d, err := time.Parse(rfc2822, fmt.Sprint(e["datetime"]))
				if err != nil {
					t.Errorf("entry %d datetime %s: %v", i, js(e["datetime"]), err)
					continue
				}
				if i > 0 && d.After(prev) {
					t.Errorf("entry %d (%s) is newer than entry %d: want newest first", i, d, i-1)
				}
				prev = d
				if _, ok := e["metadata"].(map[string]any); !ok {
					t.Errorf("entry %d metadata %s, want an object", i, js(e["metadata"]))
				}
			}
			var orgCreates int
			for _, e := range all {
				if e["kind"] == "org_create" {
					orgCreates++
				}
			}
			if orgCreates != fillers+1 {
				t.Errorf("%d org_create entries over all pages, want %d", orgCreates, fillers+1)
			}
			mustFindLogs(t, all, []wantLog{
				{kind: "user_create", performer: "quayadmin", namespace: "newuser", viaToken: true,
					metadata: map[string]any{"email": "newuser@example.com", "username": "newuser", "superuser": "quayadmin"}},
				{kind: "login_success", performer: "newuser", namespace: "newuser", metadata: map[string]any{"type": "quayauth", "useragent": userAgent}},
				{kind: "org_create", performer: "quayadmin", namespace: "acme", viaToken: true, metadata: map[string]any{"email": "acme@example.com", "namespace": "acme"}},
				{kind: "org_change_email", performer: "quayadmin", namespace: "acme", viaToken: true, metadata: map[string]any{"email": "billing@acme.example.com", "namespace": "acme"}},
				{kind: "org_change_invoicing", performer: "quayadmin", namespace: "acme", viaToken: true,
					metadata: map[string]any{"invoice_email": true, "invoice_email_address": "invoices@acme.example.com", "namespace": "acme"}},
				{kind: "org_change_tag_expiration", performer: "quayadmin", namespace: "acme", viaToken: true, metadata: map[string]any{"tag_expiration": 604800, "namespace": "acme"}},
				{kind: "org_delete", performer: "quayadmin", namespace: "acme", viaToken: true, metadata: map[string]any{"namespace": "acme"}},
				{kind: "user_delete", performer: "quayadmin", namespace: "newuser", viaToken: true, metadata: map[string]any{"username": "newuser"}},
			})
			// The namespace and performer blocks of §1.9.7, with the avatars of the time.
			if e := findLog(all, wantLog{kind: "org_create", namespace: "acme"}); e != nil {
				ns := asObject(e["namespace"])
				if ns["kind"] != "org" {
					t.Errorf("org_create: namespace kind %s, want \"org\"", js(ns["kind"]))
				}
				checkAvatar(t, "org_create namespace", ns["avatar"], "acme", "acme@example.com", "org")
				checkAvatar(t, "org_create performer", asObject(e["performer"])["avatar"], "quayadmin", "quayadmin@example.com", "user")
			}

			// wharf refuses a next_page it did not issue (README: never silently page 1).
			vars["<next_page_token>"] = "bm90LWEtdG9rZW4"
			checkProblem(t, runSeedCurl(t, seedListAllLogs, vars), 400, "invalid_request", "Invalid page token")
		})
	})
}

// ---------------------------------------------------------------------------
// TestAnsibleModules

// modules replays the collection's modules as the superuser, in one of
// the two authentication modes of quay-clients.md §2: "token" (quay_token,
// Authorization: Bearer) or "session" (quay_username/quay_password: cookie
// + X-CSRF-Token).
type modules struct {
	srv        *e2eServer
	mode       string // "token" or "session"
	adminToken string
	adminUser  string
	adminPass  string
	suffix     string // keeps the two modes' objects apart
}

// run is one Ansible task: a fresh Request object (cookie jar); with
// username/password the module logs in first and signs out at exit.
func (m *modules) run(t *testing.T, task func(c *client)) {
	t.Helper()
	c := m.srv.client(t)
	if m.mode == "token" {
		c.token = m.adminToken
	} else {
		c.login(m.adminUser, m.adminPass)
		defer c.signout()
	}
	task(c)
}

func TestAnsibleModules(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		srv := startWharf(t, engineEnv(t, engine))
		const adminUser, adminPass = "quayadmin", "Ansible-first-user-1"
		var adminToken string

		t.Run("quay_first_user", func(t *testing.T) {
			body := map[string]any{"username": adminUser, "password": adminPass, "access_token": true, "email": "quayadmin@example.com"}
			r := srv.client(t).call("POST", "user/initialize", body)
			expect(t, r, okCreate...)
			res := r.object(t)
			mustMatch(t, "initialize", res, map[string]any{"username": adminUser, "email": "quayadmin@example.com"})
			adminToken, _ = res["access_token"].(string)
			if !regexp.MustCompile(`^[A-Z0-9]{40}$`).MatchString(adminToken) {
				t.Fatalf("access_token %q, want 40 characters of [A-Z0-9] (§4)", adminToken)
			}
			if enc, _ := res["encrypted_password"].(string); enc == "" {
				t.Errorf("initialize: no encrypted_password: %s", r)
			}
			// Quay also logs the new user in (§4 step 4).
			if r.Header.Get("X-Next-CSRF-Token") == "" || len(r.Header.Values("Set-Cookie")) == 0 {
				t.Errorf("initialize: X-Next-CSRF-Token %q, Set-Cookie %q: want the session of the new user (§4)",
					r.Header.Get("X-Next-CSRF-Token"), r.Header.Values("Set-Cookie"))
			}
			// The user is a superuser and the token has every scope incl. super:user.
			admin := srv.withToken(t, adminToken)
			r = admin.call("GET", "superuser/users/"+adminUser, nil)
			expect(t, r, 200)
			mustBool(t, "first user", r.object(t), "super_user", true)
			r = admin.call("GET", "user/", nil)
			expect(t, r, 200)
			mustMatch(t, "who_am_i", r.object(t), map[string]any{"username": adminUser, "super_user": true})
			// Not idempotent by design: a second run must fail (400, not 2xx).
			r = srv.client(t).call("POST", "user/initialize", body)
			if r.Status != 400 {
				t.Errorf("%s: second initialize, want 400", r)
			} else if msg, _ := r.object(t)["message"].(string); !strings.Contains(msg, "Cannot initialize user in a non-empty database") {
				t.Errorf("%s: want message \"Cannot initialize user in a non-empty database\"", r)
			}
		})
		if adminToken == "" {
			t.Fatal("no first user")
		}

		for _, mode := range []string{"token", "session"} {
			t.Run(mode, func(t *testing.T) {
				m := &modules{srv: srv, mode: mode, adminToken: adminToken, adminUser: adminUser, adminPass: adminPass, suffix: mode[:1]}
				var userPass string
				t.Run("quay_user", func(t *testing.T) { userPass = m.quayUser(t) })
				t.Run("quay_organization", m.quayOrganization)
				t.Run("quay_application", m.quayApplication)
				t.Run("quay_api_token", func(t *testing.T) { m.quayAPIToken(t, userPass) })
				t.Run("quay_message", m.quayMessage)
				t.Run("quay_docker_token", m.quayDockerToken)
				t.Run("tenancy", m.quayTenancy)
				t.Run("tags", m.quayTags)
			})
		}
	})
}

// quayUser replays quay_user (quay-clients.md §3): create, update, no-op,
// absent. It leaves a second user behind for quay_api_token and returns its
// password.
func (m *modules) quayUser(t *testing.T) string {
	name := "ansible-user-" + m.suffix
	email1, email2 := name+"@example.com", name+"@new.example.com"
	pass1, pass2 := "Initial-pass-1", "Changed-pass-2"
	path := "superuser/users/" + name

	// update() of the module: compare the requested subset with the GET view
	// (password always counts as a change) and PUT exactly the differing keys.
	update := func(c *client, current map[string]any, want map[string]any) map[string]any {
		t.Helper()
		diff := differences(current, want)
		if p, ok := want["password"]; ok {
			diff["password"] = p
		}
		if len(diff) > 0 {
			expect(t, c.call("PUT", path, diff), okUpdate...)
		}
		return diff
	}
	checkStored := func(c *client, path string, want map[string]any) map[string]any {
		t.Helper()
		view := c.exists(path)
		if view == nil {
			t.Fatalf("GET %s: 404 after the update", path)
		}
		mustMatch(t, "GET "+path, view, want)
		for _, k := range []string{"enabled", "super_user"} {
			if b, ok := want[k].(bool); ok {
				mustBool(t, "GET "+path, view, k, b)
			}
		}
		return view
	}

	// state: present, email1, password pass1 — the user does not exist yet.
	m.run(t, func(c *client) {
		if c.exists(path) != nil {
			t.Fatalf("GET %s: user exists before creation", path)
		}
		expect(t, c.call("POST", "superuser/users/", map[string]any{"username": name, "email": email1}), okCreate...)
		update(c, map[string]any{"username": name, "email": email1, "enabled": true}, map[string]any{"email": email1, "password": pass1})
		checkStored(c, path, map[string]any{"username": name, "email": email1, "enabled": true, "super_user": false})
	})
	if st := m.srv.signinStatus(t, name, pass1); st != 200 {
		t.Errorf("signin with the password quay_user set: %d, want 200", st)
	}

	// Change e-mail and disable.
	want := map[string]any{"email": email2, "enabled": false}
	m.run(t, func(c *client) {
		cur := c.exists(path)
		if cur == nil {
			t.Fatalf("GET %s: 404", path)
		}
		mustBool(t, "GET "+path, cur, "super_user", false)
		if sent := update(c, cur, want); len(sent) != 2 {
			t.Errorf("update sent %s, want email and enabled", js(sent))
		}
		checkStored(c, path, want)
	})
	if st := m.srv.signinStatus(t, name, pass1); st != 403 {
		t.Errorf("signin of the disabled user: %d, want 403", st)
	}

	// The same task again changes nothing: the GET view echoes it exactly.
	m.run(t, func(c *client) {
		cur := c.exists(path)
		if d := differences(cur, want); len(d) != 0 {
			t.Errorf("second run is not idempotent: GET %s differs in %s (view %s)", path, js(d), js(cur))
		}
	})

	// Enable again with a new password.
	m.run(t, func(c *client) {
		cur := c.exists(path)
		update(c, cur, map[string]any{"enabled": true, "password": pass2})
		checkStored(c, path, map[string]any{"email": email2, "enabled": true})
	})
	if st := m.srv.signinStatus(t, name, pass2); st != 200 {
		t.Errorf("signin with the changed password: %d, want 200", st)
	}
	if st := m.srv.signinStatus(t, name, pass1); st != 403 {
		t.Errorf("signin with the old password: %d, want 403", st)
	}

	// A superuser target: the module reads super_user and exits unchanged.
	m.run(t, func(c *client) {
		cur := c.exists("superuser/users/" + m.adminUser)
		mustBool(t, "GET superuser/users/"+m.adminUser, cur, "super_user", true)
	})

	// state: absent for a second user: PUT {"enabled": true, "superuser": false}, then DELETE.
	doomed := "ansible-gone-" + m.suffix
	m.run(t, func(c *client) {
		expect(t, c.call("POST", "superuser/users/", map[string]any{"username": doomed, "email": doomed + "@example.com"}), okCreate...)
	})
	m.run(t, func(c *client) {
		p := "superuser/users/" + doomed
		cur := c.exists(p)
		if cur == nil {
			t.Fatalf("GET %s: 404", p)
		}
		mustBool(t, "GET "+p, cur, "super_user", false)
		r := c.call("PUT", p, map[string]any{"enabled": true, "superuser": false})
		expect(t, r, okUpdate...) // errors ignored by the module, but it must not be refused (§5.7)
		checkStored(c, p, map[string]any{"enabled": true, "super_user": false})
		expect(t, c.call("DELETE", p, nil), okDelete...)
		if c.exists(p) != nil {
			t.Errorf("GET %s: still there after DELETE", p)
		}
	})
	// absent again: GET 404, nothing else.
	m.run(t, func(c *client) {
		if c.exists("superuser/users/"+doomed) != nil {
			t.Errorf("deleted user reappeared")
		}
	})
	return pass2
}

// quayOrganization replays quay_organization: create with e-mail and
// time_machine_expiration, update, no-op, rename, absent.
func (m *modules) quayOrganization(t *testing.T) {
	name, renamed := "ansible-org-"+m.suffix, "ansible-renamed-"+m.suffix
	email1, email2 := name+"@example.com", name+"@billing.example.com"

	present := func(c *client, org string, want map[string]any) {
		t.Helper()
		cur := c.exists("organization/" + org)
		if cur == nil {
			expect(t, c.call("POST", "organization/", map[string]any{"name": org, "email": want["email"]}), okCreate...)
			if cur = c.exists("organization/" + org); cur == nil {
				t.Fatalf("GET organization/%s: 404 after creation", org)
			}
		}
		if diff := differences(cur, want); len(diff) > 0 {
			expect(t, c.call("PUT", "organization/"+org, diff), okUpdate...)
		}
		got := c.exists("organization/" + org)
		mustMatch(t, "GET organization/"+org, got, want)
	}

	// Create: time_machine_expiration 1w → tag_expiration_s 604800.
	m.run(t, func(c *client) {
		if c.exists("organization/"+name) != nil {
			t.Fatalf("organization %s exists before creation", name)
		}
		present(c, name, map[string]any{"email": email1, "tag_expiration_s": 604800})
	})
	// Update both fields (4w).
	want := map[string]any{"email": email2, "tag_expiration_s": 2419200}
	m.run(t, func(c *client) { present(c, name, want) })
	// Second run: nothing differs, no PUT.
	m.run(t, func(c *client) {
		cur := c.exists("organization/" + name)
		if d := differences(cur, want); len(d) != 0 {
			t.Errorf("second run is not idempotent: GET organization/%s differs in %s", name, js(d))
		}
		if teams, ok := cur["teams"].(map[string]any); !ok || teams["owners"] == nil {
			t.Errorf("GET organization/%s: teams %s, want the creator's owners team (§5.4, §5.8)", name, js(cur["teams"]))
		}
		if _, ok := cur["quotas"].([]any); !ok {
			t.Errorf("GET organization/%s: quotas %s, want a list (§5.4)", name, js(cur["quotas"]))
		}
	})
	// A refused value (not in TAG_EXPIRATION_OPTIONS) is a 400 the module reports, nothing changes.
	m.run(t, func(c *client) {
		r := c.call("PUT", "organization/"+name, map[string]any{"tag_expiration_s": 3})
		checkProblem(t, r, 400, "invalid_request", "3")
		mustMatch(t, "after a refused PUT", c.exists("organization/"+name), want)
		if m.mode == "session" {
			// The session cookie without X-CSRF-Token cannot write (README: 403).
			csrf := c.csrf
			c.csrf = ""
			r = c.call("PUT", "organization/"+name, map[string]any{"tag_expiration_s": 0})
			c.csrf = csrf
			checkProblem(t, r, 403, "insufficient_scope", "CSRF")
			mustMatch(t, "after a PUT without CSRF token", c.exists("organization/"+name), want)
		}
	})
	// Rename with new_name: GET both, PUT superuser/organizations/{name} {"name": new}.
	m.run(t, func(c *client) {
		if c.exists("organization/"+name) == nil {
			t.Fatalf("organization %s vanished", name)
		}
		if c.exists("organization/"+renamed) != nil {
			t.Fatalf("organization %s exists before the rename", renamed)
		}
		r := c.call("PUT", "superuser/organizations/"+name, map[string]any{"name": renamed})
		expect(t, r, okUpdate...)
		mustMatch(t, "rename answer", r.object(t), map[string]any{"name": renamed})
		if c.exists("organization/"+name) != nil {
			t.Errorf("old name %s still answers after the rename", name)
		}
		got := c.exists("organization/" + renamed)
		if got == nil {
			t.Fatalf("GET organization/%s: 404 after the rename", renamed)
		}
		mustMatch(t, "renamed organization", got, map[string]any{"name": renamed, "email": email2, "tag_expiration_s": 2419200})
	})
	// Absent (the new name exists): DELETE organization/{new_name}.
	m.run(t, func(c *client) {
		if c.exists("organization/"+renamed) == nil {
			t.Fatalf("organization %s missing", renamed)
		}
		expect(t, c.call("DELETE", "organization/"+renamed, nil), okDelete...)
		if c.exists("organization/"+renamed) != nil {
			t.Errorf("organization %s still there after DELETE", renamed)
		}
	})
	m.run(t, func(c *client) {
		if c.exists("organization/"+name) != nil || c.exists("organization/"+renamed) != nil {
			t.Errorf("absent is not idempotent")
		}
	})
}

// appFields is what quay_application compares and PUTs.
func appFields(name, suffix string) map[string]any {
	return map[string]any{"name": name, "description": "Automation " + suffix,
		"application_uri": "https://ci.example.com/" + suffix, "redirect_uri": "https://ci.example.com/" + suffix + "/callback",
		"avatar_email": "ci-" + suffix + "@example.com"}
}

// presentApp is quay_application state=present: returns the application.
func presentApp(t *testing.T, c *client, org, lookup string, want map[string]any) map[string]any {
	t.Helper()
	if c.exists("organization/"+org) == nil {
		t.Fatalf("organization %s does not exist", org)
	}
	listApps := func() []map[string]any {
		r := c.call("GET", "organization/"+org+"/applications", nil)
		expect(t, r, okGet...)
		return objects(t, r.object(t)["applications"], "applications")
	}
	app := findBy(listApps(), "name", lookup)
	if app == nil {
		r := c.call("POST", "organization/"+org+"/applications", want)
		expect(t, r, okCreate...)
		app = r.object(t)
		for _, k := range []string{"name", "client_id", "client_secret"} {
			if s, _ := app[k].(string); s == "" {
				t.Fatalf("%s: no %s in the answer", r, k)
			}
		}
	} else if diff := differences(app, want); len(diff) > 0 {
		r := c.call("PUT", "organization/"+org+"/applications/"+app["client_id"].(string), want) // the full object
		expect(t, r, okUpdate...)
	}
	got := findBy(listApps(), "client_id", app["client_id"])
	if got == nil {
		t.Fatalf("application %s not listed", app["client_id"])
	}
	mustMatch(t, "listed application", got, want)
	if got["client_secret"] != app["client_secret"] {
		t.Errorf("client_secret changed: %s → %s", js(app["client_secret"]), js(got["client_secret"]))
	}
	return got
}

// quayApplication replays quay_application: create, list, full update
// (incl. rename), no-op, delete.
func (m *modules) quayApplication(t *testing.T) {
	org := "ansible-apps-" + m.suffix
	m.run(t, func(c *client) {
		expect(t, c.call("POST", "organization/", map[string]any{"name": org}), okCreate...)
	})
	first := appFields("deployer", m.suffix+"1")
	var clientID string
	m.run(t, func(c *client) {
		app := presentApp(t, c, org, "deployer", first)
		clientID = app["client_id"].(string)
		r := c.call("GET", "organization/"+org+"/applications/"+clientID, nil)
		expect(t, r, 200)
		mustMatch(t, "GET application", r.object(t), first)
	})
	second := appFields("deployer-v2", m.suffix+"2")
	m.run(t, func(c *client) {
		app := presentApp(t, c, org, "deployer", second)
		if app["client_id"] != clientID {
			t.Errorf("update changed client_id %s → %s", clientID, js(app["client_id"]))
		}
	})
	m.run(t, func(c *client) {
		r := c.call("GET", "organization/"+org+"/applications", nil)
		expect(t, r, 200)
		app := findBy(objects(t, r.object(t)["applications"], "applications"), "name", "deployer-v2")
		if app == nil {
			t.Fatalf("renamed application not listed: %s", r)
		}
		if d := differences(app, second); len(d) != 0 {
			t.Errorf("second run is not idempotent: application differs in %s", js(d))
		}
	})
	m.run(t, func(c *client) {
		expect(t, c.call("DELETE", "organization/"+org+"/applications/"+clientID, nil), okDelete...)
		r := c.call("GET", "organization/"+org+"/applications", nil)
		expect(t, r, 200)
		if app := findBy(objects(t, r.object(t)["applications"], "applications"), "client_id", clientID); app != nil {
			t.Errorf("deleted application still listed: %s", js(app))
		}
		checkProblem(t, c.call("GET", "organization/"+org+"/applications/"+clientID, nil), 404, "not_found", "")
	})
}

var tokenInLocation = regexp.MustCompile(`access_token=(.*?)&`)

// apiToken is quay_api_token without for_user: the §2.2 login, then
// POST /oauth/authorizeapp form-encoded, redirects not followed → 302 with
// the token in Location; POST /api/v1/signout at exit.
func apiToken(t *testing.T, srv *e2eServer, username, password, clientID, scope string) string {
	t.Helper()
	c := srv.client(t)
	c.login(username, password)
	defer c.signout()
	redirect := srv.URL + "/oauth/localapp"
	form := "response_type=token&client_id=" + url.QueryEscape(clientID) + "&redirect_uri=" + url.QueryEscape(redirect) +
		"&scope=" + url.QueryEscape(scope) + "&_csrf_token=" + url.QueryEscape(c.csrf)
	csrf := c.csrf
	c.csrf = "" // the token travels in the form body only
	r := c.raw("POST", "/oauth/authorizeapp", strings.NewReader(form),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"})
	c.csrf = csrf
	if r.Status != 302 {
		t.Fatalf("%s: want 302 (quay-clients.md §3 quay_api_token)", r)
	}
	loc := r.Header.Get("Location")
	mt := tokenInLocation.FindStringSubmatch(loc)
	if mt == nil || mt[1] == "" {
		t.Fatalf("Location %q: want access_token=<T>&…", loc)
	}
	if !strings.HasPrefix(loc, redirect+"#access_token="+mt[1]+"&") {
		t.Errorf("Location %q: want %s#access_token=T&token_type=Bearer&expires_in=…", loc, redirect)
	}
	if len(bytes.TrimSpace(r.Body)) > 0 {
		if _, err := decodeJSON(r.Body); err != nil {
			t.Errorf("%s: body neither empty nor JSON", r)
		}
	}
	return mt[1]
}

// quayAPIToken replays quay_api_token for the superuser (all rights) and for
// a normal user (user:read only), then uses each token as a bearer token.
func (m *modules) quayAPIToken(t *testing.T, userPass string) {
	org := "ansible-tokens-" + m.suffix
	var clientID string
	m.run(t, func(c *client) {
		expect(t, c.call("POST", "organization/", map[string]any{"name": org}), okCreate...)
		clientID = presentApp(t, c, org, "cli", map[string]any{"name": "cli", "description": "token minting",
			"application_uri": "", "redirect_uri": "", "avatar_email": nil})["client_id"].(string)
	})
	const rights = "org:admin repo:admin repo:create repo:read repo:write super:user user:admin user:read"
	tok := apiToken(t, m.srv, m.adminUser, m.adminPass, clientID, rights)
	admin := m.srv.withToken(t, tok)
	r := admin.call("GET", "user/", nil)
	expect(t, r, 200)
	mustMatch(t, "who_am_i with the minted token", r.object(t), map[string]any{"username": m.adminUser})
	r = admin.call("GET", "superuser/users/"+m.adminUser, nil)
	expect(t, r, 200)
	mustBool(t, "quay_user probe with the minted token", r.object(t), "super_user", true)
	// A module run with the minted token: quay_organization create + absent.
	tmp := "minted-" + m.suffix
	expect(t, admin.call("POST", "organization/", map[string]any{"name": tmp}), okCreate...)
	expect(t, admin.call("DELETE", "organization/"+tmp, nil), okDelete...)

	user := "ansible-user-" + m.suffix
	tok = apiToken(t, m.srv, user, userPass, clientID, "user:read")
	limited := m.srv.withToken(t, tok)
	r = limited.call("GET", "user/", nil)
	expect(t, r, 200)
	mustMatch(t, "who_am_i as "+user, r.object(t), map[string]any{"username": user, "super_user": false})
	checkProblem(t, limited.call("GET", "superuser/users/", nil), 403, "insufficient_scope", "")
}

// ---------------------------------------------------------------------------
// TestEveryMutationIsLogged

func TestEveryMutationIsLogged(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		srv := startWharf(t, engineEnv(t, engine))
		admin := srv.initialize(t, "admin", "admin-password-1", "admin@example.com")
		session := srv.client(t)
		session.login("admin", "admin-password-1")

		// Users, through the token.
		expect(t, admin.call("POST", "superuser/users/", map[string]any{"username": "bob", "email": "bob@example.com"}), 200)
		expect(t, admin.call("PUT", "superuser/users/bob", map[string]any{"email": "bob@new.example.com"}), 200)
		expect(t, admin.call("PUT", "superuser/users/bob", map[string]any{"password": "bob-password-2"}), 200)
		expect(t, admin.call("PUT", "superuser/users/bob", map[string]any{"enabled": false}), 200)
		expect(t, admin.call("PUT", "superuser/users/bob", map[string]any{"enabled": true}), 200)
		if st := srv.signinStatus(t, "bob", "bob-password-2"); st != 200 {
			t.Fatalf("bob signin: %d", st)
		}
		expect(t, admin.call("POST", "superuser/users/", map[string]any{"username": "carol", "email": "carol@example.com"}), 200)

		// Organizations and an application, through the session.
		expect(t, session.call("POST", "organization/", map[string]any{"name": "acme", "email": "acme@example.com"}), 201)
		expect(t, session.call("PUT", "organization/acme", map[string]any{"email": "billing@acme.example.com"}), 200)
		expect(t, session.call("PUT", "organization/acme", map[string]any{"invoice_email": true, "invoice_email_address": "inv@acme.example.com"}), 200)
		expect(t, session.call("PUT", "organization/acme", map[string]any{"tag_expiration_s": 86400}), 200)
		r := session.call("POST", "organization/acme/applications", map[string]any{"name": "cli"})
		expect(t, r, 200)
		clientID, _ := r.object(t)["client_id"].(string)
		expect(t, session.call("PUT", "organization/acme/applications/"+clientID, map[string]any{"name": "cli2", "description": "renamed"}), 200)
		expect(t, session.call("DELETE", "organization/acme/applications/"+clientID, nil), 204)

		// Superuser operations, through the token.
		expect(t, admin.call("PUT", "superuser/organizations/acme", map[string]any{"name": "acme2"}), 200)
		r = admin.call("POST", "superuser/takeownership/carol", nil)
		expect(t, r, 200)
		mustMatch(t, "takeownership", r.object(t), map[string]any{"namespace": "carol"})
		expect(t, admin.call("DELETE", "superuser/organizations/acme2", nil), 204)
		expect(t, admin.call("DELETE", "superuser/users/bob", nil), 204)

		logs := allLogs(t, admin)
		t.Logf("%d log entries", len(logs))
		mustFindLogs(t, logs, []wantLog{
			{kind: "login_success", performer: "admin", namespace: "admin", metadata: map[string]any{"type": "quayauth", "useragent": userAgent}},
			{kind: "user_create", performer: "admin", namespace: "bob", viaToken: true,
				metadata: map[string]any{"email": "bob@example.com", "username": "bob", "superuser": "admin"}},
			{kind: "user_change_email", performer: "admin", namespace: "bob", viaToken: true,
				metadata: map[string]any{"old_email": "bob@example.com", "email": "bob@new.example.com", "superuser": "admin"}},
			{kind: "user_change_password", performer: "admin", namespace: "bob", viaToken: true,
				metadata: map[string]any{"username": "bob", "superuser": "admin"}},
			{kind: "user_disable", performer: "admin", namespace: "bob", viaToken: true,
				metadata: map[string]any{"username": "bob", "superuser": "admin"}},
			{kind: "user_enable", performer: "admin", namespace: "bob", viaToken: true,
				metadata: map[string]any{"username": "bob", "superuser": "admin"}},
			{kind: "login_success", performer: "bob", namespace: "bob", metadata: map[string]any{"type": "quayauth", "useragent": userAgent}},
			{kind: "org_create", performer: "admin", namespace: "acme", metadata: map[string]any{"email": "acme@example.com", "namespace": "acme"}},
			{kind: "org_change_email", performer: "admin", namespace: "acme", metadata: map[string]any{"email": "billing@acme.example.com", "namespace": "acme"}},
			{kind: "org_change_invoicing", performer: "admin", namespace: "acme",
				metadata: map[string]any{"invoice_email": true, "invoice_email_address": "inv@acme.example.com", "namespace": "acme"}},
			{kind: "org_change_tag_expiration", performer: "admin", namespace: "acme", metadata: map[string]any{"tag_expiration": 86400, "namespace": "acme"}},
			{kind: "create_application", performer: "admin", namespace: "acme", metadata: map[string]any{"application_name": "cli", "client_id": clientID}},
			{kind: "update_application", performer: "admin", namespace: "acme", metadata: map[string]any{"application_name": "cli2", "client_id": clientID}},
			{kind: "delete_application", performer: "admin", namespace: "acme", metadata: map[string]any{"application_name": "cli2", "client_id": clientID}},
			{kind: "org_change_name", performer: "admin", viaToken: true,
				metadata: map[string]any{"old_name": "acme", "new_name": "acme2", "superuser": "admin"}},
			{kind: "take_ownership", performer: "admin", namespace: "admin", viaToken: true,
				metadata: map[string]any{"namespace": "carol", "was_user": true, "superuser": "admin"}},
			{kind: "org_delete", performer: "admin", viaToken: true, metadata: map[string]any{"namespace": "acme2"}},
			{kind: "user_delete", performer: "admin", namespace: "bob", viaToken: true, metadata: map[string]any{"username": "bob"}},
		})
		if e := findLog(logs, wantLog{kind: "take_ownership", metadata: map[string]any{"namespace": "carol"}}); e != nil {
			if _, ok := asObject(e["metadata"])["entity_id"].(json.Number); !ok {
				t.Errorf("take_ownership metadata %s: want a numeric entity_id (§3.4)", js(e["metadata"]))
			}
		}
		// Every mutation above wrote exactly one entry of its kind (the two
		// login_success entries aside), none twice.
		counts := map[string]int{}
		for _, e := range logs {
			counts[fmt.Sprint(e["kind"])]++
		}
		for _, kind := range []string{"user_change_email", "user_change_password", "user_disable", "user_enable", "org_change_email",
			"org_change_invoicing", "org_change_tag_expiration", "org_change_name", "org_delete", "take_ownership",
			"update_application", "delete_application", "user_delete"} {
			if counts[kind] != 1 {
				t.Errorf("%d %s entries, want 1", counts[kind], kind)
			}
		}
		// A refused change writes nothing.
		before := len(logs)
		checkProblem(t, admin.call("PUT", "superuser/users/admin", map[string]any{"email": "x@example.com"}), 400, "invalid_request", "Cannot update a superuser")
		checkProblem(t, session.call("PUT", "organization/carol", map[string]any{"tag_expiration_s": 5}), 400, "invalid_request", "")
		if after := len(allLogs(t, admin)); after != before {
			t.Errorf("refused changes wrote %d log entries", after-before)
		}
		session.signout()
	})
}

// ---------------------------------------------------------------------------
// TestConfigProblemsStopStartup

// badConfig has one wrong value per line it cares about, next to Quay keys
// wharf does not use (never a problem).
const badConfig = `# Quay keys wharf ignores
BUILDLOGS_REDIS: {host: redis.example.com, port: 6379}
USER_EVENTS_REDIS: {host: redis.example.com, port: 6379}
FEATURE_GITHUB_BUILD: false
DATABASE_SECRET_KEY: a-quay-key
# wrong values
PREFERRED_URL_SCHEME: ftp
REGISTRY_STATE: sleeping
SERVER_HOSTNAME: https://quay.example.com/
DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: -1
SUPER_USERS: [admin, ""]
AUTHENTICATION_TYPE: LDAP
FEATURE_MAILING: perhaps
FRESH_LOGIN_TIMEOUT: 0s
DB_URI: mysql+pymysql://quay:hunter2secret@db.example.com/quay
TAG_EXPIRATION_OPTIONS: [1d, 1w]
DEFAULT_TAG_EXPIRATION: 2w
DISTRIBUTED_STORAGE_CONFIG:
  s3: [S3Storage, {s3_region: us-east-1}]
DISTRIBUTED_STORAGE_PREFERENCE: [s3, nowhere]
`

// unknownOnlyConfig is a Quay config.yaml whose wharf keys are all valid.
const unknownOnlyConfig = `BUILDLOGS_REDIS: {host: redis.example.com, port: 6379}
USER_EVENTS_REDIS: {host: redis.example.com, port: 6379}
FEATURE_GITHUB_BUILD: false
FEATURE_SECURITY_SCANNER: true
SECURITY_SCANNER_V4_ENDPOINT: http://clair:8081
DATABASE_SECRET_KEY: a-quay-key
SETUP_COMPLETE: true
SUPER_USERS: [quayadmin]
TAG_EXPIRATION_OPTIONS: [0s, 1d, 1w, 2w, 4w]
DEFAULT_TAG_EXPIRATION: 2w
`

func TestConfigProblemsStopStartup(t *testing.T) {
	t.Parallel()
	t.Run("bad values", func(t *testing.T) {
		t.Parallel()
		forEachEngine(t, func(t *testing.T, engine db.Dialect) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(cfg, []byte(badConfig), 0o600); err != nil {
				t.Fatal(err)
			}
			// An environment problem is listed with the file's. On PostgreSQL
			// a valid WHARF_DB_URI overrides the file's bad DB_URI, so that
			// problem must disappear while the others still stop the start.
			env := append(engineEnv(t, engine), "WHARF_FEATURE_ANONYMOUS_ACCESS=sometimes")
			var stdout, stderr lockedBuffer
			cmd := exec.Command(e2eBinary, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--config", cfg)
			cmd.Env = childEnv(env...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("wharf kept running with a bad config; stdout %q stderr %q", stdout.String(), stderr.String())
			}
			if cmd.ProcessState.ExitCode() == 0 {
				t.Errorf("exit code 0 with a bad config, want non-zero")
			}
			if strings.Contains(stdout.String(), "listening") {
				t.Errorf("it announced it was listening: %q", stdout.String())
			}
			errText := stderr.String()
			t.Logf("stderr:\n%s", errText)
			hasLine := func(key string) bool {
				for _, line := range strings.Split(errText, "\n") {
					if strings.HasPrefix(line, key+":") {
						return true
					}
				}
				return false
			}
			for _, key := range []string{"PREFERRED_URL_SCHEME", "REGISTRY_STATE", "SERVER_HOSTNAME", "DEFAULT_SYSTEM_REJECT_QUOTA_BYTES",
				"SUPER_USERS[1]", "AUTHENTICATION_TYPE", "FEATURE_MAILING", "FRESH_LOGIN_TIMEOUT", "DEFAULT_TAG_EXPIRATION",
				"DISTRIBUTED_STORAGE_CONFIG.s3", "DISTRIBUTED_STORAGE_PREFERENCE", "FEATURE_ANONYMOUS_ACCESS"} {
				if !hasLine(key) {
					t.Errorf("stderr has no line starting %q", key+":")
				}
			}
			if want := engine == db.SQLite; hasLine("DB_URI") != want {
				t.Errorf("DB_URI problem listed = %v, want %v (the environment overrides the file)", !want, want)
			}
			for _, unknown := range []string{"BUILDLOGS_REDIS", "USER_EVENTS_REDIS", "FEATURE_GITHUB_BUILD", "DATABASE_SECRET_KEY"} {
				if strings.Contains(errText, unknown) {
					t.Errorf("stderr names the unknown Quay key %s as a problem", unknown)
				}
			}
			if strings.Contains(errText, "hunter2secret") {
				t.Errorf("stderr shows the DB_URI credential")
			}
		})
	})
	t.Run("unknown Quay keys", func(t *testing.T) {
		t.Parallel()
		forEachEngine(t, func(t *testing.T, engine db.Dialect) {
			cfg := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(cfg, []byte(unknownOnlyConfig), 0o600); err != nil {
				t.Fatal(err)
			}
			srv := startWharf(t, engineEnv(t, engine), "--config", cfg)
			admin := srv.initialize(t, "quayadmin", "quayadmin-password", "quayadmin@example.com")
			r := admin.call("GET", "superuser/config", nil)
			expect(t, r, 200)
			body := r.object(t)
			warning := asObject(body["warning"])
			for _, k := range []string{"BUILDLOGS_REDIS", "FEATURE_GITHUB_BUILD", "SETUP_COMPLETE"} {
				if _, ok := warning[k]; !ok {
					t.Errorf("config dump: unknown key %s not under warning: %s", k, js(warning))
				}
			}
			if v := warning["DATABASE_SECRET_KEY"]; v == "a-quay-key" {
				t.Errorf("config dump shows DATABASE_SECRET_KEY unmasked")
			}
			if cfgKnown := asObject(body["config"]); !jsonEqual(cfgKnown["SUPER_USERS"], []any{"quayadmin"}) {
				t.Errorf("config dump SUPER_USERS = %s", js(cfgKnown["SUPER_USERS"]))
			}
			if !strings.Contains(srv.stderr.String(), "BUILDLOGS_REDIS") {
				t.Errorf("the ignored keys were not logged once at startup; stderr:\n%s", srv.stderr)
			}
		})
	})
}
