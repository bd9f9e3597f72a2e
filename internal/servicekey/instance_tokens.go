package servicekey

import (
	"context"
	"crypto/rsa"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// instanceKeyCacheTTL bounds how long an instance key is trusted without
// looking at the store again: a key deleted or shortened by a superuser
// stops verifying (Verify), and is no longer signed with (Current), within it.
const instanceKeyCacheTTL = time.Minute

// cachedKey is an instance key Verify found valid at checkedAt. It is used
// until instanceKeyCacheTTL has passed, and never at or past expiresAt
// (zero for a key that never expires).
type cachedKey struct {
	pub       *rsa.PublicKey
	checkedAt time.Time
	expiresAt time.Time
}

func (c cachedKey) usable(now time.Time) bool {
	return now.Sub(c.checkedAt) < instanceKeyCacheTTL && (c.expiresAt.IsZero() || now.Before(c.expiresAt))
}

// Sign signs claims with the current instance key (rotating it first when
// it is close to expiry).
func (ik *InstanceKeys) Sign(ctx context.Context, claims any) (string, error) {
	s, err := ik.Current(ctx)
	if err != nil {
		return "", err
	}
	return s.Sign(claims)
}

// Verify accepts token only when it is an RS256 JWT signed by one of this
// service's own instance keys — a key with a sealed private half in the
// store, approved and unexpired; a key someone registered for the same
// service name does not qualify — and its time claims hold. It returns the
// verified payload. Keys are cached by kid for instanceKeyCacheTTL, never
// past their expiration: tokens are verified on every registry request,
// which then need not read the store. Unknown kids are not cached.
func (ik *InstanceKeys) Verify(ctx context.Context, token string) ([]byte, error) {
	p, err := parseToken(token)
	if err != nil {
		return nil, err
	}
	now := ik.svc.now()
	pub, err := ik.publicKey(ctx, p.kid(), now)
	if err != nil {
		return nil, err
	}
	c, err := p.verify(pub, now, 0)
	if err != nil {
		return nil, err
	}
	return c.Raw, nil
}

func (ik *InstanceKeys) publicKey(ctx context.Context, kid string, now time.Time) (*rsa.PublicKey, error) {
	if kid == "" {
		return nil, ErrUnknownKey
	}
	ik.cacheMu.Lock()
	c, ok := ik.verified[kid]
	ik.cacheMu.Unlock()
	if ok && c.usable(now) {
		return c.pub, nil
	}
	k, err := ik.svc.store.ServiceKey(ctx, kid)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, ErrUnknownKey
	}
	if err != nil {
		return nil, err
	}
	if k.Service != ik.service || k.Approval == nil || k.ExpiredAt(now) {
		return nil, ErrUnknownKey
	}
	if _, err := ik.svc.store.InstanceKey(ctx, kid); err != nil {
		if wharf.IsCode(err, wharf.NotFound) {
			return nil, ErrUnknownKey
		}
		return nil, err
	}
	pub, err := ParseJWK(k.JWK)
	if err != nil {
		return nil, err
	}
	c = cachedKey{pub: pub, checkedAt: now}
	if k.ExpiresAt != nil {
		c.expiresAt = *k.ExpiresAt
	}
	ik.cacheMu.Lock()
	for old, oc := range ik.verified {
		if !oc.usable(now) {
			delete(ik.verified, old) // only valid keys are ever added: the map stays small
		}
	}
	ik.verified[kid] = c
	ik.cacheMu.Unlock()
	return pub, nil
}
