package servicekey

import (
	"context"
	"crypto/rsa"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// instanceKeyCacheTTL bounds how long a verified instance key is trusted
// without looking at the store again (a deleted key stops verifying within it).
const instanceKeyCacheTTL = time.Minute

type cachedKey struct {
	pub       *rsa.PublicKey
	checkedAt time.Time
	expiresAt time.Time
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
// verified payload. Keys are cached briefly: tokens are verified on every
// registry request.
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
	ik.mu.Lock()
	c, ok := ik.verified[kid]
	ik.mu.Unlock()
	if ok && now.Sub(c.checkedAt) < instanceKeyCacheTTL && now.Before(c.expiresAt) {
		return c.pub, nil
	}
	k, err := ik.svc.store.ServiceKey(ctx, kid)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, ErrUnknownKey
	}
	if err != nil {
		return nil, err
	}
	if k.Service != ik.service || k.Approval == nil || k.ExpiresAt == nil || !now.Before(*k.ExpiresAt) {
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
	ik.mu.Lock()
	ik.verified[kid] = cachedKey{pub: pub, checkedAt: now, expiresAt: *k.ExpiresAt}
	ik.mu.Unlock()
	return pub, nil
}
