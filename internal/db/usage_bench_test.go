package db_test

// Benchmarks of issue 4's acceptance: the registry-size recompute over
// 1,000,000 blob rows, and the per-push cost of usage accounting with 10
// and with 100,000 blobs already referenced in the namespace. Rows are
// seeded straight through database/sql (one INSERT … SELECT from a
// recursive CTE per table), as internal/api/bench_test.go does: seeding
// through the store would measure the seeding. The benchmarks report
// their numbers as metrics and assert correctness only, never timings.
//
//	WHARF_TEST_POSTGRES=… go test ./internal/db/ -run '^$' -bench 'RegistrySize|PushAccounting' -benchtime 1x

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// benchRaw opens uri beside the store, for bulk seeding.
func benchRaw(b *testing.B, uri string) (*sql.DB, db.Dialect) {
	b.Helper()
	dialect, driver, dsn, err := db.SQLDriver(uri)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })
	return raw, dialect
}

// benchHex is the SQL expression of the 64-hex-digit digest body of the
// integer expression n (the same text fmt "%064x" gives).
func benchHex(d db.Dialect, n string) string {
	if d == db.Postgres {
		return "lpad(to_hex(" + n + "), 64, '0')"
	}
	return "printf('%064x', " + n + ")"
}

func benchDigest(n int64) string { return fmt.Sprintf("sha256:%064x", n) }

// benchSeq is the recursive CTE of the integers 0..$1-1.
const benchSeq = `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < $1 - 1) `

// benchExec runs one seeding statement and logs how long it took.
func benchExec(b *testing.B, raw *sql.DB, what, query string, args ...any) {
	b.Helper()
	start := time.Now()
	if _, err := raw.Exec(query, args...); err != nil {
		b.Fatalf("seed %s: %v\n%s", what, err, query)
	}
	b.Logf("seeded %s in %v", what, time.Since(start).Round(time.Millisecond))
}

// benchAnalyze refreshes the planner statistics after a bulk load, as
// autovacuum (PostgreSQL) would have done on a live registry.
func benchAnalyze(b *testing.B, raw *sql.DB, d db.Dialect, tables ...string) {
	b.Helper()
	for _, t := range tables {
		q := "ANALYZE " + t
		if d == db.Postgres {
			q = "VACUUM ANALYZE " + t
		}
		if _, err := raw.Exec(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
}

// blobSizeSQL and blobSizeGo are one size function for seeded blob i, in
// SQL and in Go, so the benchmark knows the exact expected total.
const blobSizeSQL = `(i % 1000003) * 37 + 1`

func blobSizeGo(i int64) int64 { return (i%1000003)*37 + 1 }

// BenchmarkRegistrySizeRecompute seeds 1,000,000 blob rows and times one
// queued registry-size calculation (QueueRegistrySize, then
// CalculateRegistrySize as the background job runs it). It checks the
// result is the exact sum and reports the seconds it took.
func BenchmarkRegistrySizeRecompute(b *testing.B) {
	const blobs = 1_000_000
	for _, d := range dbtest.Engines(b) {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			uri := dbtest.URI(b, d)
			store, err := db.Open(ctx, uri)
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			raw, dialect := benchRaw(b, uri)
			benchExec(b, raw, fmt.Sprintf("%d blob rows", blobs), `INSERT INTO blob (digest, size, created_at) `+benchSeq+
				`SELECT 'sha256:' || `+benchHex(dialect, "i")+`, `+blobSizeSQL+`, $2 FROM seq`, blobs, time.Now().UnixMicro())
			var want int64
			for i := range int64(blobs) {
				want += blobSizeGo(i)
			}
			var rows int64
			if err := raw.QueryRow(`SELECT COUNT(*) FROM blob`).Scan(&rows); err != nil || rows != blobs {
				b.Fatalf("blob has %d rows (%v), want %d", rows, err, blobs)
			}
			recompute := func() time.Duration {
				start := time.Now()
				queued, err := store.Usage.QueueRegistrySize(ctx)
				if err != nil || !queued {
					b.Fatalf("QueueRegistrySize: %v, %v; want queued", queued, err)
				}
				ran, err := store.Usage.CalculateRegistrySize(ctx)
				if err != nil || !ran {
					b.Fatalf("CalculateRegistrySize: %v, %v; want a run", ran, err)
				}
				took := time.Since(start)
				rs, err := store.Usage.RegistrySizeState(ctx)
				if err != nil || rs.Bytes != want || rs.Queued || rs.Running || rs.Completed == nil {
					b.Fatalf("after the run: %+v, %v; want %d bytes, idle, completed", rs, err, want)
				}
				return took
			}
			// The first run straight after the bulk load (PostgreSQL still
			// sets hint bits on every page), then the steady state a live
			// registry is in once autovacuum has passed.
			cold := recompute()
			benchAnalyze(b, raw, dialect, "blob")

			var total time.Duration
			b.ResetTimer()
			for range b.N {
				total += recompute()
			}
			b.StopTimer()
			b.ReportMetric(float64(blobs), "blob-rows")
			b.ReportMetric(cold.Seconds(), "s/first-recompute")
			b.ReportMetric((total / time.Duration(b.N)).Seconds(), "s/recompute")
		})
	}
}

// accountingNS is one namespace of BenchmarkPushAccountingCost: a user with
// a repository, a quota, and `existing` blobs referenced by its manifests.
type accountingNS struct {
	store    *db.DB
	ns       *wharf.Account
	repo     *wharf.Repository
	existing int64
	base     int64 // digests of this namespace's blobs start here
	next     int64 // the next new blob / manifest number
	usage    int64 // the seeded usage plus everything pushed since
	quota    int64
	lat      []time.Duration
}

// blobsPerManifest is how many blobs each seeded manifest references.
const blobsPerManifest = 10

func seedAccountingNS(b *testing.B, store *db.DB, raw *sql.DB, dialect db.Dialect, name string, existing, base int64) *accountingNS {
	b.Helper()
	ctx := context.Background()
	ns := &wharf.Account{Name: name, Kind: wharf.KindUser, Enabled: true}
	if err := store.Accounts.CreateAccount(ctx, ns, nil); err != nil {
		b.Fatal(err)
	}
	repo := &wharf.Repository{NamespaceID: ns.ID, Namespace: ns.Name, Name: "app", Visibility: wharf.Private}
	if err := store.Registry.CreateRepository(ctx, repo, 0); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMicro()
	// The digest of seeded blob i is benchDigest(base + i), in SQL with
	// base as placeholder ph.
	digest := func(ph string) string { return "'sha256:' || " + benchHex(dialect, "(CAST("+ph+" AS BIGINT) + i)") }
	// Blobs stored and linked to the repository.
	benchExec(b, raw, fmt.Sprintf("%s: %d blobs", name, existing), `INSERT INTO blob (digest, size, created_at) `+benchSeq+
		`SELECT `+digest("$2")+`, `+blobSizeSQL+`, $3 FROM seq`, existing, base, now)
	benchExec(b, raw, fmt.Sprintf("%s: %d repository blobs", name, existing), `INSERT INTO repository_blob (repository_id, digest, created_at) `+
		benchSeq+`SELECT $3, `+digest("$2")+`, $4 FROM seq`, existing, base, repo.ID, now)
	// Manifests of blobsPerManifest blobs each; manifest k's digest is
	// benchDigest(base + 1<<40 + k).
	manifests := (existing + blobsPerManifest - 1) / blobsPerManifest
	benchExec(b, raw, fmt.Sprintf("%s: %d manifests", name, manifests), `INSERT INTO manifest (repository_id, digest, media_type,
		artifact_type, annotations, size, content, created_at) `+benchSeq+`SELECT $3, `+digest("$2")+`,
		'application/vnd.oci.image.manifest.v1+json', '', '', 2, $4, $5 FROM seq`, manifests, base+1<<40, repo.ID, []byte("{}"), now)
	var firstID, lastID, count int64
	if err := raw.QueryRow(`SELECT MIN(id), MAX(id), COUNT(*) FROM manifest WHERE repository_id = $1`, repo.ID).Scan(&firstID, &lastID, &count); err != nil {
		b.Fatal(err)
	}
	if count != manifests || lastID-firstID+1 != manifests {
		b.Fatalf("%s: manifest ids %d..%d for %d manifests, want them contiguous", name, firstID, lastID, count)
	}
	// Blob i belongs to manifest i / blobsPerManifest.
	benchExec(b, raw, fmt.Sprintf("%s: %d manifest blobs", name, existing), `INSERT INTO manifest_blob (manifest_id, digest) `+
		benchSeq+`SELECT CAST($3 AS BIGINT) + i / `+fmt.Sprint(blobsPerManifest)+`, `+digest("$2")+` FROM seq`, existing, base, firstID)
	// The accounting as the store keeps it: one reference per blob and the
	// namespace's total in one usage shard.
	benchExec(b, raw, fmt.Sprintf("%s: %d namespace blobs", name, existing), `INSERT INTO namespace_blob (namespace_id, digest, refs) `+
		benchSeq+`SELECT $3, `+digest("$2")+`, 1 FROM seq`, existing, base, ns.ID)
	var usage int64
	for i := range existing {
		usage += blobSizeGo(i)
	}
	if _, err := raw.Exec(`INSERT INTO namespace_usage (namespace_id, shard, bytes) VALUES ($1, 0, $2)`, ns.ID, usage); err != nil {
		b.Fatal(err)
	}
	// A quota far above the usage: the enforcement path runs on every push
	// and never refuses.
	quota := &wharf.Quota{NamespaceID: ns.ID, LimitBytes: 1 << 50}
	if err := store.Quotas.CreateQuota(ctx, quota, "exists"); err != nil {
		b.Fatal(err)
	}
	return &accountingNS{store: store, ns: ns, repo: repo, existing: existing, base: base, next: base + existing,
		usage: usage, quota: quota.LimitBytes}
}

// push times linking 2 new blobs (the accounting and the quota check run
// here) and the PutManifest of a new manifest referencing them.
func (a *accountingNS) push(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	d1, d2 := benchDigest(a.next), benchDigest(a.next+1)
	const s1, s2 = 4096, 1 << 20
	m := &wharf.Manifest{RepositoryID: a.repo.ID, Digest: benchDigest(a.next + 1<<41),
		MediaType: "application/vnd.oci.image.manifest.v1+json", Content: []byte("{}"), Size: 2, Blobs: []string{d1, d2}}
	a.next += 2
	start := time.Now()
	for _, l := range []struct {
		d string
		s int64
	}{{d1, s1}, {d2, s2}} {
		if err := a.store.Registry.LinkBlob(ctx, wharf.BlobLink{RepositoryID: a.repo.ID, Digest: l.d, Size: l.s}); err != nil {
			b.Fatal(err)
		}
	}
	err := a.store.Registry.PutManifest(ctx, wharf.ManifestPush{Manifest: m, Repository: a.repo, Tag: "t" + fmt.Sprint(a.next)})
	a.lat = append(a.lat, time.Since(start))
	if err != nil {
		b.Fatalf("%s: PutManifest: %v", a.ns.Name, err)
	}
	a.usage += s1 + s2
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// BenchmarkPushAccountingCost measures linking 2 new blobs and storing a
// manifest of them (a quota set, so the enforcement path runs) into a namespace
// already holding 10 referenced blobs and into one holding 100,000. Pushes
// alternate between the two namespaces; it reports the median latency of
// each and their ratio — about 1 when accounting is O(1) in the
// namespace's size.
func BenchmarkPushAccountingCost(b *testing.B) {
	const small, large, pushes = 10, 100_000, 300
	for _, d := range dbtest.Engines(b) {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			uri := dbtest.URI(b, d)
			store, err := db.Open(ctx, uri)
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			raw, dialect := benchRaw(b, uri)
			nsSmall := seedAccountingNS(b, store, raw, dialect, "small", small, 1<<32)
			nsLarge := seedAccountingNS(b, store, raw, dialect, "large", large, 2<<32)
			benchAnalyze(b, raw, dialect, "blob", "repository_blob", "manifest", "manifest_blob", "namespace_blob", "namespace_usage")
			// The seeding is the accounting the store would have kept: a
			// reconcile from the links finds nothing to repair.
			for _, a := range []*accountingNS{nsSmall, nsLarge} {
				before, after, err := store.Usage.ReconcileUsage(ctx, a.ns.ID)
				if err != nil || before != a.usage || after != a.usage {
					b.Fatalf("%s: reconcile %d -> %d (%v), want %d both", a.ns.Name, before, after, err, a.usage)
				}
			}
			// Warm-up: caches and prepared plans for both.
			for range 10 {
				nsSmall.push(b)
				nsLarge.push(b)
			}
			nsSmall.lat, nsLarge.lat = nil, nil
			b.ResetTimer()
			for range b.N {
				for range pushes {
					nsSmall.push(b)
					nsLarge.push(b)
				}
			}
			b.StopTimer()
			for _, a := range []*accountingNS{nsSmall, nsLarge} {
				got, err := store.Usage.NamespaceUsage(ctx, a.ns.ID)
				if err != nil || got != a.usage {
					b.Fatalf("%s: usage %d (%v), want %d", a.ns.Name, got, err, a.usage)
				}
			}
			ms, ml := median(nsSmall.lat), median(nsLarge.lat)
			b.Logf("%s: PutManifest at %d blobs: median %v p90 %v; at %d blobs: median %v p90 %v (%d pushes each)",
				d, small, ms, percentile(nsSmall.lat, 90), large, ml, percentile(nsLarge.lat, 90), len(nsSmall.lat))
			b.ReportMetric(float64(ms.Nanoseconds()), "ns/push@10")
			b.ReportMetric(float64(ml.Nanoseconds()), "ns/push@100k")
			b.ReportMetric(float64(percentile(nsSmall.lat, 90).Nanoseconds()), "p90-ns/push@10")
			b.ReportMetric(float64(percentile(nsLarge.lat, 90).Nanoseconds()), "p90-ns/push@100k")
			b.ReportMetric(float64(ml)/float64(ms), "ratio@100k/10")
		})
	}
}
