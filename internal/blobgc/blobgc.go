// Package blobgc collects blobs online: while pushes go on, in any number
// of processes, without a window in which a push can lose a blob.
//
// # References and candidates
//
// A blob is referenced by a repository's link (repository_blob: uploaded
// or mounted there), by a manifest (manifest_blob) or by an upload that is
// committing it (upload.digest, "the pin"). Each namespace counts its links
// to a blob (namespace_blob.refs); when that count reaches zero, a
// manifest that references a blob without a link goes, a pinning upload
// ends, or a namespace is deleted, the digest becomes a candidate
// (blob_candidate, since = now). Links made by an upload or a mount are
// pending (pending_link) until a manifest of their repository references
// them; one still unreferenced after PUSH_TEMP_TAG_EXPIRATION_SEC is
// unlinked, which charges the namespace for it until then. Adding a
// reference costs one index insert and one row lock shared with every
// other push: no counter row is updated, so pushes of one base layer never
// queue behind each other.
//
// # States of a blob row
//
//	(none) ──pin/link──► live ──doom (T1)──► doomed ──file deleted, forget (T2)──► (none)
//	                       ▲                    │
//	                       └── a push revives a doom older than DoomTTL (its collector is gone)
//
// # The protocol
//
// Collector, for a candidate whose since is older than the grace:
//
//	T1  lock the blob rows exclusively (PostgreSQL SELECT … FOR UPDATE
//	    SKIP LOCKED, a hundred candidates at a time: a row a push holds
//	    is skipped, never waited for; SQLite: the write transaction
//	    itself, BEGIN IMMEDIATE); skip those a doom younger than DoomTTL
//	    holds; check in statements after the lock that no link, manifest
//	    or pin references them (a candidate that is referenced is
//	    dropped); set doomed_at = stamp. Commit.
//	    delete the file from storage, giving up at stamp + DoomTTL/4.
//	T2  DELETE the row WHERE doomed_at = stamp (the version check), and
//	    the candidate. Commit.
//
// Every transaction that adds a reference locks the same row first, in a
// mode that conflicts with T1's lock and with nothing else (PostgreSQL FOR
// KEY SHARE, which foreign-key checks take too; SQLite serialises writers)
// and refuses a doomed row:
//
//   - LinkBlob (an upload's link, a cross-repository mount) finds the row
//     live or fails with the wharf.ErrCollecting Conflict (a mount then
//     falls back to an ordinary upload of the bytes).
//   - A manifest PUT references only blobs linked to its repository, and
//     checks the links holding the namespace's lock shared; unlinking takes
//     it exclusively. A linked blob is never doomed (T1 checks links), so
//     a manifest cannot reference a doomed blob.
//   - Deleting a manifest unlinks the blobs no other manifest of the
//     repository references, except those a push in progress may still
//     reference: every upload or mount counts one push on its pending link
//     (pending_link.uploads), every manifest PUT ends one for each blob it
//     references, and a link with pushes left stays until it expires
//     after PUSH_TEMP_TAG_EXPIRATION_SEC. Both sides hold the namespace's
//     lock (the delete exclusively), so an upload is counted before the
//     delete looks, or links the blob again after it. Without this, client
//     A deleting its image between client B's upload of a shared layer and
//     B's manifest PUT refused B's push (TestManifestDeleteSparesPushInProgress).
//   - An upload finishing with digest D pins D before it touches
//     blobs/D (PinBlob: create the row if missing, lock it, refuse a
//     fresh doom, set upload.digest = D), then stats blobs/D, moves its
//     bytes there if absent, and links D while dropping the pin (LinkBlob
//     deletes the upload in the same transaction). While pinned, T1 finds
//     the reference and leaves D alone. A pin that meets a fresh doom
//     waits until T2 has removed the row (or the doom goes stale) and
//     tries again, so it stores its bytes after the collector's delete.
//
// Because the references and T1 take conflicting locks on one row, either
// the reference commits first (T1 then sees it: READ COMMITTED reads what
// committed before each statement) or T1 does (the reference then sees
// the doom). No storage call is made while a database lock is held.
//
// A run that is cancelled (a shutdown) after T1 still deletes the files
// it doomed and runs T2. A collector that dies between T1 and T2 leaves a
// doomed row. Its doom goes stale after DoomTTL; the next collector takes it over (a new stamp
// by the same version check) and finishes, or a push of the same digest
// revives it (PinBlob clears a stale doom by its stamp) and then finds out
// from storage whether the file is still there. Its file delete gave up at
// stamp + DoomTTL/4, so nothing deletes the file after a revival provided
// the processes' clocks agree within DoomTTL/2.
//
// The job's lease only spreads the work: two collectors may run at once
// (a lease can lapse under a slow run); the stamps keep them apart.
//
// # Orphan files
//
// A slow periodic sweep walks blobs/ for files no row names (left by a
// crash before this protocol, or restored from a backup). It dooms such a
// file by inserting its row already doomed (so a push of that digest
// waits), deletes the file and forgets the row as T2 does. Files younger
// than an hour are left alone. The sweep also makes every unreferenced
// row that is no candidate one (a reference lost by a cascade).
package blobgc

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// DoomTTL is how long a doom holds a blob: after it a push may revive the
// blob and another collector may take the doom over. A collector's file
// delete gives up after a quarter of it.
const DoomTTL = time.Minute

// orphanMinAge spares files younger than this from the orphan sweep.
const orphanMinAge = time.Hour

// Store is the database side of collection (db.Collection).
type Store interface {
	// ExpirePendingLinks unlinks up to limit pending links made before
	// cutoff that no manifest references; it returns how many it
	// unlinked and how many it looked at.
	ExpirePendingLinks(ctx context.Context, cutoff time.Time, limit int) (unlinked, seen int, err error)
	DueCandidates(ctx context.Context, cutoff time.Time, after string, limit int) ([]string, error)
	// DoomBlobs dooms those of digests that are due, unreferenced and not
	// doomed by another collector (T1), in one or more transactions (with
	// an error it returns the dooms committed before it); ForgetBlobs
	// removes the rows of dooms still theirs (T2) and returns those.
	DoomBlobs(ctx context.Context, digests []string, cutoff, staleBefore time.Time) ([]wharf.BlobDoom, error)
	ForgetBlobs(ctx context.Context, dooms []wharf.BlobDoom) ([]wharf.BlobDoom, error)
	HasBlob(ctx context.Context, digest string) (bool, error)
	DoomOrphan(ctx context.Context, digest string, size int64) (wharf.BlobDoom, bool, error)
	SweepRows(ctx context.Context) (int64, error)
	Plan(ctx context.Context, cutoff, linkCutoff time.Time, fn func(kind string, repoID int64, digest string, size int64) error) error
	// RecordCollection adds a run's reclaim to the totals every process
	// shares (the superuser's storage page).
	RecordCollection(ctx context.Context, at time.Time, blobs, bytes, links int64) error
}

// Observer is told what each run reclaimed (the process's metrics).
type Observer interface {
	BlobsCollected(blobs, bytes, links int64)
}

// Collector removes what nothing references any more.
type Collector struct {
	Store Store
	Blobs storage.Driver
	Log   *slog.Logger
	// Obs may be nil.
	Obs Observer
	// Grace is how long a blob stays after its last reference went.
	Grace time.Duration
	// LinkGrace is how long a link no manifest references stays
	// (PUSH_TEMP_TAG_EXPIRATION_SEC).
	LinkGrace time.Duration
	// Workers delete files in parallel (an object store's latency).
	Workers int
	// PauseRatio makes the collector pause after each chunk of candidates
	// for this many times as long as the chunk took: 1 leaves pushes at
	// least half the database and CPU the collector could take (a server's
	// background job); 0 collects flat out (wharf gc, asked for now).
	PauseRatio float64
	Now        func() time.Time
}

// Result is what one run did.
type Result struct {
	Links  int64 // pending links unlinked
	Blobs  int64 // blobs removed from storage and the database
	Bytes  int64 // their size
	Missed int64 // files that were already gone
}

// batch is how many candidates or links one query fetches.
const batch = 500

// Run unlinks the expired pending links, then removes every candidate
// due by the grace, and logs a summary line.
func (c *Collector) Run(ctx context.Context) (Result, error) {
	start := c.Now()
	var res Result
	for {
		n, seen, err := c.Store.ExpirePendingLinks(ctx, start.Add(-c.LinkGrace), batch)
		res.Links += int64(n)
		if err != nil {
			return res, err
		}
		if seen < batch {
			break
		}
	}
	// Removing blobs is heavy and can wait: it writes in the gaps between
	// pushes' writes (package db's requestPace).
	err := c.collectCandidates(wharf.Background(ctx), start, &res)
	if c.Obs != nil {
		c.Obs.BlobsCollected(res.Blobs, res.Bytes, res.Links)
	}
	// What was removed is recorded even when the run then failed.
	if rerr := c.Store.RecordCollection(ctx, c.Now(), res.Blobs, res.Bytes, res.Links); rerr != nil && err == nil {
		err = rerr
	}
	if res.Blobs > 0 || res.Links > 0 || err != nil {
		c.Log.Info("blob collection", slog.Int64("blobs", res.Blobs), slog.Int64("bytes", res.Bytes),
			slog.Int64("links", res.Links), slog.Int64("already_missing", res.Missed),
			slog.Duration("took", c.Now().Sub(start)), slog.Any("err", err))
	}
	return res, err
}

// dooms is how many candidates one T1 dooms together: fewer commits per
// blob, while the rows it locks stay few.
const dooms = 100

func (c *Collector) collectCandidates(ctx context.Context, start time.Time, res *Result) error {
	cutoff := start.Add(-c.Grace)
	after := ""
	for {
		digests, err := c.Store.DueCandidates(ctx, cutoff, after, batch)
		if err != nil || len(digests) == 0 {
			return err
		}
		after = digests[len(digests)-1]
		for chunk := range slices.Chunk(digests, dooms) {
			began := time.Now()
			if err := c.collect(ctx, chunk, cutoff, res); err != nil {
				return err
			}
			if c.PauseRatio > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Duration(float64(time.Since(began)) * c.PauseRatio)):
				}
			}
		}
		if len(digests) < batch {
			return nil
		}
	}
}

// collect runs the protocol for a chunk of candidates: doom them, delete
// their files, forget them.
func (c *Collector) collect(ctx context.Context, digests []string, cutoff time.Time, res *Result) error {
	doomed, doomErr := c.Store.DoomBlobs(ctx, digests, cutoff, c.Now().Add(-DoomTTL))
	if len(doomed) == 0 {
		return doomErr
	}
	// A chunk once doomed is finished even when the run is cancelled (a
	// shutdown): its file deletes give up by themselves a quarter of
	// DoomTTL after the doom, and a doom left behind would refuse pushes
	// of its digest until it went stale.
	finish := context.WithoutCancel(ctx)
	done, missed, delErr := c.deleteFiles(finish, doomed)
	forgot, err := c.Store.ForgetBlobs(finish, done)
	for _, d := range forgot {
		res.Blobs++
		res.Bytes += d.Size
	}
	res.Missed += missed
	return cmp.Or(doomErr, err, delErr)
}

// deleteFiles deletes the doomed blobs' files, giving up a quarter of
// DoomTTL after the doom (all dooms of a chunk share a stamp): in one call
// when the driver deletes many files at once, else Workers at a time. It
// returns the dooms whose file is gone; only those are forgotten, the
// others keep their doom, which goes stale and is taken over later.
func (c *Collector) deleteFiles(ctx context.Context, doomed []wharf.BlobDoom) (gone []wharf.BlobDoom, missed int64, err error) {
	if fd, ok := c.Blobs.(storage.FilesDeleter); ok {
		keys := make([]string, 0, len(doomed))
		for _, d := range doomed {
			if key, ok := BlobKey(d.Digest); ok {
				keys = append(keys, key)
			}
		}
		dctx, cancel := context.WithDeadline(ctx, time.UnixMicro(doomed[0].Stamp).Add(DoomTTL/4))
		defer cancel()
		if err := fd.DeleteFiles(dctx, keys); err != nil {
			return nil, 0, err
		}
		return doomed, 0, nil
	}
	deleted := make([]bool, len(doomed))
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		missing  atomic.Int64
		mu       sync.Mutex
		firstErr error
	)
	for range max(c.Workers, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(doomed) || ctx.Err() != nil {
					return
				}
				wasGone, err := c.deleteFile(ctx, doomed[i])
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					continue
				}
				if wasGone {
					missing.Add(1)
				}
				deleted[i] = true
			}
		})
	}
	wg.Wait()
	for i, ok := range deleted {
		if ok {
			gone = append(gone, doomed[i])
		}
	}
	return gone, missing.Load(), firstErr
}

// deleteFile deletes the doomed blob's file, giving up once a quarter of
// DoomTTL has passed since the doom: after that a push may revive the blob.
func (c *Collector) deleteFile(ctx context.Context, doom wharf.BlobDoom) (missed bool, err error) {
	key, ok := BlobKey(doom.Digest)
	if !ok {
		return true, nil // no file can hold it
	}
	giveUp := time.UnixMicro(doom.Stamp).Add(DoomTTL / 4)
	ctx, cancel := context.WithDeadline(ctx, giveUp)
	defer cancel()
	err = c.Blobs.Delete(ctx, key)
	if wharf.IsCode(err, wharf.NotFound) {
		return true, nil
	}
	return false, err
}

// Planned is one thing a run would remove.
type Planned struct {
	Kind         string // "link" (a pending link) or "blob"
	RepositoryID int64  // for a link
	Digest       string
	Size         int64
}

// Plan calls fn with what Run would remove now, changing nothing: the
// pending links it would unlink and the candidates it would remove (a
// blob whose last link Run unlinks becomes a candidate, and goes in a
// later run once the grace has passed).
func (c *Collector) Plan(ctx context.Context, fn func(Planned) error) error {
	now := c.Now()
	return c.Store.Plan(ctx, now.Add(-c.Grace), now.Add(-c.LinkGrace), func(kind string, repoID int64, digest string, size int64) error {
		return fn(Planned{Kind: kind, RepositoryID: repoID, Digest: digest, Size: size})
	})
}

// SweepResult is what one sweep found.
type SweepResult struct {
	Rows         int64 // unreferenced rows made candidates
	Orphans      int64 // files no row named, removed
	OrphanBytes  int64
	FilesChecked int64
}

// Sweep makes unreferenced rows candidates and removes the files under
// blobs/ that no row names and that are older than an hour. It lists the
// whole of blobs/, so it runs rarely.
func (c *Collector) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	var err error
	if res.Rows, err = c.Store.SweepRows(ctx); err != nil {
		return res, err
	}
	old := c.Now().Add(-orphanMinAge)
	err = c.Blobs.Walk(ctx, "blobs", func(fi storage.FileInfo) error {
		res.FilesChecked++
		digest, ok := digestOfKey(fi.Path)
		if !ok || fi.ModTime.After(old) {
			return nil
		}
		known, err := c.Store.HasBlob(ctx, digest)
		if err != nil || known {
			return err
		}
		doom, ok, err := c.Store.DoomOrphan(ctx, digest, fi.Size)
		if err != nil || !ok {
			return err
		}
		if _, err := c.deleteFile(ctx, doom); err != nil {
			return err
		}
		if _, err := c.Store.ForgetBlobs(ctx, []wharf.BlobDoom{doom}); err != nil {
			return err
		}
		res.Orphans++
		res.OrphanBytes += fi.Size
		return nil
	})
	if wharf.IsCode(err, wharf.NotFound) {
		err = nil // no blob stored yet
	}
	c.Log.Info("blob sweep", slog.Int64("rows", res.Rows), slog.Int64("orphans", res.Orphans),
		slog.Int64("orphan_bytes", res.OrphanBytes), slog.Int64("files", res.FilesChecked), slog.Any("err", err))
	return res, err
}

// BlobKey is where blob digest ("algorithm:hex") lives in storage:
// blobs/<algorithm>/<first two hex digits>/<hex>. ok is false for a
// digest that cannot name a file.
func BlobKey(digest string) (key string, ok bool) {
	alg, hex, found := strings.Cut(digest, ":")
	if !found || len(hex) < 2 {
		return "", false
	}
	key = "blobs/" + alg + "/" + hex[:2] + "/" + hex
	return key, storage.ValidPath(key) == nil
}

// digestOfKey is BlobKey's inverse; ok is false for any other key.
func digestOfKey(key string) (string, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 || parts[0] != "blobs" || len(parts[3]) < 2 || parts[3][:2] != parts[2] {
		return "", false
	}
	return parts[1] + ":" + parts[3], true
}

// IsCollecting reports a push that met a blob being collected.
func IsCollecting(err error) bool { return errors.Is(err, wharf.ErrCollecting) }
