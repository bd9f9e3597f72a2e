package auth

import (
	"crypto/sha256"
	"sync"
)

// verifiedTokens remembers the claims of registry tokens whose signature
// has been verified, by the SHA-256 of the token, until they expire: a
// client sends the same token with every request, and checking an RS256
// signature costs more than the rest of a manifest GET. Only the
// signature's verdict is remembered; expiry, not-before and revocation are
// judged again on every use, so a cached token stops exactly when an
// uncached one would.
type verifiedTokens struct {
	mu      sync.Mutex
	max     int
	entries map[[sha256.Size]byte]*RegistryClaims
}

// verifiedTokensMax bounds the cache; when full, expired entries are
// dropped and, failing that, everything is (a cold start, not an error).
const verifiedTokensMax = 50_000

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{max: max, entries: map[[sha256.Size]byte]*RegistryClaims{}}
}

func (v *verifiedTokens) get(token string) (*RegistryClaims, bool) {
	k := sha256.Sum256([]byte(token))
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.entries[k]
	return c, ok
}

// put remembers c as token's verified claims; now (Unix seconds) decides
// which entries have expired when the cache is full.
func (v *verifiedTokens) put(token string, c *RegistryClaims, now int64) {
	k := sha256.Sum256([]byte(token))
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= v.max {
		for key, e := range v.entries {
			if now >= e.ExpiresAt {
				delete(v.entries, key)
			}
		}
		if len(v.entries) >= v.max {
			clear(v.entries)
		}
	}
	v.entries[k] = c
}
