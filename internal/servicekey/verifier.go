package servicekey

import (
	"context"
	"errors"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// KeyLookup is what a Verifier reads: the key with a kid (NotFound if none).
type KeyLookup interface {
	ServiceKey(ctx context.Context, kid string) (*wharf.ServiceKey, error)
}

// Verifier checks JWTs that services sign with their keys.
type Verifier struct {
	keys KeyLookup
	now  func() time.Time
	// Leeway tolerates clock differences in exp, nbf and iat. Zero, as in
	// Quay, unless the caller sets it.
	Leeway time.Duration
}

// NewVerifier returns a Verifier reading keys from keys; now nil = time.Now.
func NewVerifier(keys KeyLookup, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{keys: keys, now: now}
}

// Verifier returns a Verifier over the service's store and clock.
func (s *Service) Verifier() *Verifier { return NewVerifier(s.store, s.now) }

// Verify accepts token only when it is an RS256 JWT whose header kid names
// an approved, unexpired key of service, whose signature verifies with that
// key's full public key (the kid alone proves nothing), and whose exp, nbf
// and iat (all required) hold at the current time. It returns the claims;
// checking iss, aud and private claims is the caller's business.
//
// Every refusal is Unauthenticated with the message "Invalid token"; the
// cause (ErrUnknownKey, ErrSignature, ErrExpired, …) is kept for logs and
// errors.Is.
func (v *Verifier) Verify(ctx context.Context, token, service string) (*Claims, error) {
	c, err := v.verify(ctx, token, service)
	if err != nil {
		return nil, refusal(wharf.Unauthenticated, "Invalid token", err)
	}
	return c, nil
}

// refusal turns a cause into an error with code and message, except a
// fault of the store, which stays an internal error.
func refusal(code wharf.Code, msg string, cause error) error {
	var we *wharf.Error
	if errors.As(cause, &we) {
		return cause
	}
	return &wharf.Error{Code: code, Message: msg, Err: cause}
}

func (v *Verifier) verify(ctx context.Context, token, service string) (*Claims, error) {
	p, err := parseToken(token)
	if err != nil {
		return nil, err
	}
	kid := p.kid()
	if kid == "" {
		return nil, ErrUnknownKey
	}
	now := v.now()
	k, err := v.keys.ServiceKey(ctx, kid)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, ErrUnknownKey
	}
	if err != nil {
		return nil, err
	}
	if k.Service != service || k.Approval == nil || k.ExpiredAt(now) {
		return nil, ErrUnknownKey
	}
	pub, err := ParseJWK(k.JWK)
	if err != nil {
		return nil, errors.Join(ErrUnknownKey, err)
	}
	return p.verify(pub, now, v.Leeway)
}
