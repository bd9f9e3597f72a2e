// Package health answers Quay's health endpoints and the probes Kubernetes
// uses, from checks of what wharf depends on: the database, blob storage,
// and the instance key that signs registry tokens.
//
//	GET /health/instance (Quay's /health)   can this process serve?      database ping, storage list, auth
//	GET /health/endtoend (Quay's /status)   do writes go all the way?    database and storage round trips, auth
//	GET /readyz                             send traffic here?           database ping, storage list
//	GET /healthz                            is the process alive?        nothing: it answered
//
// Every answer has Quay's shape, {"data": {"services": {name: bool}},
// "status_code": N}, with status 200 when every service is healthy and 503
// otherwise. Checks run concurrently, each bounded by a timeout, so a
// database that hangs makes a probe answer 503 in seconds instead of
// hanging it. Why a check failed is logged (Quay logs "[FAILED HEALTH
// CHECK]"), never shown: the endpoints need no credentials.
package health

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
)

// Database is the store of record's connection pool.
type Database interface {
	// Ping makes one round trip to the database.
	Ping(ctx context.Context) error
}

// Leases are the job leases (package worker): taking one is a write that
// reads back whether it won, which makes the end-to-end round trip.
type Leases interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// DefaultTimeout bounds each check: as long as Quay gives a database
// connection in its health check.
const DefaultTimeout = 3 * time.Second

// Options are what the checks check, and how.
type Options struct {
	DB     Database
	Leases Leases
	Blobs  storage.Driver
	// Auth reports an error when no instance key can sign a registry
	// token now (Quay's service_key check; its auth check is the
	// database's for database authentication).
	Auth func(ctx context.Context) error
	Log  *slog.Logger
	// Timeout bounds each check (DefaultTimeout when 0).
	Timeout time.Duration
	// ReadOnly (REGISTRY_STATE readonly) makes the end-to-end check read
	// only: storage or the database may be read-only then, as Quay's
	// health check also assumes.
	ReadOnly bool
}

// Checker runs the checks.
type Checker struct{ Options }

// New returns a Checker.
func New(o Options) *Checker {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return &Checker{o}
}

// check is one named check.
type check struct {
	service string
	run     func(ctx context.Context) error
}

// Routes are the health endpoints by path.
func (c *Checker) Routes() map[string]http.Handler {
	instance := c.handler("instance", c.instanceChecks())
	endToEnd := c.handler("endtoend", c.endToEndChecks())
	return map[string]http.Handler{
		"/health":          instance,
		"/health/instance": instance,
		"/status":          endToEnd,
		"/health/endtoend": endToEnd,
		"/readyz":          c.handler("readiness", []check{{"database", c.DB.Ping}, {"storage", c.listStorage}}),
		"/healthz":         c.handler("liveness", nil),
	}
}

func (c *Checker) instanceChecks() []check {
	return []check{{"database", c.DB.Ping}, {"storage", c.listStorage}, {"auth", c.Auth}}
}

func (c *Checker) endToEndChecks() []check {
	if c.ReadOnly {
		return c.instanceChecks()
	}
	return []check{{"database", c.databaseRoundTrip}, {"storage", c.storageRoundTrip}, {"auth", c.Auth}}
}

// report is the body of every health answer, as Quay writes it.
type report struct {
	Data struct {
		Services map[string]bool `json:"services"`
	} `json:"data"`
	StatusCode int `json:"status_code"`
}

func (c *Checker) handler(name string, checks []check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rep := c.run(r.Context(), name, checks)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(rep.StatusCode)
		if r.Method == http.MethodGet {
			json.NewEncoder(w).Encode(rep)
		}
	})
}

// run runs checks concurrently, each under the timeout, and logs why the
// failed ones failed.
func (c *Checker) run(ctx context.Context, name string, checks []check) report {
	var rep report
	rep.Data.Services = make(map[string]bool, len(checks))
	failures := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, c.Timeout)
			defer cancel()
			failures[i] = ch.run(ctx)
		})
	}
	wg.Wait()
	rep.StatusCode = http.StatusOK
	var attrs []any
	for i, ch := range checks {
		rep.Data.Services[ch.service] = failures[i] == nil
		if failures[i] != nil {
			rep.StatusCode = http.StatusServiceUnavailable
			attrs = append(attrs, slog.Any(ch.service, failures[i]))
		}
	}
	if len(attrs) > 0 {
		c.Log.WarnContext(ctx, "failed health check", append([]any{slog.String("check", name)}, attrs...)...)
	}
	return rep
}

// listStorage reads storage's top level: it needs the backend (the
// directory, the bucket) to be there and readable.
func (c *Checker) listStorage(ctx context.Context) error {
	_, err := c.Blobs.List(ctx, "")
	return err
}

// healthKey is the storage key and lease name of one round trip: random,
// so that processes checking at once do not meet.
func healthKey() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "health/" + hex.EncodeToString(b)
}

// storageRoundTrip writes a small object, reads it back and deletes it.
func (c *Checker) storageRoundTrip(ctx context.Context) error {
	key := healthKey()
	want := []byte("wharf health check " + key)
	if err := c.Blobs.PutContent(ctx, key, want); err != nil {
		return err
	}
	got, err := c.Blobs.GetContent(ctx, key)
	// Delete even after a failed read; the caller's deadline may be gone.
	delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.Timeout)
	defer cancel()
	if derr := c.Blobs.Delete(delCtx, key); err == nil {
		err = derr
	}
	if err == nil && string(got) != string(want) {
		err = fmt.Errorf("storage returned %d bytes that differ from the %d written", len(got), len(want))
	}
	return err
}

// databaseRoundTrip takes a lease (a write), checks that another holder
// cannot take it (a read of that write) and gives it back.
func (c *Checker) databaseRoundTrip(ctx context.Context) error {
	name := healthKey()
	ok, err := c.Leases.AcquireLease(ctx, name, "health-check", time.Minute)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("lease %s is new but was held already", name)
	}
	ok, err = c.Leases.AcquireLease(ctx, name, "health-check-rival", time.Minute)
	relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.Timeout)
	defer cancel()
	if rerr := c.Leases.ReleaseLease(relCtx, name, "health-check"); err == nil {
		err = rerr
	}
	if err == nil && ok {
		err = fmt.Errorf("lease %s was taken twice: the database did not keep the first write", name)
	}
	return err
}
