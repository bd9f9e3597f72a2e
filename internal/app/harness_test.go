package app_test

// The harness serves wharf as app.New assembles it — the front, both
// faces, the health endpoints and /metrics — over a dbtest database and a
// filesystem driver, logging JSON lines into a buffer the tests read. Its
// registry client pushes and pulls with plain HTTP: a token from /v2/auth
// for each repository, monolithic blob uploads, manifests by tag.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wharf-registry/wharf/internal/app"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
)

// adminPassword is the password of the superuser "admin" of every server.
const adminPassword = "adminpass1"

// server is one wharf served by httptest.
type server struct {
	t     testing.TB
	url   string
	host  string
	blobs *filesystem.Driver
	logs  *lockedBuffer
	admin string // an OAuth token of "admin" with every scope
}

// lockedBuffer collects log lines written by concurrent requests.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log lines written so far, decoded.
func (b *lockedBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, raw := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		var line map[string]any
		if err := json.Unmarshal(raw, &line); err != nil {
			t.Fatalf("log line %q is not JSON: %v", raw, err)
		}
		out = append(out, line)
	}
	return out
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newServer serves wharf over store with SUPER_USERS=[admin], adjusted by
// tweak (may be nil), and the superuser "admin" initialized (unless the
// configuration is read-only).
func newServer(t testing.TB, store *db.DB, tweak func(*config.Config), opts ...app.Option) *server {
	t.Helper()
	logs := &lockedBuffer{}
	s, _ := newServerLogging(t, store, logs, tweak, opts...)
	s.logs = logs
	return s
}

// newServerLogging is newServer logging JSON lines to logOut; it returns
// the App too.
func newServerLogging(t testing.TB, store *db.DB, logOut io.Writer, tweak func(*config.Config), opts ...app.Option) (*server, *app.App) {
	t.Helper()
	blobs, err := filesystem.New(t.TempDir(), filesystem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.SuperUsers = []string{"admin"}
	cfg.SecretKey = "app-test-secret"
	cfg.ServerHostname = srv.Listener.Addr().String()
	cfg.FeatureBuildSupport = true
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := app.New(&cfg, store, blobs, requestlog.NewOutput(logOut, true), opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.Handler
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }() // pull logs, revocations: as a served process does
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})
	s := &server{t: t, url: srv.URL, host: cfg.ServerHostname, blobs: blobs}
	if cfg.RegistryState == "readonly" {
		return s, a // no user can be made
	}
	r := s.do("POST", "/api/v1/user/initialize", "", map[string]any{
		"username": "admin", "password": adminPassword, "email": "admin@example.com", "access_token": true})
	if r.status != http.StatusOK {
		t.Fatalf("initialize: %s", r)
	}
	var init struct {
		Token string `json:"access_token"`
	}
	json.Unmarshal(r.body, &init)
	s.admin = init.Token
	return s, a
}

// response is one finished exchange.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (r *response) String() string {
	return fmt.Sprintf("%s %s → %d %s", r.method, r.path, r.status, bytes.TrimSpace(r.body))
}

// do sends a request. auth is a whole Authorization header value ("" =
// none); body is sent raw when it is []byte, as JSON otherwise.
func (s *server) do(method, path, auth string, body any) *response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if _, ok := body.([]byte); !ok && body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &response{method: method, path: path, status: resp.StatusCode, header: resp.Header, body: raw}
}

// must fails the test unless r has status want.
func must(t testing.TB, r *response, want int) *response {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: want %d", r, want)
	}
	return r
}

// registryToken logs in at /v2/auth as admin with its OAuth token
// ($oauthtoken, no password hashing) for pull and push on repo.
func (s *server) registryToken(repo string) string {
	s.t.Helper()
	basic := "Basic " + basicAuth("$oauthtoken", s.admin)
	r := must(s.t, s.do("GET", "/v2/auth?service="+s.host+"&scope=repository:"+repo+":pull,push", basic, nil), http.StatusOK)
	var tok struct {
		Token string `json:"token"`
	}
	json.Unmarshal(r.body, &tok)
	return "Bearer " + tok.Token
}

func basicAuth(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// pushBlob uploads data to repo in one POST and returns the response.
func (s *server) pushBlob(repo, token string, data []byte) *response {
	s.t.Helper()
	return s.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+digestOf(data), token, data)
}

// image is a manifest referring to one config blob and one layer.
type image struct {
	config, layer, manifest []byte
}

func newImage(seed string) image {
	im := image{config: []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`),
		layer: []byte("layer of " + seed)}
	desc := func(mediaType string, b []byte) map[string]any {
		return map[string]any{"mediaType": mediaType, "digest": digestOf(b), "size": len(b)}
	}
	im.manifest, _ = json.Marshal(map[string]any{"schemaVersion": 2,
		"mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config":    desc("application/vnd.oci.image.config.v1+json", im.config),
		"layers":    []any{desc("application/vnd.oci.image.layer.v1.tar", im.layer)}})
	return im
}

// push pushes im to repo:tag.
func (s *server) push(repo, tag, token string, im image) {
	s.t.Helper()
	must(s.t, s.pushBlob(repo, token, im.config), http.StatusCreated)
	must(s.t, s.pushBlob(repo, token, im.layer), http.StatusCreated)
	req := s.manifestPut(repo, tag, token, im.manifest)
	must(s.t, req, http.StatusCreated)
}

func (s *server) manifestPut(repo, tag, token string, manifest []byte) *response {
	s.t.Helper()
	req, err := http.NewRequest("PUT", s.url+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(manifest))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &response{method: "PUT", path: req.URL.Path, status: resp.StatusCode, header: resp.Header, body: raw}
}

// scrape fetches /metrics and parses it with the client library's parser.
func (s *server) scrape() map[string]*dto.MetricFamily {
	s.t.Helper()
	r := must(s.t, s.do("GET", "/metrics", "", nil), http.StatusOK)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		s.t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// sample is the value of the first series of family name whose labels
// include labels (counters and gauges their value, histograms their
// count); -1 when there is none.
func sample(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}
