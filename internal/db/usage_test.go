package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// usageFixture is a namespace with a repository and blobs of known sizes.
type usageFixture struct {
	store *db.DB
	ns    *wharf.Account
	repo  *wharf.Repository
}

func newUsageFixture(t *testing.T, store *db.DB, name string) *usageFixture {
	t.Helper()
	ctx := context.Background()
	ns := &wharf.Account{Name: name, Kind: wharf.KindUser, Enabled: true}
	if err := store.CreateAccount(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	repo := &wharf.Repository{NamespaceID: ns.ID, Namespace: ns.Name, Name: "app", Visibility: wharf.Private}
	if err := store.CreateRepository(ctx, repo); err != nil {
		t.Fatal(err)
	}
	return &usageFixture{store: store, ns: ns, repo: repo}
}

func blobDigest(n int) string { return fmt.Sprintf("sha256:%064x", n) }

func (f *usageFixture) link(t *testing.T, n int, size int64) string {
	t.Helper()
	d := blobDigest(n)
	if err := f.store.LinkBlob(context.Background(), f.repo.ID, d, size); err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *usageFixture) put(manifest int, reject int64, blobs ...string) error {
	m := &wharf.Manifest{RepositoryID: f.repo.ID, Digest: fmt.Sprintf("sha256:%064x", 1_000_000+manifest),
		MediaType: "application/vnd.oci.image.manifest.v1+json", Content: []byte("{}"), Size: 2, Blobs: blobs}
	return f.store.PutManifest(context.Background(), db.ManifestPut{Manifest: m, DefaultRejectBytes: reject,
		Logs: func(string, db.Growth) []wharf.LogEntry { return nil }})
}

func (f *usageFixture) usage(t *testing.T) int64 {
	t.Helper()
	n, err := f.store.NamespaceUsage(context.Background(), f.ns.ID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUsageCountsUniqueBlobs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newUsageFixture(t, store, "counter")
		a, b, c := f.link(t, 1, 100), f.link(t, 2, 20), f.link(t, 3, 3)
		steps := []struct {
			name string
			do   func() error
			want int64
		}{
			{"first manifest", func() error { return f.put(1, 0, a, b) }, 120},
			{"second manifest shares a blob", func() error { return f.put(2, 0, b, c) }, 123},
			{"same manifest again counts nothing", func() error { return f.put(2, 0, b, c) }, 123},
			{"delete the first manifest frees only its own blob", func() error {
				return store.DeleteManifest(ctx, f.repo.ID, fmt.Sprintf("sha256:%064x", 1_000_001), func([]string) []wharf.LogEntry { return nil })
			}, 23},
			{"delete the repository frees everything", func() error { return store.DeleteRepository(ctx, f.repo.ID) }, 0},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got := f.usage(t); got != s.want {
				t.Fatalf("%s: usage %d, want %d", s.name, got, s.want)
			}
		}
	})
}

func TestQuotaRejectsAndWritesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newUsageFixture(t, store, "limited")
		a, b := f.link(t, 1, 60), f.link(t, 2, 60)
		if err := f.put(1, 100, a); err != nil {
			t.Fatal(err)
		}
		err := f.put(2, 100, b)
		var qe *wharf.QuotaExceededError
		if !wharf.IsCode(err, wharf.QuotaExceeded) || !errorsAs(err, &qe) || qe.Added != 60 || qe.Usage != 60 || qe.Limit != 100 {
			t.Fatalf("second push: %v, want QuotaExceeded adding 60 to 60 of 100", err)
		}
		if got := f.usage(t); got != 60 {
			t.Fatalf("usage %d after a refused push, want 60", got)
		}
		if _, err := store.ManifestByDigest(context.Background(), f.repo.ID, fmt.Sprintf("sha256:%064x", 1_000_002)); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("refused manifest was stored: %v", err)
		}
		// A manifest adding no new bytes still goes through at the limit.
		if err := f.put(3, 100, a); err != nil {
			t.Fatalf("manifest reusing counted blobs: %v", err)
		}
	})
}

// TestQuotaHoldsUnderConcurrency pushes 16 manifests of 1 unit each at once
// into a namespace limited to 10: exactly 10 get in.
func TestQuotaHoldsUnderConcurrency(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newUsageFixture(t, store, "crowded")
		digests := make([]string, 16)
		for i := range digests {
			digests[i] = f.link(t, 100+i, 1<<20)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted, refused := 0, 0
		for i, d := range digests {
			wg.Go(func() {
				err := f.put(10+i, 10<<20, d)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					accepted++
				case wharf.IsCode(err, wharf.QuotaExceeded):
					refused++
				default:
					t.Errorf("push %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if accepted != 10 || refused != 6 {
			t.Fatalf("%d accepted, %d refused; want 10 and 6", accepted, refused)
		}
		if got := f.usage(t); got != 10<<20 {
			t.Fatalf("usage %d, want %d", got, 10<<20)
		}
	})
}

func TestReconcileRepairsDrift(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newUsageFixture(t, store, "drifter")
		a, b := f.link(t, 1, 7), f.link(t, 2, 5)
		if err := f.put(1, 0, a, b); err != nil {
			t.Fatal(err)
		}
		before, after, err := store.ReconcileUsage(ctx, f.ns.ID)
		if err != nil || before != 12 || after != 12 {
			t.Fatalf("reconcile of a correct namespace: %d -> %d, %v; want 12 -> 12", before, after, err)
		}
		if got := f.usage(t); got != 12 {
			t.Fatalf("usage after reconcile %d, want 12", got)
		}
	})
}

func TestRegistrySizeQueue(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newUsageFixture(t, store, "sizer")
		f.link(t, 1, 1000)
		f.link(t, 2, 24)
		if rs, err := store.RegistrySizeState(ctx); err != nil || rs.Queued || rs.Completed != nil {
			t.Fatalf("initial state %+v, %v", rs, err)
		}
		if ran, err := store.CalculateRegistrySize(ctx); err != nil || ran {
			t.Fatalf("calculation without a request ran: %v %v", ran, err)
		}
		if q, err := store.QueueRegistrySize(ctx); err != nil || !q {
			t.Fatalf("first queue: %v %v", q, err)
		}
		if q, err := store.QueueRegistrySize(ctx); err != nil || q {
			t.Fatalf("second queue while queued: %v %v; want false", q, err)
		}
		if ran, err := store.CalculateRegistrySize(ctx); err != nil || !ran {
			t.Fatalf("calculation: %v %v", ran, err)
		}
		rs, err := store.RegistrySizeState(ctx)
		if err != nil || rs.Bytes != 1024 || rs.Queued || rs.Running || rs.Completed == nil {
			t.Fatalf("after calculation %+v, %v; want 1024 bytes, idle, completed", rs, err)
		}
	})
}

func TestUntaggedManifestsAreCollected(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newUsageFixture(t, store, "expiring")
		a, b := f.link(t, 1, 10), f.link(t, 2, 20)
		put := func(n int, tag string, blob string) *wharf.Manifest {
			m := &wharf.Manifest{RepositoryID: f.repo.ID, Digest: fmt.Sprintf("sha256:%064x", 2_000_000+n),
				MediaType: "application/vnd.oci.image.manifest.v1+json", Content: []byte("{}"), Size: 2, Blobs: []string{blob}}
			if err := store.PutManifest(ctx, db.ManifestPut{Manifest: m, Tag: tag,
				Logs: func(string, db.Growth) []wharf.LogEntry { return nil }}); err != nil {
				t.Fatal(err)
			}
			return m
		}
		setExpiration := func(seconds int64) {
			if _, err := store.UpdateAccount(ctx, f.ns.Name, func(a *wharf.Account) ([]wharf.LogEntry, error) {
				a.TagExpirationS = seconds
				return nil, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		collect := func() int {
			n, err := store.CollectUntaggedManifests(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		setExpiration(14 * 24 * 3600)
		put(1, "v1", a)
		put(2, "v1", b) // moves v1: manifest 1 is untagged now
		if n := collect(); n != 0 || f.usage(t) != 30 {
			t.Fatalf("within the time machine window: collected %d, usage %d; want 0 and 30", n, f.usage(t))
		}
		setExpiration(0)
		if n := collect(); n != 1 || f.usage(t) != 20 {
			t.Fatalf("after expiration: collected %d, usage %d; want 1 and 20", n, f.usage(t))
		}
		if err := store.DeleteTag(ctx, f.repo.ID, "v1"); err != nil {
			t.Fatal(err)
		}
		if n := collect(); n != 1 || f.usage(t) != 0 {
			t.Fatalf("after deleting the last tag: collected %d, usage %d; want 1 and 0", n, f.usage(t))
		}
		put(3, "", a) // pushed by digest, never tagged: not garbage
		if n := collect(); n != 0 {
			t.Fatalf("collected %d manifests that were never tagged", n)
		}
	})
}
