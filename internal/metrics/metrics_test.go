package metrics_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wharf-registry/wharf/internal/metrics"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// scrape serves m's /metrics and parses it with the client library's
// text parser.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rr := httptest.NewRecorder()
	m.Handler().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rr.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rr.Code, rr.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rr.Body)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return families
}

// value is the value of the series of family name with labels, or -1.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
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

func TestResults(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry(), metrics.Sources{})
	m.Login("password", nil)
	m.Login("password", wharf.Errorf(wharf.Unauthenticated, "no"))
	m.Login("password", wharf.Errorf(wharf.Unauthenticated, "no"))
	m.Login("password", wharf.Throttled(time.Second, "wait"))
	m.Login("robot", wharf.Errorf(wharf.Forbidden, "disabled"))
	m.Login("oauth", errors.New("database gone"))
	m.JobRan("registry-size", time.Second, nil)
	m.JobRan("registry-size", time.Second, errors.New("boom"))
	m.StorageOperation("filesystem", "stat", time.Millisecond, nil)
	m.StorageOperation("filesystem", "stat", time.Millisecond, wharf.Errorf(wharf.NotFound, "gone"))
	m.StorageOperation("filesystem", "reader", time.Millisecond, context.Canceled)
	m.StorageOperation("s3", "move", time.Millisecond, errors.New("503 slow down"))
	m.Request("registry", "manifest", "GET", 200, time.Millisecond)
	m.Request("api", "unmatched", "BREW", 405, time.Millisecond)
	m.BuildPhase("building", time.Minute)
	m.QuotaRefused("registry")
	m.Pushed("upload", 100)
	m.Pulled("blob", 50)
	families := scrape(t, m)

	tests := []struct {
		name   string
		family string
		labels map[string]string
		want   float64
	}{
		{"login success", "wharf_logins_total", map[string]string{"credential": "password", "result": "success"}, 1},
		{"login failures", "wharf_logins_total", map[string]string{"credential": "password", "result": "failure"}, 2},
		{"login throttled", "wharf_logins_total", map[string]string{"credential": "password", "result": "throttled"}, 1},
		{"login disabled", "wharf_logins_total", map[string]string{"credential": "robot", "result": "disabled"}, 1},
		{"login fault", "wharf_logins_total", map[string]string{"credential": "oauth", "result": "error"}, 1},
		{"job success", "wharf_job_runs_total", map[string]string{"job": "registry-size", "result": "success"}, 1},
		{"job failure", "wharf_job_runs_total", map[string]string{"job": "registry-size", "result": "failure"}, 1},
		{"job durations", "wharf_job_duration_seconds", map[string]string{"job": "registry-size"}, 2},
		{"storage ok", "wharf_storage_operation_duration_seconds", map[string]string{"operation": "stat", "result": "ok"}, 1},
		{"storage not found", "wharf_storage_operation_duration_seconds", map[string]string{"operation": "stat", "result": "not_found"}, 1},
		{"storage canceled", "wharf_storage_operation_duration_seconds", map[string]string{"operation": "reader", "result": "canceled"}, 1},
		{"storage error", "wharf_storage_operation_duration_seconds", map[string]string{"driver": "s3", "result": "error"}, 1},
		{"request", "wharf_http_requests_total", map[string]string{"route": "manifest", "method": "GET", "code": "200"}, 1},
		{"a made-up method is other", "wharf_http_requests_total", map[string]string{"method": "other", "code": "405"}, 1},
		{"no series for the made-up method", "wharf_http_requests_total", map[string]string{"method": "BREW"}, -1},
		{"build phase", "wharf_build_phase_duration_seconds", map[string]string{"phase": "building"}, 1},
		{"quota refusal", "wharf_quota_refusals_total", map[string]string{"face": "registry"}, 1},
		{"pushed", "wharf_registry_pushed_bytes_total", map[string]string{"route": "upload"}, 100},
		{"pulled", "wharf_registry_pulled_bytes_total", map[string]string{"route": "blob"}, 50},
		{"uploads in flight", "wharf_registry_uploads_in_flight", nil, 0},
		{"no pool without a database", "wharf_db_connections_open", nil, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := value(families, tc.family, tc.labels); got != tc.want {
				t.Errorf("%s%v = %v, want %v", tc.family, tc.labels, got, tc.want)
			}
		})
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if families[name] == nil {
			t.Errorf("no %s: the runtime and process collectors are missing", name)
		}
	}
}

// TestSources: the pool's statistics and the queue are read at each
// scrape; a queue that cannot be read is left out, not reported as 0.
func TestSources(t *testing.T) {
	queued, queueErr := int64(3), error(nil)
	m := metrics.New(prometheus.NewRegistry(), metrics.Sources{
		DBStats: func() sql.DBStats {
			return sql.DBStats{MaxOpenConnections: 16, OpenConnections: 5, InUse: 2, Idle: 3, WaitCount: 7, MaxIdleClosed: 1}
		},
		QueuedBuilds: func(ctx context.Context) (int64, error) {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("the queue is read without a deadline")
			}
			return queued, queueErr
		},
	})
	families := scrape(t, m)
	for name, want := range map[string]float64{"wharf_db_connections_max": 16, "wharf_db_connections_open": 5,
		"wharf_db_connections_in_use": 2, "wharf_db_connections_idle": 3, "wharf_db_connection_waits_total": 7,
		"wharf_build_queue_depth": 3} {
		if got := value(families, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := value(families, "wharf_db_connections_closed_total", map[string]string{"reason": "max_idle"}); got != 1 {
		t.Errorf("closed{max_idle} = %v, want 1", got)
	}
	queueErr = wharf.Errorf(wharf.Unavailable, "database gone")
	if families := scrape(t, m); families["wharf_build_queue_depth"] != nil {
		t.Error("the build queue is reported while it cannot be read")
	}
}

// TestNoGlobalRegistry: two Metrics in one process count apart, and
// nothing lands in the client library's default registry.
func TestNoGlobalRegistry(t *testing.T) {
	a := metrics.New(prometheus.NewRegistry(), metrics.Sources{})
	b := metrics.New(prometheus.NewRegistry(), metrics.Sources{})
	a.QuotaRefused("api")
	if got := value(scrape(t, b), "wharf_quota_refusals_total", nil); got != -1 {
		t.Errorf("b sees a's refusal: %v", got)
	}
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "wharf_") {
			t.Errorf("%s is in the default registry", f.GetName())
		}
	}
}
