package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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
	if err := store.Accounts.CreateAccount(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	repo := &wharf.Repository{NamespaceID: ns.ID, Namespace: ns.Name, Name: "app", Visibility: wharf.Private}
	if err := store.Registry.CreateRepository(ctx, repo, 0); err != nil {
		t.Fatal(err)
	}
	return &usageFixture{store: store, ns: ns, repo: repo}
}

func blobDigest(n int) string { return fmt.Sprintf("sha256:%064x", n) }

func (f *usageFixture) link(t *testing.T, n int, size int64) string {
	t.Helper()
	d := blobDigest(n)
	if err := f.linkWithin(d, size, 0); err != nil {
		t.Fatal(err)
	}
	return d
}

// linkWithin links blob d of size bytes with reject as the default limit.
func (f *usageFixture) linkWithin(d string, size, reject int64) error {
	return f.store.Registry.LinkBlob(context.Background(), wharf.BlobLink{RepositoryID: f.repo.ID, Digest: d, Size: size, DefaultReject: reject})
}

func (f *usageFixture) put(manifest int, blobs ...string) error {
	m := &wharf.Manifest{RepositoryID: f.repo.ID, Digest: fmt.Sprintf("sha256:%064x", 1_000_000+manifest),
		MediaType: "application/vnd.oci.image.manifest.v1+json", Content: []byte("{}"), Size: 2, Blobs: blobs}
	return f.store.Registry.PutManifest(context.Background(), wharf.ManifestPush{Manifest: m, Repository: f.repo})
}

// upload opens an upload session in the fixture's repository.
func (f *usageFixture) upload(t *testing.T, id string) {
	t.Helper()
	if err := f.store.Uploads.CreateUpload(context.Background(), &wharf.Upload{ID: id, RepositoryID: f.repo.ID, AccountID: f.ns.ID,
		Algorithm: "sha256"}); err != nil {
		t.Fatal(err)
	}
}

func (f *usageFixture) usage(t *testing.T) int64 {
	t.Helper()
	n, err := f.store.Usage.NamespaceUsage(context.Background(), f.ns.ID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUsageCountsUniqueBlobs: a namespace is charged for the unique blobs
// linked to its repositories, from the moment they are linked; deleting a
// manifest unlinks (and stops charging) the blobs no other manifest of the
// repository references.
func TestUsageCountsUniqueBlobs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newUsageFixture(t, store, "counter")
		other := &wharf.Repository{NamespaceID: f.ns.ID, Namespace: f.ns.Name, Name: "other", Visibility: wharf.Private}
		if err := store.Registry.CreateRepository(ctx, other, 0); err != nil {
			t.Fatal(err)
		}
		a, b, c := blobDigest(1), blobDigest(2), blobDigest(3)
		steps := []struct {
			name string
			do   func() error
			want int64
		}{
			{"blobs count once linked", func() error {
				for _, l := range []struct {
					d string
					n int64
				}{{a, 100}, {b, 20}, {c, 3}} {
					if err := f.linkWithin(l.d, l.n, 0); err != nil {
						return err
					}
				}
				return nil
			}, 123},
			{"the same blob in another repository counts once", func() error {
				return store.Registry.LinkBlob(ctx, wharf.BlobLink{RepositoryID: other.ID, Digest: a, Size: 100})
			}, 123},
			{"manifests add nothing", func() error { return errors.Join(f.put(1, a, b), f.put(2, b, c)) }, 123},
			{"delete the first manifest: its own blob stays linked in the other repository", func() error {
				return store.Registry.DeleteManifest(ctx, wharf.ManifestDeletion{Repository: f.repo, Digest: fmt.Sprintf("sha256:%064x", 1_000_001)})
			}, 123},
			{"unlink the last link of a blob", func() error { return store.Registry.UnlinkBlob(ctx, other.ID, a) }, 23},
			{"delete the repository frees everything", func() error { return store.Registry.DeleteRepository(ctx, f.repo.ID) }, 0},
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

// TestQuotaRefusesLinksAndWritesNothing: a link past the Reject limit is
// refused whole.
func TestQuotaRefusesLinksAndWritesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newUsageFixture(t, store, "limited")
		a, b := blobDigest(1), blobDigest(2)
		if err := f.linkWithin(a, 60, 100); err != nil {
			t.Fatal(err)
		}
		err := f.linkWithin(b, 60, 100)
		var qe *wharf.QuotaExceededError
		if !wharf.IsCode(err, wharf.QuotaExceeded) || !errorsAs(err, &qe) || qe.Added != 60 || qe.Usage != 60 || qe.Limit != 100 {
			t.Fatalf("second link: %v, want QuotaExceeded adding 60 to 60 of 100", err)
		}
		if got := f.usage(t); got != 60 {
			t.Fatalf("usage %d after a refused link, want 60", got)
		}
		if _, err := store.Registry.RepositoryBlobSize(context.Background(), f.repo.ID, b); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("the refused blob was linked: %v", err)
		}
		// What adds no bytes goes through at the limit.
		if err := f.linkWithin(a, 60, 60); err != nil {
			t.Fatalf("linking a counted blob again: %v", err)
		}
		if err := f.put(1, a); err != nil {
			t.Fatalf("a manifest of counted blobs: %v", err)
		}
	})
}

// TestReservations: uploads in progress are charged for what they reserved,
// and a completed upload's link takes its reservation's place.
func TestReservations(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newUsageFixture(t, store, "reserving")
		charged := func() int64 {
			n, err := store.Usage.NamespaceCharge(ctx, f.ns.ID)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if err := f.linkWithin(blobDigest(1), 60, 100); err != nil {
			t.Fatal(err)
		}
		f.upload(t, "u1")
		f.upload(t, "u2")
		if limited, err := store.Uploads.Reserve(ctx, "u1", 30, 100); err != nil || !limited {
			t.Fatalf("reserve 30 of the last 40: %v, %v", limited, err)
		}
		if _, err := store.Uploads.Reserve(ctx, "u2", 20, 100); !wharf.IsCode(err, wharf.QuotaExceeded) {
			t.Fatalf("reserve 20 with 10 left: %v, want QuotaExceeded", err)
		}
		if _, err := store.Uploads.Reserve(ctx, "u2", 10, 100); err != nil {
			t.Fatalf("reserve the last 10: %v", err)
		}
		if got := charged(); got != 100 {
			t.Fatalf("charged %d, want 100", got)
		}
		// u1 completes with 25 bytes: its 30 reserved become 25 linked.
		if err := store.Registry.LinkBlob(ctx, wharf.BlobLink{RepositoryID: f.repo.ID, Digest: blobDigest(2), Size: 25, UploadID: "u1",
			DefaultReject: 100}); err != nil {
			t.Fatal(err)
		}
		if got := charged(); got != 95 {
			t.Fatalf("charged %d after u1 completed, want 95", got)
		}
		if err := store.Uploads.DeleteUpload(ctx, "u2"); err != nil {
			t.Fatal(err)
		}
		if got := charged(); got != 85 {
			t.Fatalf("charged %d after u2 was cancelled, want 85", got)
		}
		// Without a limit nothing is reserved.
		f.upload(t, "u3")
		if limited, err := store.Uploads.Reserve(ctx, "u3", 1<<40, 0); err != nil || limited {
			t.Fatalf("unlimited namespace: %v, %v", limited, err)
		}
	})
}

// TestQuotaHoldsUnderConcurrency: 16 links and 16 reservations of 1 unit
// each at once into a namespace limited to 10: exactly 10 of each get in.
func TestQuotaHoldsUnderConcurrency(t *testing.T) {
	for _, kind := range []string{"link", "reserve"} {
		t.Run(kind, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				f := newUsageFixture(t, store, "crowded")
				for i := range 16 {
					f.upload(t, fmt.Sprint("u", i))
				}
				var wg sync.WaitGroup
				var mu sync.Mutex
				accepted, refused := 0, 0
				for i := range 16 {
					wg.Go(func() {
						var err error
						if kind == "link" {
							err = f.linkWithin(blobDigest(100+i), 1<<20, 10<<20)
						} else {
							_, err = store.Uploads.Reserve(context.Background(), fmt.Sprint("u", i), 1<<20, 10<<20)
						}
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							accepted++
						case wharf.IsCode(err, wharf.QuotaExceeded):
							refused++
						default:
							t.Errorf("%s %d: %v", kind, i, err)
						}
					})
				}
				wg.Wait()
				if accepted != 10 || refused != 6 {
					t.Fatalf("%d accepted, %d refused; want 10 and 6", accepted, refused)
				}
				if got, err := store.Usage.NamespaceCharge(context.Background(), f.ns.ID); err != nil || got != 10<<20 {
					t.Fatalf("charged %d (%v), want %d", got, err, 10<<20)
				}
			})
		})
	}
}

func TestReconcileRepairsDrift(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newUsageFixture(t, store, "drifter")
		a, b := f.link(t, 1, 7), f.link(t, 2, 5)
		if err := f.put(1, a, b); err != nil {
			t.Fatal(err)
		}
		before, after, err := store.Usage.ReconcileUsage(ctx, f.ns.ID)
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
		if rs, err := store.Usage.RegistrySizeState(ctx); err != nil || rs.Queued || rs.Completed != nil {
			t.Fatalf("initial state %+v, %v", rs, err)
		}
		if ran, err := store.Usage.CalculateRegistrySize(ctx); err != nil || ran {
			t.Fatalf("calculation without a request ran: %v %v", ran, err)
		}
		if q, err := store.Usage.QueueRegistrySize(ctx); err != nil || !q {
			t.Fatalf("first queue: %v %v", q, err)
		}
		if q, err := store.Usage.QueueRegistrySize(ctx); err != nil || q {
			t.Fatalf("second queue while queued: %v %v; want false", q, err)
		}
		if ran, err := store.Usage.CalculateRegistrySize(ctx); err != nil || !ran {
			t.Fatalf("calculation: %v %v", ran, err)
		}
		rs, err := store.Usage.RegistrySizeState(ctx)
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
			if err := store.Registry.PutManifest(ctx, wharf.ManifestPush{Manifest: m, Repository: f.repo, Tag: tag}); err != nil {
				t.Fatal(err)
			}
			return m
		}
		setExpiration := func(seconds int64) {
			before, err := store.Accounts.AccountByName(ctx, f.ns.Name)
			if err != nil {
				t.Fatal(err)
			}
			after := *before
			after.TagExpirationS = seconds
			if err := store.Accounts.UpdateAccount(ctx, before, &after); err != nil {
				t.Fatal(err)
			}
		}
		collect := func() int {
			n, err := store.Registry.CollectUntaggedManifests(ctx, 100, time.Now())
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
		if err := store.Registry.DeleteTag(ctx, f.repo.ID, "v1"); err != nil {
			t.Fatal(err)
		}
		if n := collect(); n != 1 || f.usage(t) != 0 {
			t.Fatalf("after deleting the last tag: collected %d, usage %d; want 1 and 0", n, f.usage(t))
		}
		f.link(t, 1, 10)
		put(3, "", a) // pushed by digest: its temporary push tag keeps it
		if n, err := store.Registry.CollectUntaggedManifests(ctx, 100, time.Now().Add(-time.Hour)); n != 0 || err != nil {
			t.Fatalf("collected %d manifests pushed by digest within their push tag's time (%v)", n, err)
		}
	})
}

// TestDigestPushedManifestsAreCollected checks that a manifest pushed by
// digest and never tagged is collected once its temporary push tag and
// its namespace's time machine are over, while an index's children, a
// referrer of a manifest still there and a tagged manifest stay.
func TestDigestPushedManifestsAreCollected(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newUsageFixture(t, store, "bydigest")
		setExpiration := func(seconds int64) {
			t.Helper()
			before, err := store.Accounts.AccountByName(ctx, f.ns.Name)
			if err != nil {
				t.Fatal(err)
			}
			after := *before
			after.TagExpirationS = seconds
			if err := store.Accounts.UpdateAccount(ctx, before, &after); err != nil {
				t.Fatal(err)
			}
		}
		put := func(n int, tag string, m wharf.Manifest) string {
			t.Helper()
			m.RepositoryID, m.Digest = f.repo.ID, fmt.Sprintf("sha256:%064x", 3_000_000+n)
			m.MediaType, m.Content, m.Size = "application/vnd.oci.image.manifest.v1+json", []byte("{}"), 2
			if err := store.Registry.PutManifest(ctx, wharf.ManifestPush{Manifest: &m, Repository: f.repo, Tag: tag}); err != nil {
				t.Fatal(err)
			}
			return m.Digest
		}
		a, b, c := f.link(t, 1, 10), f.link(t, 2, 20), f.link(t, 3, 40)
		setExpiration(14 * 24 * 3600)
		alone := put(1, "", wharf.Manifest{Blobs: []string{a}})
		child := put(2, "", wharf.Manifest{Blobs: []string{b}})
		index := put(3, "multi", wharf.Manifest{Children: []string{child}})
		put(4, "", wharf.Manifest{Blobs: []string{c}, SubjectDigest: index})
		collect := func(pushedBefore time.Time) int {
			t.Helper()
			n, err := store.Registry.CollectUntaggedManifests(ctx, 100, pushedBefore)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		later := time.Now().Add(time.Hour)
		if n := collect(later); n != 0 {
			t.Fatalf("collected %d manifests within the time machine window", n)
		}
		setExpiration(0)
		if n := collect(time.Now().Add(-time.Hour)); n != 0 {
			t.Fatalf("collected %d manifests within their push tag's time", n)
		}
		if n := collect(later); n != 1 {
			t.Fatalf("collected %d manifests, want 1 (the lone one)", n)
		}
		if _, err := store.Registry.AliveManifest(ctx, f.repo.ID, alone); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("the lone manifest is still there (%v)", err)
		}
		// Without its index, the child goes; without its subject, the
		// referrer goes.
		if err := store.Registry.DeleteManifest(ctx, wharf.ManifestDeletion{Repository: f.repo, Digest: index}); err != nil {
			t.Fatal(err)
		}
		if n := collect(later); n != 2 {
			t.Fatalf("after deleting the index collected %d manifests, want 2 (its child and the referrer)", n)
		}
	})
}
