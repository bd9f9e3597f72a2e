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
// with them (the whole handler) and without (the faces alone), alternating
// request by request in the same run so that load from elsewhere hits both
// alike, logging JSON to io.Discard (formatting included). It reports the
// median time of each and their ratio, twice: "http" as a client sees a
// request, through a server on loopback with a kept-alive connection (the
// target, under 1.05), and "handler" for the handler call alone, which
// leaves out what the server spends on every request anyway and so shows
// the same few microseconds as a larger share.
func BenchmarkObserveOverhead(b *testing.B) {
	const pairs = 2000
	for _, d := range dbtest.Engines(b) {
		b.Run(string(d), func(b *testing.B) {
			s, a := newServerLogging(b, dbtest.Open(b, d), io.Discard, nil)
			tok := s.registryToken("admin/app")
			s.push("admin/app", "v1", tok, newImage("bench"))
			const path = "/v2/admin/app/manifests/v1"

			b.Run("handler", func(b *testing.B) {
				serve := func(h http.Handler) func() {
					return func() {
						req := httptest.NewRequest("GET", path, nil)
						req.Header.Set("Authorization", tok)
						rr := httptest.NewRecorder()
						h.ServeHTTP(rr, req)
						if rr.Code != http.StatusOK {
							b.Fatalf("manifest GET: %d %s", rr.Code, rr.Body)
						}
					}
				}
				compare(b, pairs, serve(a.Handler), serve(app.Faces(a)))
			})

			b.Run("http", func(b *testing.B) {
				without := httptest.NewServer(app.Faces(a))
				defer without.Close()
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
				defer client.CloseIdleConnections()
				get := func(base string) func() {
					return func() {
						req, _ := http.NewRequest("GET", base+path, nil)
						req.Header.Set("Authorization", tok)
						resp, err := client.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Fatalf("manifest GET: %d", resp.StatusCode)
						}
					}
				}
				compare(b, pairs, get(s.url), get(without.URL))
			})
		})
	}
}

// compare times on and off alternately, pairs times per b.N after a
// warm-up (caches, the pool, the series, connections), and reports their
// medians and the ratio on/off.
func compare(b *testing.B, pairs int, on, off func()) {
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	for range pairs / 10 {
		on()
		off()
	}
	b.ResetTimer()
	var withObs, without []time.Duration
	for range b.N {
		for i := range pairs {
			// Each goes first in every other pair: what the first of a
			// pair leaves behind (a flush it set off, a pooled
			// connection it warmed) weighs on neither alone.
			if i%2 == 0 {
				withObs = append(withObs, timed(on))
				without = append(without, timed(off))
			} else {
				without = append(without, timed(off))
				withObs = append(withObs, timed(on))
			}
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
}
