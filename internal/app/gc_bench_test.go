package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/blobgc"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// BenchmarkPushWhileCollecting measures what the collector costs pushes:
// the latency of whole pushes (config, layer, manifest over HTTP) with
// the collector idle and while it runs flat out (grace 0, no pause,
// looping) over a backlog of unreferenced blobs. Idle and busy pushes
// take turns in rounds of ten, so that load from outside the benchmark
// (other processes on the machine) falls on both alike; it stops when the
// backlog is gone. It reports p50 and p99 of each, the ratios busy/idle
// (the target is ≤ 1.3) and how fast the collector removed blobs while
// pushes went on (on SQLite it writes in the gaps between pushes' writes,
// see internal/db/writegate.go). Run it once: -benchtime=1x.
func BenchmarkPushWhileCollecting(b *testing.B) {
	const rounds, perRound, junk = 15, 10, 12000
	for _, d := range dbtest.Engines(b) {
		b.Run(string(d), func(b *testing.B) {
			s, a := newServerLogging(b, dbtest.Open(b, d), io.Discard, func(c *config.Config) { c.FeatureGarbageCollection = false })
			tok := s.registryToken("admin/app")
			junkTok := s.registryToken("admin/junk")
			must(b, s.pushBlob("admin/junk", junkTok, []byte("junk")), http.StatusCreated)
			ctx := context.Background()
			repo, err := a.Store.Registry.RepositoryByName(ctx, "admin", "junk")
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := w; i < junk; i += 8 {
						data := []byte(fmt.Sprintf("junk %d %d", i, start.UnixNano()))
						key, _ := blobgc.BlobKey(digestOf(data))
						if err := a.Blobs.PutContent(ctx, key, data); err != nil {
							b.Error(err)
							return
						}
						if err := a.Store.Registry.LinkBlob(ctx, wharf.BlobLink{RepositoryID: repo.ID, Digest: digestOf(data), Size: int64(len(data))}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := a.Store.Registry.DeleteRepository(ctx, repo.ID); err != nil {
				b.Fatal(err)
			}
			b.Logf("seeded %d unreferenced blobs in %v", junk, time.Since(start).Round(time.Millisecond))
			n := 0
			push := func() time.Duration {
				n++
				t := time.Now()
				s.push("admin/app", "latest", tok, newImage(fmt.Sprintf("bench-%d-%d", n, start.UnixNano())))
				return time.Since(t)
			}
			for range 10 { // warm-up: pool, caches, connections
				push()
			}
			gc := a.Collector()
			gc.Grace, gc.LinkGrace, gc.PauseRatio = 0, time.Hour, 0
			var collected atomic.Int64
			// collecting runs the collector in a loop until stopped or
			// out of work; working reports which.
			collecting := func() (stop func(), working func() bool) {
				gcCtx, cancel := context.WithCancel(ctx)
				var dry atomic.Bool
				done := make(chan struct{})
				go func() {
					defer close(done)
					for gcCtx.Err() == nil {
						res, err := gc.Run(gcCtx)
						collected.Add(res.Blobs)
						if err != nil || res.Blobs == 0 {
							dry.Store(err == nil)
							return
						}
					}
				}()
				return func() { cancel(); <-done }, func() bool { return !dry.Load() }
			}
			for b.Loop() {
				var idle, busy []time.Duration
				for range rounds {
					for range perRound {
						idle = append(idle, push())
					}
					stop, working := collecting()
					for i := 0; i < perRound && working(); i++ {
						busy = append(busy, push())
					}
					stop()
					if !working() {
						break
					}
				}
				b.Logf("%d idle and %d busy pushes; the collector removed %d blobs", len(idle), len(busy), collected.Load())
				if len(busy) < 50 {
					b.Fatalf("the collector finished after %d pushes: seed more junk", len(busy))
				}
				pct := func(ds []time.Duration, p float64) time.Duration {
					ds = slices.Clone(ds)
					slices.Sort(ds)
					return ds[int(float64(len(ds)-1)*p)]
				}
				b.ReportMetric(float64(pct(idle, .5).Microseconds()), "µs-p50-idle")
				b.ReportMetric(float64(pct(idle, .99).Microseconds()), "µs-p99-idle")
				b.ReportMetric(float64(pct(busy, .5).Microseconds()), "µs-p50-busy")
				b.ReportMetric(float64(pct(busy, .99).Microseconds()), "µs-p99-busy")
				var busyTime time.Duration
				for _, t := range busy {
					busyTime += t
				}
				b.ReportMetric(float64(collected.Load())/busyTime.Seconds(), "blobs/s-collected-busy")
				b.ReportMetric(float64(pct(busy, .5))/float64(pct(idle, .5)), "p50-busy/idle")
				b.ReportMetric(float64(pct(busy, .99))/float64(pct(idle, .99)), "p99-busy/idle")
			}
		})
	}
}
