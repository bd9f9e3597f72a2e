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
// the collector idle, then while it runs flat out (grace 0, looping) over
// a backlog of unreferenced blobs, pushing only while it still has work.
// It reports p50 and p99 of each and the ratios busy/idle (the target is
// p99 ≤ 1.3× idle). Run it once: -benchtime=1x.
func BenchmarkPushWhileCollecting(b *testing.B) {
	const pushes, junk = 150, 8000
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
			for b.Loop() {
				var idle, busy []time.Duration
				for range pushes {
					idle = append(idle, push())
				}
				gc := a.Collector()
				gc.Grace, gc.LinkGrace = 0, time.Hour
				gcCtx, stop := context.WithCancel(ctx)
				var working atomic.Bool
				working.Store(true)
				var collected atomic.Int64
				done := make(chan struct{})
				go func() {
					defer close(done)
					for gcCtx.Err() == nil {
						res, err := gc.Run(gcCtx)
						collected.Add(res.Blobs)
						if err != nil || res.Blobs == 0 {
							working.Store(false)
							return
						}
					}
				}()
				for len(busy) < pushes && working.Load() {
					busy = append(busy, push())
				}
				stop()
				<-done
				b.Logf("%d pushes while the collector removed %d blobs", len(busy), collected.Load())
				if len(busy) < 10 {
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
				b.ReportMetric(float64(pct(busy, .5))/float64(pct(idle, .5)), "p50-busy/idle")
				b.ReportMetric(float64(pct(busy, .99))/float64(pct(idle, .99)), "p99-busy/idle")
			}
		})
	}
}
