package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/app"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestMetricsAfterPushAndPull pushes an image, pulls it back, has a login
// fail and a push refused for its quota, then reads /metrics: each of
// these moved its counters, under route labels, never repository names.
func TestMetricsAfterPushAndPull(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		s := newServer(t, store, nil)
		im := newImage("metrics")
		tok := s.registryToken("admin/app")
		s.push("admin/app", "v1", tok, im)
		must(t, s.do("GET", "/v2/admin/app/manifests/v1", tok, nil), http.StatusOK)
		must(t, s.do("GET", "/v2/admin/app/blobs/"+digestOf(im.layer), tok, nil), http.StatusOK)
		must(t, s.do("GET", "/v2/auth?scope=repository:admin/app:pull", "Basic "+basicAuth("admin", "wrong"), nil),
			http.StatusUnauthorized)
		must(t, s.do("POST", "/api/v1/superuser/users/admin/quota", "Bearer "+s.admin, map[string]any{"limit_bytes": 1000}),
			http.StatusCreated)
		must(t, s.pushBlob("admin/app", tok, make([]byte, 2000)), http.StatusForbidden)
		must(t, s.do("GET", "/api/v1/superuser/users/admin", "Bearer "+s.admin, nil), http.StatusOK)
		must(t, s.do("BREW", "/api/v1/superuser/users/admin", "Bearer "+s.admin, nil), http.StatusMethodNotAllowed)

		f := s.scrape()
		tests := []struct {
			name   string
			family string
			labels map[string]string
			want   float64 // -2: any positive value
		}{
			{"blob uploads", "wharf_http_requests_total",
				map[string]string{"face": "registry", "route": "upload", "method": "POST", "code": "201"}, 2},
			{"manifest push", "wharf_http_requests_total",
				map[string]string{"face": "registry", "route": "manifest", "method": "PUT", "code": "201"}, 1},
			{"manifest pull", "wharf_http_requests_total",
				map[string]string{"face": "registry", "route": "manifest", "method": "GET", "code": "200"}, 1},
			{"blob pull", "wharf_http_requests_total",
				map[string]string{"face": "registry", "route": "blob", "method": "GET", "code": "200"}, 1},
			{"token requests", "wharf_http_requests_total",
				map[string]string{"face": "registry", "route": "auth", "code": "200"}, 1},
			{"API by pattern", "wharf_http_requests_total",
				map[string]string{"face": "api", "route": "/api/v1/superuser/users/{username}", "method": "GET", "code": "200"}, 1},
			{"made-up method", "wharf_http_requests_total",
				map[string]string{"face": "api", "method": "other", "code": "405"}, 1},
			{"latency", "wharf_http_request_duration_seconds",
				map[string]string{"face": "registry", "route": "manifest", "method": "GET"}, 1},
			// The refused upload was refused before its body was read.
			{"bytes pushed in blobs", "wharf_registry_pushed_bytes_total", map[string]string{"route": "upload"},
				float64(len(im.config) + len(im.layer))},
			{"bytes pushed in manifests", "wharf_registry_pushed_bytes_total", map[string]string{"route": "manifest"},
				float64(len(im.manifest))},
			{"bytes pulled in blobs", "wharf_registry_pulled_bytes_total", map[string]string{"route": "blob"},
				float64(len(im.layer))},
			{"bytes pulled in manifests", "wharf_registry_pulled_bytes_total", map[string]string{"route": "manifest"},
				float64(len(im.manifest))},
			{"no upload left in flight", "wharf_registry_uploads_in_flight", nil, 0},
			{"quota refusal", "wharf_quota_refusals_total", map[string]string{"face": "registry"}, 1},
			{"token logins", "wharf_logins_total", map[string]string{"credential": "oauth", "result": "success"}, 1},
			{"failed login", "wharf_logins_total", map[string]string{"credential": "password", "result": "failure"}, 1},
			{"storage writes", "wharf_storage_operation_duration_seconds",
				map[string]string{"driver": "filesystem", "operation": "commit", "result": "ok"}, -2},
			{"database pool", "wharf_db_connections_max", nil, -2},
			{"build queue", "wharf_build_queue_depth", nil, 0},
		}
		for _, tc := range tests {
			got := sample(f, tc.family, tc.labels)
			if tc.want == -2 && got > 0 || got == tc.want {
				continue
			}
			t.Errorf("%s: %s%v = %v, want %v", tc.name, tc.family, tc.labels, got, tc.want)
		}
		for name, family := range f {
			for _, m := range family.Metric {
				for _, l := range m.Label {
					if strings.Contains(l.GetValue(), "admin/app") || strings.HasPrefix(l.GetValue(), "/v2/") {
						t.Errorf("%s has label %s=%q: a repository name or raw path", name, l.GetName(), l.GetValue())
					}
				}
			}
		}
	})
}

// TestCardinality pushes a blob to each of many new repositories and
// counts the series /metrics exposes: they stop growing once every route
// has been used, whatever the number of names. 10,000 repositories on
// SQLite; on PostgreSQL 1,000, which exercise the same label code at a
// third of the time.
func TestCardinality(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		repos := 10_000
		if store.Dialect() == db.Postgres {
			repos = 1_000
		}
		s := newServer(t, store, nil)
		blob := []byte("the same tiny layer everywhere")
		push := func(i int) {
			repo := fmt.Sprintf("admin/repo-%05d", i)
			must(t, s.pushBlob(repo, s.registryToken(repo), blob), http.StatusCreated)
		}
		const warm = 20
		for i := range warm {
			push(i)
		}
		seriesCount(s) // a scrape is a request too: its series exist from the next one on
		before := seriesCount(s)
		start := time.Now()
		var wg sync.WaitGroup
		next := make(chan int)
		for range 4 {
			wg.Go(func() {
				for i := range next {
					push(i)
				}
			})
		}
		for i := warm; i < repos; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		after := seriesCount(s)
		t.Logf("%d repositories pushed in %v; %d wharf_ series before and after the last %d", repos,
			time.Since(start).Round(time.Millisecond), after, repos-warm)
		if after != before {
			t.Errorf("%d series after %d repositories, %d after %d: the series grow with the names", after, repos, before, warm)
		}
	})
}

// seriesCount counts the series of wharf's own families (the runtime's
// and the process's are fixed sets, but their values move).
func seriesCount(s *server) int {
	n := 0
	for name, f := range s.scrape() {
		if strings.HasPrefix(name, "wharf_") {
			n += len(f.Metric)
		}
	}
	return n
}

// TestRequestLog: every request writes one line naming its id (the
// X-Request-Id header), route, status, sizes and the caller the face
// found; no password, token or query string reaches the log.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		s := newServer(t, store, nil)
		tok := s.registryToken("admin/app")
		im := newImage("log")
		exportID, exportSecret := wharf.NewUUID(), wharf.NewUUID()
		tests := []struct {
			name string
			send func() *response
			want map[string]any
		}{
			{"token request with a password", func() *response {
				return s.do("GET", "/v2/auth?scope=repository:admin/app:pull&service="+s.host, "Basic "+basicAuth("admin", adminPassword), nil)
			}, map[string]any{"face": "registry", "route": "auth", "status": 200.0, "caller_kind": "user", "caller": "admin"}},
			{"blob upload with a registry token", func() *response { return s.pushBlob("admin/app", tok, im.layer) },
				map[string]any{"face": "registry", "route": "upload", "method": "POST", "status": 201.0,
					"bytes_in": float64(len(im.layer)), "caller_kind": "oauth", "caller": "admin"}},
			{"anonymous registry call", func() *response { return s.do("GET", "/v2/", "", nil) },
				map[string]any{"face": "registry", "route": "base", "status": 401.0, "caller_kind": "anonymous",
					"error": "UNAUTHORIZED"}},
			{"API call with an OAuth token and a query secret", func() *response {
				return s.do("GET", "/api/v1/superuser/users/?token=query-secret-value", "Bearer "+s.admin, nil)
			}, map[string]any{"face": "api", "route": "/api/v1/superuser/users/{$}", "path": "/api/v1/superuser/users/",
				"status": 200.0, "caller_kind": "oauth", "caller": "admin"}},
			{"API error", func() *response { return s.do("GET", "/api/v1/superuser/users/nobody", "Bearer "+s.admin, nil) },
				map[string]any{"route": "/api/v1/superuser/users/{username}", "status": 404.0, "error": "not_found"}},
			{"exported logs download, whose path is its credential", func() *response {
				return s.do("GET", "/exportedlogs/"+exportID+"-"+exportSecret, "", nil)
			}, map[string]any{"face": "api", "route": "/exportedlogs/{file_id}", "path": "/exportedlogs/" + exportID + "-…",
				"status": 404.0, "error": "not_found"}},
			{"unmatched path", func() *response { return s.do("GET", "/nothing/here", "", nil) },
				map[string]any{"face": "api", "route": "unmatched", "status": 404.0}},
			{"health probe, at debug level", func() *response { return s.do("GET", "/healthz", "", nil) }, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := len(s.logs.lines(t))
				r := tc.send()
				id := r.header.Get("X-Request-Id")
				if len(id) != 16 {
					t.Fatalf("X-Request-Id %q", id)
				}
				var mine []map[string]any
				for _, line := range s.logs.lines(t)[before:] {
					if line["msg"] == "request" && line["request_id"] == id {
						mine = append(mine, line)
					}
				}
				if tc.want == nil {
					if len(mine) != 0 {
						t.Errorf("a probe was logged at info level: %v", mine)
					}
					return
				}
				if len(mine) != 1 {
					t.Fatalf("%d request lines with id %s, want 1; log:\n%s", len(mine), id, s.logs)
				}
				line := mine[0]
				for k, v := range tc.want {
					if line[k] != v {
						t.Errorf("%s = %v, want %v (line %v)", k, line[k], v, line)
					}
				}
				for _, k := range []string{"method", "path", "bytes", "duration_ms", "ip", "level"} {
					if _, ok := line[k]; !ok {
						t.Errorf("no %s in %v", k, line)
					}
				}
			})
		}
		logs := s.logs.String()
		for _, secret := range []string{adminPassword, s.admin, strings.TrimPrefix(tok, "Bearer "), "query-secret-value", exportSecret} {
			if strings.Contains(logs, secret) {
				t.Errorf("the log holds a secret %q:\n%s", secret, logs)
			}
		}
	})
}

// TestSeparateMetrics: with a metrics listener of its own, the main
// handler does not serve /metrics.
func TestSeparateMetrics(t *testing.T) {
	s := newServer(t, dbtest.Open(t, db.SQLite), nil, app.WithSeparateMetrics())
	must(t, s.do("GET", "/metrics", "", nil), http.StatusNotFound)
}
