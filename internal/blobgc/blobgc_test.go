package blobgc_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/blobgc"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// fixture is a repository in a user namespace over a store and a
// filesystem driver, with a collector over both.
type fixture struct {
	t     *testing.T
	store *db.DB
	blobs storage.Driver
	repo  *wharf.Repository
	gc    *blobgc.Collector
}

func newFixture(t *testing.T, store *db.DB, name string) *fixture {
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
	blobs, err := filesystem.New(t.TempDir(), filesystem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gc := &blobgc.Collector{Store: store.Collection, Blobs: blobs, Log: slog.New(slog.DiscardHandler), Now: time.Now, Workers: 2}
	return &fixture{t: t, store: store, blobs: blobs, repo: repo, gc: gc}
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// upload stores data as a blob the way a finished upload does: pin, file,
// link (which ends the upload).
func (f *fixture) upload(data []byte) string {
	f.t.Helper()
	ctx := context.Background()
	d := digestOf(data)
	u := &wharf.Upload{ID: "u-" + d[7:19], RepositoryID: f.repo.ID, AccountID: f.repo.NamespaceID, Algorithm: "sha256", Size: int64(len(data))}
	if err := f.store.Uploads.CreateUpload(ctx, u); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.Registry.PinBlob(ctx, u.ID, d, u.Size, time.Now().Add(-blobgc.DoomTTL)); err != nil {
		f.t.Fatal(err)
	}
	key, _ := blobgc.BlobKey(d)
	if err := f.blobs.PutContent(ctx, key, data); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.Registry.LinkBlob(ctx, wharf.BlobLink{RepositoryID: f.repo.ID, Digest: d, Size: u.Size, UploadID: u.ID}); err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) stored(d string) bool {
	f.t.Helper()
	key, _ := blobgc.BlobKey(d)
	_, err := f.blobs.Stat(context.Background(), key)
	if err != nil && !wharf.IsCode(err, wharf.NotFound) {
		f.t.Fatal(err)
	}
	return err == nil
}

func (f *fixture) run(grace, linkGrace time.Duration) blobgc.Result {
	f.t.Helper()
	f.gc.Grace, f.gc.LinkGrace = grace, linkGrace
	res, err := f.gc.Run(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// An uploaded blob no manifest references is unlinked after the link
// grace and removed after the blob grace; one a manifest references stays.
func TestCollectUnreferencedUpload(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		f := newFixture(t, store, "gcuser")
		ctx := context.Background()
		kept, lost := f.upload([]byte("kept layer")), f.upload([]byte("lost layer"))
		m := &wharf.Manifest{RepositoryID: f.repo.ID, Digest: digestOf([]byte("m")), MediaType: "application/vnd.oci.image.manifest.v1+json",
			Content: []byte("m"), Size: 1, Blobs: []string{kept}}
		if err := store.Registry.PutManifest(ctx, wharf.ManifestPush{Manifest: m, Repository: f.repo}); err != nil {
			t.Fatal(err)
		}
		if res := f.run(0, time.Hour); res.Links != 0 || res.Blobs != 0 {
			t.Fatalf("within the link grace: %+v, want nothing", res)
		}
		before, _ := store.Usage.NamespaceUsage(ctx, f.repo.NamespaceID)
		if res := f.run(time.Hour, 0); res.Links != 1 || res.Blobs != 0 {
			t.Fatalf("past the link grace, within the blob grace: %+v, want 1 link", res)
		}
		after, _ := store.Usage.NamespaceUsage(ctx, f.repo.NamespaceID)
		if before-after != int64(len("lost layer")) {
			t.Errorf("usage went from %d to %d, want it to fall by %d", before, after, len("lost layer"))
		}
		if !f.stored(lost) {
			t.Fatal("blob removed within its grace")
		}
		if res := f.run(0, 0); res.Blobs != 1 || res.Bytes != int64(len("lost layer")) {
			t.Fatalf("past both graces: %+v, want 1 blob of %d bytes", res, len("lost layer"))
		}
		if f.stored(lost) || !f.stored(kept) {
			t.Fatalf("stored: lost %v kept %v, want false true", f.stored(lost), f.stored(kept))
		}
		if known, _ := store.Collection.HasBlob(ctx, lost); known {
			t.Error("the collected blob's row is still there")
		}
	})
}

// The protocol's transitions, one at a time: a doom refuses pins and
// mounts while fresh; a stale doom is revived by a pin; a doom that lost
// its stamp is not forgotten; a pinned (referenced) candidate is dropped.
func TestDoomProtocol(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		f := newFixture(t, store, "doomer")
		ctx := context.Background()
		d := f.upload([]byte("contested"))
		if err := store.Registry.UnlinkBlob(ctx, f.repo.ID, d); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		dooms, err := store.Collection.DoomBlobs(ctx, []string{d}, now, now.Add(-blobgc.DoomTTL))
		if err != nil || len(dooms) != 1 {
			t.Fatalf("doom: %v %v", dooms, err)
		}
		doom := dooms[0]
		// Fresh doom: pins and mounts are refused.
		u := &wharf.Upload{ID: "late", RepositoryID: f.repo.ID, AccountID: f.repo.NamespaceID, Algorithm: "sha256"}
		if err := store.Uploads.CreateUpload(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := store.Registry.PinBlob(ctx, u.ID, d, 9, time.Now().Add(-blobgc.DoomTTL)); !blobgc.IsCollecting(err) {
			t.Fatalf("pin of a freshly doomed blob: %v, want ErrCollecting", err)
		}
		err = store.Registry.LinkBlob(ctx, wharf.BlobLink{RepositoryID: f.repo.ID, Digest: d, Size: 9, Mount: true})
		if !blobgc.IsCollecting(err) {
			t.Fatalf("mount of a doomed blob: %v, want ErrCollecting", err)
		}
		// A second collector does not doom it again while fresh.
		if again, err := store.Collection.DoomBlobs(ctx, []string{d}, now, now.Add(-blobgc.DoomTTL)); len(again) != 0 || err != nil {
			t.Fatalf("second doom while fresh: %v %v, want none", again, err)
		}
		// Stale (the pin's clock is past the TTL): the pin revives it, and
		// the first collector's forget is refused by the stamp.
		if err := store.Registry.PinBlob(ctx, u.ID, d, 9, time.UnixMicro(doom.Stamp+1)); err != nil {
			t.Fatalf("pin of a stale doom: %v", err)
		}
		if forgot, err := store.Collection.ForgetBlobs(ctx, dooms); len(forgot) != 0 || err != nil {
			t.Fatalf("forget after revival: %v %v, want none", forgot, err)
		}
		if known, _ := store.Collection.HasBlob(ctx, d); !known {
			t.Fatal("revived blob's row is gone")
		}
		// While pinned the blob is referenced: its candidate is dropped.
		if pinned, err := store.Collection.DoomBlobs(ctx, []string{d}, time.Now(), time.Now()); len(pinned) != 0 || err != nil {
			t.Fatalf("doom of a pinned blob: %v %v, want none", pinned, err)
		}
		// The pin's upload goes: a candidate again, and collected.
		if err := store.Uploads.DeleteUpload(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if res := f.run(0, time.Hour); res.Blobs != 1 {
			t.Fatalf("after the pin ended: %+v, want the blob collected", res)
		}
	})
}

// The sweep makes unreferenced rows candidates and removes old files no
// row names; a file with a row stays.
func TestSweep(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		f := newFixture(t, store, "sweeper")
		ctx := context.Background()
		kept := f.upload([]byte("kept"))
		orphan := []byte("orphan file")
		key, _ := blobgc.BlobKey(digestOf(orphan))
		if err := f.blobs.PutContent(ctx, key, orphan); err != nil {
			t.Fatal(err)
		}
		f.gc.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		res, err := f.gc.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Orphans != 1 || res.OrphanBytes != int64(len(orphan)) || res.FilesChecked != 2 {
			t.Fatalf("sweep: %+v, want one orphan of %d bytes out of 2 files", res, len(orphan))
		}
		if f.stored(digestOf(orphan)) || !f.stored(kept) {
			t.Fatal("the orphan stayed or the linked blob went")
		}
		rd, err := f.blobs.Reader(ctx, func() string { k, _ := blobgc.BlobKey(kept); return k }(), 0)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rd)
		rd.Close()
		if !bytes.Equal(got, []byte("kept")) {
			t.Fatalf("kept blob holds %q", got)
		}
	})
}

// cancelledAfterDoom is a store whose run is cancelled (a shutdown) just
// after its dooms committed: DoomBlobs answers them with the cancellation.
type cancelledAfterDoom struct {
	blobgc.Store
	cancel context.CancelFunc
}

func (s cancelledAfterDoom) DoomBlobs(ctx context.Context, digests []string, cutoff, staleBefore time.Time) ([]wharf.BlobDoom, error) {
	dooms, err := s.Store.DoomBlobs(ctx, digests, cutoff, staleBefore)
	s.cancel()
	return dooms, cmp.Or(err, context.Canceled)
}

// A run cancelled after it doomed blobs still deletes their files and
// forgets them: a doom left behind would refuse pushes of those digests
// until it went stale, and leave the files for a minute.
func TestCancelledRunFinishesItsDooms(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		f := newFixture(t, store, "gcstop")
		var digests []string
		for i := range 30 { // more than one of SQLite's doom transactions
			digests = append(digests, f.upload([]byte(fmt.Sprintf("layer %d", i))))
		}
		f.run(time.Hour, 0) // unlinks them: candidates
		ctx, cancel := context.WithCancel(context.Background())
		f.gc.Store, f.gc.Grace = cancelledAfterDoom{store.Collection, cancel}, 0
		if _, err := f.gc.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("run: %v, want the cancellation", err)
		}
		for _, d := range digests {
			known, err := store.Collection.HasBlob(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			if known || f.stored(d) {
				t.Errorf("%s after the cancelled run: row %v, file %v; want neither", d[:19], known, f.stored(d))
			}
		}
	})
}
