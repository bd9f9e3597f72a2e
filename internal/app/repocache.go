package app

import (
	"context"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// repositoryLookup is the store read the cache stands in front of.
type repositoryLookup interface {
	RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error)
}

// repositoryCache answers RepositoryByName from memory: every /v2 request
// and every access decision looks its repository up by name, and that
// query was a sixth of a manifest GET. An entry is used only while nothing
// that could change the answer has happened:
//
//   - no credential epoch was bumped by this process since it was filled
//     (db.DB.Changes: a repository deleted or made private, its namespace
//     renamed, deleted or disabled — a change here is seen at once);
//   - the repository's and its namespace's epochs polled from other
//     processes are those it recorded (such a change is seen within the
//     poll interval, the bound revocation already has);
//   - it is younger than repositoryCacheTTL (a fallback, e.g. for a
//     description, which moves no epoch and no registry decision reads).
//
// Missing repositories are not cached: a push creates them.
type repositoryCache struct {
	store   repositoryLookup
	epochs  *auth.Revocations
	changes func() uint64
	now     func() time.Time

	mu      sync.RWMutex
	entries map[string]repositoryEntry
}

type repositoryEntry struct {
	repo               *wharf.Repository
	changes            uint64
	repoEpoch, nsEpoch int64
	filled             time.Time
}

const (
	repositoryCacheTTL = 30 * time.Second
	repositoryCacheMax = 10_000
)

func newRepositoryCache(store repositoryLookup, epochs *auth.Revocations, changes func() uint64) *repositoryCache {
	return &repositoryCache{store: store, epochs: epochs, changes: changes, now: time.Now, entries: map[string]repositoryEntry{}}
}

// RepositoryByName returns namespace/name, from memory while that is
// known to be current. NotFound as the store.
func (c *repositoryCache) RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error) {
	key := namespace + "/" + name
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok && c.current(e) {
		repo := *e.repo // callers may change their copy
		return &repo, nil
	}
	changes := c.changes() // before the read: a change during it invalidates the entry
	repo, err := c.store.RepositoryByName(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	e = repositoryEntry{repo: repo, changes: changes, filled: c.now(),
		repoEpoch: c.epochs.Epoch(wharf.RepositorySubject(repo.ID)), nsEpoch: c.epochs.Epoch(wharf.AccountSubject(repo.NamespaceID))}
	c.mu.Lock()
	if len(c.entries) >= repositoryCacheMax {
		clear(c.entries)
	}
	c.entries[key] = e
	c.mu.Unlock()
	copied := *repo
	return &copied, nil
}

func (c *repositoryCache) current(e repositoryEntry) bool {
	return e.changes == c.changes() && c.now().Sub(e.filled) < repositoryCacheTTL &&
		c.epochs.Epoch(wharf.RepositorySubject(e.repo.ID)) == e.repoEpoch &&
		c.epochs.Epoch(wharf.AccountSubject(e.repo.NamespaceID)) == e.nsEpoch
}
