package app

import (
	"context"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// grantLookup is the store read the cache stands in front of.
type grantLookup interface {
	Grants(ctx context.Context, orgID, repoID, accountID int64) (teamRole, repoRole string, err error)
}

// grantCache answers the access decision's grants query (the roles an
// account holds in an organization and on a repository) from memory. The
// query walks the repository's team grants, so a caller who holds none —
// every refusal — paid for all of them on every request. An entry is used
// only while nothing that could change its answer has happened:
//
//   - this process changed no team, member or grant since it was filled
//     (db.DB.GrantChanges, which counts the changes that give rights too)
//     and bumped no credential epoch (db.DB.Changes: an account or
//     repository deleted, which may free its id);
//   - the account's, the repository's and the organization's epochs
//     polled from other processes are those it recorded: rights another
//     process takes away are seen within the revocation bound;
//   - it is younger than grantCacheTTL: rights another process gives move
//     no epoch, and are used within that age.
type grantCache struct {
	store         grantLookup
	epochs        *auth.Revocations
	changes       func() uint64
	grantsChanges func() uint64
	now           func() time.Time

	mu      sync.RWMutex
	entries map[grantKey]grantEntry
}

type grantKey struct{ org, repo, account int64 }

type grantEntry struct {
	teamRole, repoRole string
	stamp              grantStamp
	filled             time.Time
}

// grantStamp is what must not have moved since an entry was filled.
type grantStamp struct {
	changes, grantChanges            uint64
	accountEpoch, repoEpoch, nsEpoch int64
}

const (
	// grantCacheTTL bounds how long a grant given through another process
	// may go unused: the poll interval revocations already have.
	grantCacheTTL = auth.DefaultPollInterval
	grantCacheMax = 10_000
)

func newGrantCache(store grantLookup, epochs *auth.Revocations, changes, grantChanges func() uint64) *grantCache {
	return &grantCache{store: store, epochs: epochs, changes: changes, grantsChanges: grantChanges,
		now: time.Now, entries: map[grantKey]grantEntry{}}
}

// Grants is the store's, from memory while that is known to be current.
func (c *grantCache) Grants(ctx context.Context, orgID, repoID, accountID int64) (string, string, error) {
	key := grantKey{orgID, repoID, accountID}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	now, stamp := c.now(), c.stamp(key) // before the read: a change during it invalidates the entry
	if ok && e.stamp == stamp && now.Sub(e.filled) < grantCacheTTL {
		return e.teamRole, e.repoRole, nil
	}
	teamRole, repoRole, err := c.store.Grants(ctx, orgID, repoID, accountID)
	if err != nil {
		return "", "", err
	}
	c.mu.Lock()
	if len(c.entries) >= grantCacheMax {
		clear(c.entries)
	}
	c.entries[key] = grantEntry{teamRole: teamRole, repoRole: repoRole, stamp: stamp, filled: now}
	c.mu.Unlock()
	return teamRole, repoRole, nil
}

// stamp is key's counters and epochs now.
func (c *grantCache) stamp(key grantKey) grantStamp {
	s := grantStamp{changes: c.changes(), grantChanges: c.grantsChanges(),
		accountEpoch: c.epochs.Epoch(wharf.AccountSubject(key.account))}
	if key.repo != 0 {
		s.repoEpoch = c.epochs.Epoch(wharf.RepositorySubject(key.repo))
	}
	if key.org != 0 {
		s.nsEpoch = c.epochs.Epoch(wharf.AccountSubject(key.org))
	}
	return s
}
