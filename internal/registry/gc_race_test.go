package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/blobgc"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/registry"
)

// The race that makes other registries stop the world: a collector with
// no grace loops while pushers re-upload (monolithic and chunked), mount
// and reference a layer whose last reference keeps going away. Every
// manifest a PUT accepted pulls completely while it exists; at the end
// every blob went and the check is clean.
func TestCollectorRace(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		pass := e.createUser("racer")
		const workers, rounds = 6, 12
		shared := randomBytes(64 << 10)
		gc := &blobgc.Collector{Store: store.Collection, Blobs: e.blobs, Log: slog.New(slog.DiscardHandler), Now: time.Now,
			Workers: 2, LinkGrace: time.Hour}
		ctx, stop := context.WithCancel(context.Background())
		var loops, collected atomic.Int64
		var gcErr error
		var gcDone sync.WaitGroup
		gcDone.Go(func() {
			for ctx.Err() == nil {
				// Every third loop also expires links at once, so that an
				// upload's link can go before its manifest arrives.
				if loops.Add(1)%3 == 0 {
					gc.LinkGrace = 0
				} else {
					gc.LinkGrace = time.Hour
				}
				res, err := gc.Run(ctx)
				if err != nil && ctx.Err() == nil {
					gcErr = err
					return
				}
				collected.Add(res.Blobs)
			}
		})
		var failures, refused atomic.Int64
		worker := func(w int) {
			c := e.as("racer", pass)
			repo := fmt.Sprintf("racer/app%d", w)
			peer := fmt.Sprintf("racer/app%d", (w+1)%workers)
			c.extra = []string{"repository:" + peer + ":pull"}
			must(t, "login", c.login("repository:"+repo+":pull,push", "repository:"+peer+":pull"), http.StatusOK)
			for round := range rounds {
				config := []byte(fmt.Sprintf(`{"worker":%d,"round":%d}`, w, round))
				var r *response
				switch round % 3 {
				case 0:
					r = c.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+sha256Of(shared), shared)
				case 1:
					if s := racePush(e, c, repo, shared, sha256Of(shared), true); s != "" {
						t.Errorf("chunked push: %s", s)
						failures.Add(1)
						continue
					}
					r = &response{Status: http.StatusCreated}
				case 2:
					r = c.do("POST", "/v2/"+repo+"/blobs/uploads/?mount="+sha256Of(shared)+"&from="+peer, nil)
					if r.Status == http.StatusAccepted { // not mountable now: upload it
						r = c.do("PUT", withQuery(r.Header.Get("Location"), "digest="+sha256Of(shared)), shared)
					}
				}
				if r.Status != http.StatusCreated {
					t.Errorf("worker %d round %d: layer push %s", w, round, r)
					failures.Add(1)
					continue
				}
				c.pushBlob(repo, config)
				body := manifestJSON(mtOCIManifest, blobDesc(mtOCIConfig, config), []desc{blobDesc(mtOCILayer, shared)}, nil)
				r = c.do("PUT", "/v2/"+repo+"/manifests/latest", body, "Content-Type", mtOCIManifest)
				if r.Status == http.StatusBadRequest && r.Code() == "MANIFEST_BLOB_UNKNOWN" {
					refused.Add(1) // its upload's link expired first: a refusal, not a loss
					continue
				}
				if r.Status != http.StatusCreated {
					t.Errorf("worker %d round %d: manifest PUT %s", w, round, r)
					failures.Add(1)
					continue
				}
				for _, d := range []string{sha256Of(config), sha256Of(shared)} {
					got := c.do("GET", "/v2/"+repo+"/blobs/"+d, nil)
					want := shared
					if d == sha256Of(config) {
						want = config
					}
					if got.Status != http.StatusOK || !bytes.Equal(got.Body, want) {
						t.Errorf("worker %d round %d: pull of %s after the push: %s", w, round, d, got)
						failures.Add(1)
					}
				}
				// The manifest goes again: the layer's references keep falling.
				r = c.do("DELETE", "/v2/"+repo+"/manifests/"+sha256Of(body), nil)
				if r.Status != http.StatusAccepted {
					t.Errorf("delete manifest: %s", r)
				}
			}
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() { worker(w) })
		}
		wg.Wait()
		stop()
		gcDone.Wait()
		if gcErr != nil {
			t.Fatalf("collector: %v", gcErr)
		}
		t.Logf("%d collector loops removed %d blobs; %d manifest PUTs refused after an expired link", loops.Load(), collected.Load(), refused.Load())
		if failures.Load() > 0 {
			t.Fatalf("%d failures", failures.Load())
		}
		var problems []string
		if _, err := registry.Check(context.Background(), store.Registry, e.blobs, func(p string) { problems = append(problems, p) }); err != nil {
			t.Fatal(err)
		}
		if len(problems) > 0 {
			t.Fatalf("check: %s", strings.Join(problems, "; "))
		}
		// Nothing references anything now: one pass with no grace leaves
		// storage empty.
		gc.Grace, gc.LinkGrace = 0, 0
		for range 2 {
			if _, err := gc.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if left := e.storedFiles("blobs"); len(left) > 0 {
			t.Fatalf("blobs left after a full collection: %v", left)
		}
	})
}
