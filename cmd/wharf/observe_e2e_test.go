package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// scrapeMetrics GETs url (a /metrics endpoint) and parses the answer with
// the Prometheus client library's text parser.
func scrapeMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s → %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: the exposition does not parse: %v", url, err)
	}
	return families
}

// sum adds up the series of family name whose labels include labels
// (histograms count their observations).
func sum(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	total := 0.0
	f := families[name]
	if f == nil {
		return 0
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
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

// pushAndPull pushes a blob and a manifest referring to it to repo as
// client, pulls both back and returns the blob's size.
func pushAndPull(t *testing.T, c *registryClient, repo string) int {
	t.Helper()
	layer := []byte("a layer to count, " + repo)
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	for _, b := range [][]byte{layer, config} {
		d := sha256Digest(b)
		expect(t, c.mustExchange(t, "POST", repo, "/v2/"+repo+"/blobs/uploads/?digest="+d, bytes.NewReader(b), int64(len(b)), nil), 201)
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mtOCIManifest,
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256Digest(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256Digest(layer), "size": len(layer)}}})
	expect(t, c.mustExchange(t, "PUT", repo, "/v2/"+repo+"/manifests/v1", bytes.NewReader(manifest), int64(len(manifest)),
		map[string]string{"Content-Type": mtOCIManifest}), 201)
	expect(t, c.mustExchange(t, "GET", repo, "/v2/"+repo+"/manifests/v1", nil, 0, map[string]string{"Accept": mtOCIManifest}), 200)
	r := c.mustExchange(t, "GET", repo, "/v2/"+repo+"/blobs/"+sha256Digest(layer), nil, 0, nil)
	expect(t, r, 200)
	if !bytes.Equal(r.Body, layer) {
		t.Fatalf("pulled %q, pushed %q", r.Body, layer)
	}
	return len(layer)
}

// TestMetricsAfterPushAndPull is the acceptance of issue 13's metrics on
// the built binary: after a push and a pull, /metrics (parsed by the
// client library) shows the counters moved, and the request's log line
// carries the id the response named.
func TestMetricsAfterPushAndPull(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		srv := startWharf(t, engineEnv(t, engine))
		srv.initialize(t, "metricsadmin", "metricsadmin-password", "metrics@example.com")
		before := scrapeMetrics(t, srv.URL+"/metrics")
		size := pushAndPull(t, newRegistryClient(srv.URL, "metricsadmin", "metricsadmin-password"), "metricsadmin/app")
		after := scrapeMetrics(t, srv.URL+"/metrics")
		moved := []struct {
			family string
			labels map[string]string
			least  float64
		}{
			{"wharf_http_requests_total", map[string]string{"face": "registry", "route": "upload", "code": "201"}, 2},
			{"wharf_http_requests_total", map[string]string{"face": "registry", "route": "manifest", "method": "PUT"}, 1},
			{"wharf_http_requests_total", map[string]string{"face": "registry", "route": "manifest", "method": "GET"}, 1},
			{"wharf_http_requests_total", map[string]string{"face": "registry", "route": "blob", "method": "GET"}, 1},
			{"wharf_http_request_duration_seconds", map[string]string{"face": "registry", "route": "blob"}, 1},
			{"wharf_registry_pushed_bytes_total", map[string]string{"route": "upload"}, float64(size)},
			{"wharf_registry_pulled_bytes_total", map[string]string{"route": "blob"}, float64(size)},
			{"wharf_logins_total", map[string]string{"credential": "password", "result": "success"}, 1},
			{"wharf_storage_operation_duration_seconds", map[string]string{"operation": "commit"}, 1},
		}
		for _, m := range moved {
			if d := sum(after, m.family, m.labels) - sum(before, m.family, m.labels); d < m.least {
				t.Errorf("%s%v moved by %v, want at least %v", m.family, m.labels, d, m.least)
			}
		}
		if sum(after, "wharf_db_connections_open", nil) < 1 {
			t.Error("no open database connection reported")
		}

		resp, err := http.Get(srv.URL + "/api/v1/superuser/users/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("X-Request-Id")
		line := regexp.MustCompile(`(?m)^.*msg=request .*request_id=` + id + `.*$`)
		deadline := time.Now().Add(5 * time.Second)
		for !line.MatchString(srv.stderr.String()) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		got := line.FindString(srv.stderr.String())
		for _, want := range []string{"method=GET", "route=/api/v1/superuser/users/{$}", "status=401", "face=api"} {
			if !strings.Contains(got, want) {
				t.Errorf("request line %q lacks %s", got, want)
			}
		}
	})
}

// TestMetricsListener: --metrics-addr serves /metrics on its own
// listener, named on the ready line, and the main listener no longer does.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	srv := startWharf(t, nil, "--metrics-addr", "127.0.0.1:0", "--log-format", "json")
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the main listener: %d, want 404", resp.StatusCode)
	}
	ready := regexp.MustCompile(`metrics on (http://\S+/metrics)\)`).FindStringSubmatch(srv.Ready)
	if ready == nil {
		t.Fatalf("the ready line %q does not name the metrics listener", srv.Ready)
	}
	if f := scrapeMetrics(t, ready[1]); sum(f, "wharf_http_requests_total", map[string]string{"face": "api"}) < 1 {
		t.Errorf("the request to the main listener was not counted")
	}
}

// outageBound is how soon /health/instance must notice the database
// going and coming back (issue 13: "within seconds").
const outageBound = 10 * time.Second

// TestDatabaseOutage is the acceptance of issue 13's health check: with
// PostgreSQL behind a proxy the test cuts (the shared server keeps
// running), /health/instance turns 503 within seconds, calls that need the
// database answer 503 — never 500 — and, without restarting wharf, all is
// healthy again soon after the database returns. wharf then still shuts
// down cleanly.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	hasPostgres := false
	for _, d := range dbtest.Engines(t) {
		hasPostgres = hasPostgres || d == db.Postgres
	}
	if !hasPostgres {
		return
	}
	outage, uri := dbtest.NewOutage(t, dbtest.URI(t, db.Postgres))
	srv := launchWharf(t, t.TempDir(), []string{"WHARF_DB_URI=" + uri})
	defer func() {
		if srv.cmd.ProcessState == nil {
			srv.cmd.Process.Kill()
			<-srv.done
		}
	}()
	admin := srv.initialize(t, "outageadmin", "outageadmin-password", "outage@example.com")
	reg := newRegistryClient(srv.URL, "outageadmin", "outageadmin-password")
	pushAndPull(t, reg, "outageadmin/app")
	health := func() int {
		resp, err := http.Get(srv.URL + "/health/instance")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Data struct {
				Services map[string]bool `json:"services"`
			} `json:"data"`
			StatusCode int `json:"status_code"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.StatusCode != resp.StatusCode {
			t.Fatalf("/health/instance → %d, body %+v (%v)", resp.StatusCode, body, err)
		}
		if resp.StatusCode == 503 && body.Data.Services["database"] {
			t.Errorf("503 with the database healthy: %v", body.Data.Services)
		}
		return resp.StatusCode
	}
	waitFor := func(want int, what string) {
		start := time.Now()
		for health() != want {
			if time.Since(start) > outageBound {
				t.Fatalf("/health/instance not %d %v after %s", want, outageBound, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("/health/instance answered %d %v after %s", want, time.Since(start).Round(time.Millisecond), what)
	}
	needDatabase := func(want int) {
		t.Helper()
		expect(t, admin.raw("GET", "/api/v1/superuser/users/", nil, nil), want)
		r, err := reg.exchange(context.Background(), "GET", "outageadmin/app", "/v2/outageadmin/app/manifests/v1", nil, 0,
			map[string]string{"Accept": mtOCIManifest})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, r, want)
	}

	waitFor(200, "start-up")
	outage.Cut()
	waitFor(503, "the database was cut off")
	needDatabase(503)
	if resp, err := http.Get(srv.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz during the outage: %v %v, want 200 (the process is alive)", resp, err)
	}
	outage.Restore()
	waitFor(200, "the database came back")
	needDatabase(200)

	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.done:
	case <-time.After(10 * time.Second):
		t.Fatal("wharf did not stop within 10s of SIGTERM")
	}
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("wharf exited %d after SIGTERM; stderr:\n%s", code, srv.stderr)
	}
	for _, l := range strings.Split(srv.stderr.String(), "\n") {
		if strings.Contains(l, "request failed") || strings.Contains(l, "status=500") {
			t.Errorf("a request failed as an internal fault during the outage: %s", l)
		}
	}
}
