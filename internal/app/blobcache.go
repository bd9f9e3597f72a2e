package app

import (
	"context"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// blobSizeLookup is the store read the cache stands in front of.
type blobSizeLookup interface {
	RepositoryBlobSize(ctx context.Context, repoID int64, digest string) (int64, error)
}

// servedBlobCache answers, for blob HEADs and GETs, whether a repository
// links a blob and its size: that query was a quarter of a blob HEAD. It
// keeps only positive answers, and an entry only while
//
//   - this process has unlinked no blob and bumped no epoch since it was
//     filled (db.DB.LinkChanges and Changes: seen at once);
//   - the repository's epoch polled from other processes is the one it
//     recorded (a repository deleted or made private elsewhere);
//   - it is younger than servedBlobCacheTTL, the revocation bound: a link
//     another process removed is seen within it.
//
// What a stale entry can do is bounded by what it is used for: storage is
// asked on every request (a HEAD stats the blob, a GET opens it), so a
// blob whose content was collected answers BLOB_UNKNOWN at once; for up to
// the bound, a blob unlinked by another process but still stored for
// another repository stays readable here, as for a caller whose access was
// revoked. Decisions that write — a cross-repository mount, a manifest's
// references — never read it: they take the store's answer inside the
// collector's protocol (package blobgc).
type servedBlobCache struct {
	store   blobSizeLookup
	epochs  *auth.Revocations
	changes func() uint64
	now     func() time.Time

	mu      sync.RWMutex
	entries map[servedBlobKey]servedBlobEntry
}

type servedBlobKey struct {
	repoID int64
	digest string
}

type servedBlobEntry struct {
	size      int64
	changes   uint64
	repoEpoch int64
	filled    time.Time
}

const (
	servedBlobCacheTTL = accessTokenCacheTTL
	servedBlobCacheMax = 100_000
)

// linkOrEpochChanges moves whenever store's LinkChanges or Changes does
// (both only grow, so their sum is unchanged only while both are).
func linkOrEpochChanges(store interface {
	Changes() uint64
	LinkChanges() uint64
}) func() uint64 {
	return func() uint64 { return store.Changes() + store.LinkChanges() }
}

func newServedBlobCache(store blobSizeLookup, epochs *auth.Revocations, changes func() uint64) *servedBlobCache {
	return &servedBlobCache{store: store, epochs: epochs, changes: changes, now: time.Now, entries: map[servedBlobKey]servedBlobEntry{}}
}

// ServedBlobSize is RepositoryBlobSize for serving a blob, from memory
// while that is known to be current within the bound. NotFound as the
// store.
func (c *servedBlobCache) ServedBlobSize(ctx context.Context, repoID int64, digest string) (int64, error) {
	key := servedBlobKey{repoID, digest}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok && e.changes == c.changes() && c.now().Sub(e.filled) < servedBlobCacheTTL &&
		c.epochs.Epoch(wharf.RepositorySubject(repoID)) == e.repoEpoch {
		return e.size, nil
	}
	// Read before the query: a change during it invalidates the entry.
	changes, repoEpoch := c.changes(), c.epochs.Epoch(wharf.RepositorySubject(repoID))
	size, err := c.store.RepositoryBlobSize(ctx, repoID, digest)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	if len(c.entries) >= servedBlobCacheMax {
		clear(c.entries)
	}
	c.entries[key] = servedBlobEntry{size: size, changes: changes, repoEpoch: repoEpoch, filled: c.now()}
	c.mu.Unlock()
	return size, nil
}
