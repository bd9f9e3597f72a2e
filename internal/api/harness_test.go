package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/app"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/repository"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/testclock"
	"github.com/wharf-registry/wharf/internal/throttle"
)

// testEnv is a wharf API served by httptest over a real database.
type testEnv struct {
	t     testing.TB
	srv   *httptest.Server
	store *db.DB
	cfg   *config.Config
	app   *app.App
	// clock is the login throttle's: tests move it past a wait.
	clock *testclock.Clock
}

// newEnv serves wharf (as app.New assembles it) over store with the default configuration plus
// SUPER_USERS=[admin] and GLOBAL_READONLY_SUPER_USERS=[auditor], adjusted by
// tweak (may be nil).
func newEnv(t testing.TB, store *db.DB, tweak func(*config.Config)) *testEnv {
	t.Helper()
	cfg := config.Default()
	cfg.SuperUsers = []string{"admin"}
	cfg.GlobalReadonlySuperUsers = []string{"auditor"}
	cfg.SecretKey = "test-secret"
	if tweak != nil {
		tweak(&cfg)
	}
	files, err := filesystem.New(t.TempDir(), filesystem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(time.Now())
	srv := httptest.NewUnstartedServer(nil)
	cfg.ServerHostname = srv.Listener.Addr().String()
	cfg.BuildContextMaxBytes = testBuildMaxBytes
	a, err := app.New(&cfg, store, files, requestlog.NewOutput(io.Discard, false), app.WithURLPolicy(testURLPolicy{}),
		app.WithLoginThrottle(throttle.New(throttle.Default, clock.Now)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	return &testEnv{t: t, srv: srv, store: store, cfg: &cfg, app: a, clock: clock}
}

// client is one caller: anonymous, a bearer token, or a cookie session.
type client struct {
	env   *testEnv
	http  *http.Client
	token string // Authorization: Bearer
	csrf  string // X-CSRF-Token for cookie sessions
}

func (e *testEnv) anonymous() *client {
	jar, _ := cookiejar.New(nil)
	return &client{env: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (e *testEnv) withToken(token string) *client {
	c := e.anonymous()
	c.token = token
	return c
}

// response is a finished call.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object (failing the test if it is not).
func (r *response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// do sends a request. body is JSON-encoded unless it is a string (sent
// raw) or nil; JSON bodies get Content-Type: application/json.
func (c *client) do(method, path string, body any, headers ...string) *response {
	c.env.t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, contentType = strings.NewReader(b), "application/json"
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/json"
	default:
		raw, _ := json.Marshal(b)
		rd, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, c.env.srv.URL+path, rd)
	if err != nil {
		c.env.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.env.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// mustStatus fails the test unless r has the wanted status.
func mustStatus(t testing.TB, r *response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
}

// bootstrap initializes the instance as "admin" (a SUPER_USERS member) and
// returns a client using the all-scopes token /user/initialize minted.
func (e *testEnv) bootstrap() *client {
	e.t.Helper()
	r := e.anonymous().do("POST", "/api/v1/user/initialize", map[string]any{
		"username": "admin", "password": "adminpass1", "email": "admin@example.com", "access_token": true})
	mustStatus(e.t, r, http.StatusOK)
	return e.withToken(r.JSON(e.t)["access_token"].(string))
}

// createUser creates a user through the superuser API and returns its password.
func (e *testEnv) createUser(admin *client, name string) string {
	e.t.Helper()
	r := admin.do("POST", "/api/v1/superuser/users/", map[string]any{"username": name, "email": name + "@example.com"})
	mustStatus(e.t, r, http.StatusOK)
	return r.JSON(e.t)["password"].(string)
}

// login signs in through the CSRF dance Quay's clients use and returns the
// session client.
func (e *testEnv) login(name, password string) *client {
	e.t.Helper()
	c := e.anonymous()
	r := c.do("GET", "/csrf_token", nil)
	mustStatus(e.t, r, http.StatusOK)
	c.csrf = r.JSON(e.t)["csrf_token"].(string)
	r = c.do("POST", "/api/v1/signin", map[string]any{"username": name, "password": password})
	mustStatus(e.t, r, http.StatusOK)
	c.csrf = r.Header.Get("X-Next-CSRF-Token")
	if c.csrf == "" {
		e.t.Fatal("signin sent no X-Next-CSRF-Token")
	}
	return c
}

var accessTokenInLocation = regexp.MustCompile(`access_token=(.*?)&`)

// mintToken has the session user authorize an application of org for scope
// (space-separated) through the implicit grant, as quay_api_token does, and
// returns a client using the token.
func (e *testEnv) mintToken(session *client, clientID, scope string) *client {
	e.t.Helper()
	form := url.Values{"response_type": {"token"}, "client_id": {clientID},
		"redirect_uri": {e.srv.URL + "/oauth/localapp"}, "scope": {scope}, "_csrf_token": {session.csrf}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/authorizeapp", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := session.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorizeapp: %d %s", resp.StatusCode, body)
	}
	m := accessTokenInLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		e.t.Fatalf("no token in Location %q", resp.Header.Get("Location"))
	}
	return e.withToken(m[1])
}

// createApp creates an OAuth application in org (as admin) and returns its client id.
func (e *testEnv) createApp(admin *client, org string) string {
	e.t.Helper()
	r := admin.do("POST", "/api/v1/organization/"+org+"/applications", map[string]any{"name": "cli"})
	mustStatus(e.t, r, http.StatusOK)
	return r.JSON(e.t)["client_id"].(string)
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
