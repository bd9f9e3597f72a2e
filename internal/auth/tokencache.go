package auth

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"
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

// issuedTokens remembers recently signed registry tokens by what they
// grant, so that a client asking again for the same access (Docker asks
// at the start of every push and pull) gets the same token without a new
// signature. A token is handed out again only while it is young
// (issuedReuse): its holder gets nearly its whole lifetime, and the key
// includes the credential epochs it was stamped with, so a token whose
// grants a change has revoked is never handed out again.
type issuedTokens struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]issuedToken
}

type issuedToken struct {
	token  string
	claims *RegistryClaims
	at     time.Time
}

// issuedReuse is how long a signed token is handed out again.
const issuedReuse = 30 * time.Second

// issuedMax bounds the cache; expired entries go when it is full.
const issuedMax = 10_000

func newIssuedTokens() *issuedTokens {
	return &issuedTokens{entries: map[[sha256.Size]byte]issuedToken{}}
}

// issuedKey identifies a token by everything it says but when it was
// issued and its id.
func issuedKey(lifetime time.Duration, c *RegistryClaims) ([sha256.Size]byte, error) {
	id := *c
	id.Issuer, id.Audience, id.IssuedAt, id.NotBefore, id.ExpiresAt, id.ID = "", "", 0, 0, int64(lifetime), ""
	b, err := json.Marshal(&id) // map keys (the epochs) marshal sorted
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}

func (t *issuedTokens) get(key [sha256.Size]byte, now time.Time) (string, *RegistryClaims, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if !ok || now.Sub(e.at) >= issuedReuse {
		return "", nil, false
	}
	claims := *e.claims
	return e.token, &claims, true
}

func (t *issuedTokens) put(key [sha256.Size]byte, token string, c *RegistryClaims, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) >= issuedMax {
		for k, e := range t.entries {
			if now.Sub(e.at) >= issuedReuse {
				delete(t.entries, k)
			}
		}
		if len(t.entries) >= issuedMax {
			clear(t.entries)
		}
	}
	claims := *c
	t.entries[key] = issuedToken{token: token, claims: &claims, at: now}
}
