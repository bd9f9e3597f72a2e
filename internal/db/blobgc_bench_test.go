package db_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/blobgc"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/storage/s3"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// benchBlobs is how many unreferenced blobs BenchmarkCollect seeds
// (WHARF_BENCH_GC_BLOBS, default 100,000).
func benchBlobs(b *testing.B) int64 {
	if v := os.Getenv("WHARF_BENCH_GC_BLOBS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("WHARF_BENCH_GC_BLOBS=%q: want a positive integer", v)
		}
		return n
	}
	return 100_000
}

// benchDrivers are the storage drivers to collect from: the filesystem,
// and S3 when WHARF_TEST_S3 names a server.
func benchDrivers(b *testing.B) map[string]func() storage.Driver {
	drivers := map[string]func() storage.Driver{"filesystem": func() storage.Driver {
		d, err := filesystem.New(b.TempDir(), filesystem.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return d
	}}
	if raw := os.Getenv("WHARF_TEST_S3"); raw != "" {
		drivers["s3"] = func() storage.Driver {
			u, err := url.Parse(raw)
			if err != nil {
				b.Fatal(err)
			}
			secret, _ := u.User.Password()
			cfg, err := s3.FromQuayParams("S3Storage", map[string]any{"endpoint_url": u.Scheme + "://" + u.Host,
				"s3_bucket": strings.Trim(u.Path, "/"), "s3_access_key": u.User.Username(), "s3_secret_key": secret,
				"storage_path": fmt.Sprintf("/gcbench-%d", time.Now().UnixNano())})
			if err != nil {
				b.Fatal(err)
			}
			d, err := s3.New(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			return d
		}
	}
	return drivers
}

// BenchmarkCollect seeds 100,000 unreferenced blobs (rows, candidates and
// 64-byte files) and times one collector run that removes them all; it
// reports blobs/s. Run it once: -benchtime=1x.
func BenchmarkCollect(b *testing.B) {
	n := benchBlobs(b)
	for _, d := range dbtest.Engines(b) {
		for name, newDriver := range benchDrivers(b) {
			b.Run(string(d)+"/"+name, func(b *testing.B) {
				uri := dbtest.URI(b, d)
				store, err := db.Open(context.Background(), uri)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { store.Close() })
				raw, dialect := benchRaw(b, uri)
				blobs := newDriver()
				digest := "'sha256:' || " + benchHex(dialect, "(CAST($2 AS BIGINT) + i)")
				benchExec(b, raw, fmt.Sprintf("%d blob rows", n), `INSERT INTO blob (digest, size, created_at) `+benchSeq+
					`SELECT `+digest+`, 64, 0 FROM seq`, n, int64(1))
				benchExec(b, raw, fmt.Sprintf("%d candidates", n), `INSERT INTO blob_candidate (digest, since) `+benchSeq+
					`SELECT `+digest+`, 0 FROM seq`, n, int64(1))
				seedFiles(b, blobs, n)
				gc := &blobgc.Collector{Store: store.Collection, Blobs: blobs, Log: slog.New(slog.DiscardHandler), Workers: 16, Now: time.Now}
				for b.Loop() {
					start := time.Now()
					res, err := gc.Run(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if res.Blobs != n {
						b.Fatalf("collected %d blobs, want %d", res.Blobs, n)
					}
					b.ReportMetric(float64(n)/time.Since(start).Seconds(), "blobs/s")
				}
			})
		}
	}
}

// seedFiles stores blob files 1..n (64 bytes each), sixteen at a time.
func seedFiles(b *testing.B, blobs storage.Driver, n int64) {
	b.Helper()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range int64(16) {
		wg.Go(func() {
			for i := w + 1; i <= n; i += 16 {
				key, _ := blobgc.BlobKey(benchDigest(i))
				if err := blobs.PutContent(context.Background(), key, make([]byte, 64)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d files in %v", n, time.Since(start).Round(time.Millisecond))
}

// BenchmarkLinkCost times linking one blob (an upload's commit: pin and
// link) in a namespace that already links few or many blobs and has few or
// many collection candidates: the reference counting adds one index
// insert per link, whatever the counts. It reports ns/link; compare the
// sub-benchmarks.
func BenchmarkLinkCost(b *testing.B) {
	for _, d := range dbtest.Engines(b) {
		for _, existing := range []int64{1_000, 100_000} {
			b.Run(fmt.Sprintf("%s/existing=%d", d, existing), func(b *testing.B) {
				uri := dbtest.URI(b, d)
				store, err := db.Open(context.Background(), uri)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { store.Close() })
				raw, dialect := benchRaw(b, uri)
				ns := seedAccountingNS(b, store, raw, dialect, "linker", existing, 1)
				digest := "'sha256:' || " + benchHex(dialect, "(CAST($2 AS BIGINT) + i)")
				benchExec(b, raw, fmt.Sprintf("%d candidates", existing), `INSERT INTO blob_candidate (digest, since) `+benchSeq+
					`SELECT `+digest+`, 0 FROM seq`, existing, int64(1)<<50)
				benchAnalyze(b, raw, dialect, "blob", "blob_candidate", "repository_blob", "pending_link", "upload")
				ctx := context.Background()
				i := int64(1) << 45
				for b.Loop() {
					i++
					u := &wharf.Upload{ID: fmt.Sprintf("bench-%d", i), RepositoryID: ns.repo.ID, AccountID: ns.ns.ID, Algorithm: "sha256", Size: 100}
					if err := store.Uploads.CreateUpload(ctx, u); err != nil {
						b.Fatal(err)
					}
					if err := store.Registry.PinBlob(ctx, u.ID, benchDigest(i), 100, time.Now().Add(-blobgc.DoomTTL)); err != nil {
						b.Fatal(err)
					}
					if err := store.Registry.LinkBlob(ctx, wharf.BlobLink{RepositoryID: ns.repo.ID, Digest: benchDigest(i), Size: 100, UploadID: u.ID}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
