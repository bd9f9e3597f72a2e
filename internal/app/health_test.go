package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// healthAnswer is the body of every health endpoint, Quay's shape.
type healthAnswer struct {
	Data struct {
		Services map[string]bool `json:"services"`
	} `json:"data"`
	StatusCode int `json:"status_code"`
}

func (s *server) health(path string) (int, healthAnswer) {
	s.t.Helper()
	r := s.do("GET", path, "", nil)
	var a healthAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		s.t.Fatalf("%s: %v", r, err)
	}
	if a.StatusCode != r.status {
		s.t.Errorf("%s: status_code %d in the body", r, a.StatusCode)
	}
	return r.status, a
}

// TestHealthEndpoints: on a working instance every health endpoint says
// so in Quay's shape, and the end-to-end check leaves nothing in storage.
func TestHealthEndpoints(t *testing.T) {
	t.Parallel()
	all := map[string]bool{"auth": true, "database": true, "storage": true}
	for _, readOnly := range []bool{false, true} {
		t.Run("read-only "+strconv.FormatBool(readOnly), func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				s := newServer(t, store, func(c *config.Config) {
					if readOnly {
						c.RegistryState = "readonly"
					}
				})
				tests := []struct {
					path string
					want map[string]bool
				}{
					{"/health/instance", all},
					{"/health", all},
					{"/health/endtoend", all},
					{"/status", all},
					{"/readyz", map[string]bool{"database": true, "storage": true}},
					{"/healthz", map[string]bool{}},
				}
				for _, tc := range tests {
					status, got := s.health(tc.path)
					if status != http.StatusOK {
						t.Errorf("%s (read-only %v): %d %v", tc.path, readOnly, status, got)
					}
					if diff := cmp.Diff(tc.want, got.Data.Services); diff != "" {
						t.Errorf("%s (read-only %v) services (-want +got):\n%s", tc.path, readOnly, diff)
					}
				}
				if keys, _ := s.blobs.List(context.Background(), ""); len(keys) != 0 {
					t.Errorf("the health checks left %v in storage", keys)
				}
			})
		})
	}
}

// TestDatabaseOutage cuts wharf off from PostgreSQL (a proxy in between,
// not the shared server) and back, without restarting anything:
// /health/instance turns 503 within seconds, API and registry calls that
// need the database answer 503 rather than 500 in each face's format, and
// all is healthy again once the database is back.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	if !hasPostgres(t) {
		return
	}
	outage, uri := dbtest.NewOutage(t, dbtest.URI(t, db.Postgres))
	store, err := db.Open(context.Background(), uri, db.WithSecretKey(dbtest.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := newServer(t, store, nil)
	tok := s.registryToken("admin/app")
	s.push("admin/app", "v1", tok, newImage("outage"))
	calls := []struct {
		name string
		send func() *response
		ok   int
	}{
		{"API read", func() *response { return s.do("GET", "/api/v1/superuser/users/", "Bearer "+s.admin, nil) }, 200},
		{"registry pull", func() *response { return s.do("GET", "/v2/admin/app/manifests/v1", tok, nil) }, 200},
		{"registry login", func() *response {
			return s.do("GET", "/v2/auth?scope=repository:admin/app:pull", "Basic "+basicAuth("$oauthtoken", s.admin), nil)
		}, 200},
	}

	outage.Cut()
	cut := time.Now()
	waitHealth(t, s, http.StatusServiceUnavailable, 10*time.Second)
	t.Logf("/health/instance answered 503 %v after the cut", time.Since(cut).Round(time.Millisecond))
	if _, a := s.health("/health/instance"); a.Data.Services["database"] || !a.Data.Services["storage"] {
		t.Errorf("during the outage: services %v, want database false, storage true", a.Data.Services)
	}
	if status, _ := s.health("/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d, want 503", status)
	}
	for _, c := range calls {
		if r := c.send(); r.status != http.StatusServiceUnavailable {
			t.Errorf("%s during the outage: %s, want 503", c.name, r)
		}
	}

	outage.Restore()
	back := time.Now()
	waitHealth(t, s, http.StatusOK, 10*time.Second)
	t.Logf("/health/instance answered 200 %v after the database came back", time.Since(back).Round(time.Millisecond))
	for _, c := range calls {
		if r := c.send(); r.status != c.ok {
			t.Errorf("%s after the outage: %s, want %d", c.name, r, c.ok)
		}
	}
	for _, line := range s.logs.lines(t) {
		if line["status"] == 500.0 || line["error"] == "internal" {
			t.Errorf("a request failed as an internal fault: %v", line)
		}
	}
}

// waitHealth polls /health/instance until it answers want, failing the
// test after limit.
func waitHealth(t *testing.T, s *server, want int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		status, a := s.health("/health/instance")
		if status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health/instance still %d %v after %v, want %d", status, a.Data.Services, limit, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hasPostgres reports whether the PostgreSQL suite runs (dbtest.Engines
// fails the test when it must and does not).
func hasPostgres(t *testing.T) bool {
	for _, d := range dbtest.Engines(t) {
		if d == db.Postgres {
			return true
		}
	}
	return false
}
