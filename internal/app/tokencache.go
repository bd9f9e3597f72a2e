package app

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// accessTokenLookup is the store read the cache stands in front of.
type accessTokenLookup interface {
	AccessTokenByName(ctx context.Context, name string) (*wharf.AccessToken, *wharf.Account, error)
}

// accessTokenCache answers AccessTokenByName from memory: every API call
// with an OAuth token looks it up, and the query was a tenth of a list
// page. It holds what the store returned, never a secret the caller sent
// (the secret is still checked against the stored hash on every call). An
// entry is used only while nothing that could change the answer has
// happened, as for repositories (repositoryCache):
//
//   - no credential epoch was bumped and no account updated by this
//     process since it was filled (db.DB.Changes: seen at once);
//   - the account's and the application's epochs polled from other
//     processes are those it recorded (an account deleted, disabled or
//     renamed, an application deleted elsewhere: seen within the poll
//     interval, the bound revocation already has);
//   - it is younger than accessTokenCacheTTL (an account's e-mail changed
//     by another process moves no epoch).
//
// Unknown names are not cached: a token is created by another process.
type accessTokenCache struct {
	store   accessTokenLookup
	epochs  *auth.Revocations
	changes func() uint64
	now     func() time.Time

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]accessTokenEntry
}

type accessTokenEntry struct {
	token            *wharf.AccessToken
	account          *wharf.Account
	changes          uint64
	accountEpoch     int64
	applicationEpoch int64
	filled           time.Time
}

const (
	// accessTokenCacheTTL is the revocation bound (auth.Revocations).
	accessTokenCacheTTL = 5 * time.Second
	accessTokenCacheMax = 10_000
)

func newAccessTokenCache(store accessTokenLookup, epochs *auth.Revocations, changes func() uint64) *accessTokenCache {
	return &accessTokenCache{store: store, epochs: epochs, changes: changes, now: time.Now,
		entries: map[[sha256.Size]byte]accessTokenEntry{}}
}

// AccessTokenByName returns the token named name with its account, from
// memory while that is known to be current. NotFound as the store.
func (c *accessTokenCache) AccessTokenByName(ctx context.Context, name string) (*wharf.AccessToken, *wharf.Account, error) {
	key := sha256.Sum256([]byte(name))
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok && c.current(e) {
		tok, acct := *e.token, *e.account // callers may change their copies
		return &tok, &acct, nil
	}
	changes := c.changes() // before the read: a change during it invalidates the entry
	tok, acct, err := c.store.AccessTokenByName(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	e = accessTokenEntry{token: tok, account: acct, changes: changes, filled: c.now(),
		accountEpoch:     c.epochs.Epoch(wharf.AccountSubject(acct.ID)),
		applicationEpoch: c.epochs.Epoch(wharf.ApplicationSubject(tok.Application.ID))}
	c.mu.Lock()
	if len(c.entries) >= accessTokenCacheMax {
		clear(c.entries)
	}
	c.entries[key] = e
	c.mu.Unlock()
	tokCopy, acctCopy := *tok, *acct
	return &tokCopy, &acctCopy, nil
}

func (c *accessTokenCache) current(e accessTokenEntry) bool {
	return e.changes == c.changes() && c.now().Sub(e.filled) < accessTokenCacheTTL &&
		c.epochs.Epoch(wharf.AccountSubject(e.account.ID)) == e.accountEpoch &&
		c.epochs.Epoch(wharf.ApplicationSubject(e.token.Application.ID)) == e.applicationEpoch
}
