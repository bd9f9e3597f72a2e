package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/app"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// BenchmarkObserveOverhead measures what the request log and metrics add
// to a manifest GET (a cheap, frequent request): the same request served
// by the whole handler and by the faces alone, alternating request by
// request in the same run so that load from elsewhere hits both alike,
// logging JSON to io.Discard (formatting included). It reports the median
// time of each and their ratio; the target is under 1.05.
func BenchmarkObserveOverhead(b *testing.B) {
	const pairs = 2000
	for _, d := range dbtest.Engines(b) {
		b.Run(string(d), func(b *testing.B) {
			s, a := newServerLogging(b, dbtest.Open(b, d), io.Discard, nil)
			tok := s.registryToken("admin/app")
			s.push("admin/app", "v1", tok, newImage("bench"))
			on, off := a.Handler, app.Faces(a)
			get := func(h http.Handler) time.Duration {
				req := httptest.NewRequest("GET", "/v2/admin/app/manifests/v1", nil)
				req.Header.Set("Authorization", tok)
				rr := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rr, req)
				took := time.Since(start)
				if rr.Code != http.StatusOK {
					b.Fatalf("manifest GET: %d %s", rr.Code, rr.Body)
				}
				return took
			}
			for range pairs / 10 { // warm-up: caches, the pool, the series
				get(on)
				get(off)
			}
			b.ResetTimer()
			var withObs, without []time.Duration
			for range b.N {
				for range pairs {
					withObs = append(withObs, get(on))
					without = append(without, get(off))
				}
			}
			median := func(ds []time.Duration) time.Duration {
				slices.Sort(ds)
				return ds[len(ds)/2]
			}
			mOn, mOff := median(withObs), median(without)
			b.ReportMetric(float64(mOff.Nanoseconds()), "ns/get-off")
			b.ReportMetric(float64(mOn.Nanoseconds()), "ns/get-on")
			b.ReportMetric(float64(mOn)/float64(mOff), "ratio-on/off")
		})
	}
}
