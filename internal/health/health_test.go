package health_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/health"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// fakeDB is a database and its leases, whose failures a test chooses;
// the leases are a map.
type fakeDB struct {
	mu     sync.Mutex
	down   error // returned by every call
	hang   bool  // every call waits for its context
	leases map[string]string
}

func (d *fakeDB) fail(ctx context.Context) error {
	if d.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return d.down
}

func (d *fakeDB) Ping(ctx context.Context) error { return d.fail(ctx) }

func (d *fakeDB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := d.fail(ctx); err != nil {
		return false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if h, ok := d.leases[name]; ok && h != holder {
		return false, nil
	}
	d.leases[name] = holder
	return true, nil
}

func (d *fakeDB) ReleaseLease(ctx context.Context, name, holder string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.leases[name] == holder {
		delete(d.leases, name)
	}
	return nil
}

// brokenStorage fails every call.
type brokenStorage struct{ storage.Driver }

func (brokenStorage) List(context.Context, string) ([]string, error) {
	return nil, wharf.Wrap(errors.New("bucket gone"), "list")
}

func (brokenStorage) PutContent(context.Context, string, []byte) error {
	return wharf.Wrap(errors.New("bucket gone"), "put")
}

type answer struct {
	Data struct {
		Services map[string]bool `json:"services"`
	} `json:"data"`
	StatusCode int `json:"status_code"`
}

func TestEndpoints(t *testing.T) {
	down := wharf.Errorf(wharf.Unavailable, "database gone")
	tests := []struct {
		name     string
		path     string
		db       *fakeDB
		broken   bool  // storage fails
		auth     error // the signing key's check
		readOnly bool
		want     map[string]bool
	}{
		{"instance, all well", "/health/instance", &fakeDB{}, false, nil, false,
			map[string]bool{"database": true, "storage": true, "auth": true}},
		{"Quay's /health is the instance check", "/health", &fakeDB{down: down}, false, nil, false,
			map[string]bool{"database": false, "storage": true, "auth": true}},
		{"instance, database down", "/health/instance", &fakeDB{down: down}, false, down, false,
			map[string]bool{"database": false, "storage": true, "auth": false}},
		{"instance, database hangs", "/health/instance", &fakeDB{hang: true}, false, nil, false,
			map[string]bool{"database": false, "storage": true, "auth": true}},
		{"instance, storage gone", "/health/instance", &fakeDB{}, true, nil, false,
			map[string]bool{"database": true, "storage": false, "auth": true}},
		{"end to end, all well", "/health/endtoend", &fakeDB{}, false, nil, false,
			map[string]bool{"database": true, "storage": true, "auth": true}},
		{"Quay's /status is the end-to-end check", "/status", &fakeDB{}, true, nil, false,
			map[string]bool{"database": true, "storage": false, "auth": true}},
		{"end to end, read-only", "/health/endtoend", &fakeDB{}, false, nil, true,
			map[string]bool{"database": true, "storage": true, "auth": true}},
		{"readiness", "/readyz", &fakeDB{}, false, errors.New("no key"), false,
			map[string]bool{"database": true, "storage": true}},
		{"readiness, database down", "/readyz", &fakeDB{down: down}, false, nil, false,
			map[string]bool{"database": false, "storage": true}},
		{"liveness needs nothing", "/healthz", &fakeDB{down: down}, true, down, false, map[string]bool{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.db.leases = map[string]string{}
			var blobs storage.Driver
			blobs, err := filesystem.New(t.TempDir(), filesystem.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.broken {
				blobs = brokenStorage{blobs}
			}
			var logged bytes.Buffer
			checker := health.New(health.Options{DB: tc.db, Leases: tc.db, Blobs: blobs, Log: slog.New(slog.NewTextHandler(&logged, nil)),
				Auth: func(context.Context) error { return tc.auth }, Timeout: 200 * time.Millisecond, ReadOnly: tc.readOnly})
			rr := httptest.NewRecorder()
			start := time.Now()
			checker.Routes()[tc.path].ServeHTTP(rr, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("the check took %v: the timeout does not bound it", took)
			}
			var got answer
			if err := json.Unmarshal(rr.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rr.Body, err)
			}
			if diff := cmp.Diff(tc.want, got.Data.Services); diff != "" {
				t.Errorf("services (-want +got):\n%s", diff)
			}
			healthy := true
			for _, ok := range tc.want {
				healthy = healthy && ok
			}
			wantStatus := http.StatusOK
			if !healthy {
				wantStatus = http.StatusServiceUnavailable
			}
			if rr.Code != wantStatus || got.StatusCode != wantStatus {
				t.Errorf("status %d, status_code %d; want %d", rr.Code, got.StatusCode, wantStatus)
			}
			if got := rr.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if failed := strings.Contains(logged.String(), "failed health check"); failed == healthy {
				t.Errorf("healthy %v, but the log says %q", healthy, logged.String())
			}
			if keys, _ := blobs.List(context.Background(), ""); len(keys) != 0 {
				t.Errorf("the check left %v in storage", keys)
			}
			if len(tc.db.leases) != 0 {
				t.Errorf("the check left leases %v", tc.db.leases)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	blobs, err := filesystem.New(t.TempDir(), filesystem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := health.New(health.Options{DB: &fakeDB{}, Leases: &fakeDB{}, Blobs: blobs, Log: slog.New(slog.DiscardHandler),
		Auth: func(context.Context) error { return nil }}).Routes()["/health/instance"]
	for method, want := range map[string]int{http.MethodHead: 200, http.MethodPost: 405, http.MethodDelete: 405} {
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest(method, "/health/instance", nil))
		if rr.Code != want {
			t.Errorf("%s: %d, want %d", method, rr.Code, want)
		}
		if method == http.MethodHead && rr.Body.Len() != 0 {
			t.Errorf("HEAD has a body: %q", rr.Body)
		}
	}
}
