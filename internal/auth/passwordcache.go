package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// passwordCache remembers recent successful password checks. bcrypt is deliberately slow (~70 ms), and clients ask for a
// token at the start of every push and pull, so without it a login costs
// more than pulling a small image. Entries are keyed by an HMAC (with a
// per-process random key) of the user name, the password and the stored
// password hash: a changed password misses the cache, and the cache itself
// holds nothing a reader could use. Only successes are cached, briefly.
type passwordCache struct {
	key     []byte
	ttl     time.Duration
	mu      sync.Mutex
	entries map[[sha256.Size]byte]time.Time
}

// passwordCacheMax bounds the cache; when full, expired entries are dropped
// and, failing that, everything is.
const passwordCacheMax = 10000

func newPasswordCache(ttl time.Duration) *passwordCache {
	key := make([]byte, 32)
	rand.Read(key)
	return &passwordCache{key: key, ttl: ttl, entries: map[[sha256.Size]byte]time.Time{}}
}

func (c *passwordCache) id(user, password, storedHash string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, c.key)
	for _, part := range []string{user, password, storedHash} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	var out [sha256.Size]byte
	copy(out[:], mac.Sum(nil))
	return out
}

// valid reports whether this exact check succeeded within the TTL.
func (c *passwordCache) valid(user, password, storedHash string, now time.Time) bool {
	id := c.id(user, password, storedHash)
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.entries[id]
	return ok && now.Before(exp)
}

// remember records a successful check.
func (c *passwordCache) remember(user, password, storedHash string, now time.Time) {
	id := c.id(user, password, storedHash)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= passwordCacheMax {
		for k, exp := range c.entries {
			if !now.Before(exp) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= passwordCacheMax {
			clear(c.entries)
		}
	}
	c.entries[id] = now.Add(c.ttl)
}
