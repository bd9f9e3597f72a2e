package servicekey

import (
	"context"
	"crypto/rsa"
	"errors"
	"maps"
	"net/netip"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// This file is the key server's side of the domain: how services publish,
// rotate and withdraw their own public keys (Quay's /keys/services/...).
// A service proves possession with a JWT (RS256; iss = the service, aud =
// the registry's URL, exp/nbf/iat required) signed by the key it submits
// (self-signed: a new key, unapproved) or by an approved key of its own
// (a rotation, which inherits the approval).

// ValidateKid checks a kid a service chose: 1 to 255 printable characters.
func ValidateKid(kid string) error {
	if kid == "" || len(kid) > 255 || strings.ContainsFunc(kid, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return wharf.Errorf(wharf.Invalid, "Invalid kid: it must be 1 to 255 printable characters")
	}
	return nil
}

// Submission is a key a service publishes through the key server.
type Submission struct {
	Service    string
	Kid        string
	JWK        map[string]any // the public key as sent; only kty, n, e are kept
	Token      string         // the bearer JWT proving possession
	Audience   string         // the registry's URL, which the JWT must name in aud
	Expiration *time.Time     // nil = never expires
	Rotation   *int64         // ?rotation=, seconds
	IP         string
	UserAgent  string
}

// Submit registers a key a service publishes. Self-signed (the JWT's kid
// is the new kid, or absent), it is stored unapproved and logged as
// service_key_create; signed by an approved, unexpired key of the same
// service, it replaces that key, keeping its name, approval and metadata,
// and is logged as service_key_rotate (rotated = true).
//
// Invalid for a bad service name, kid, JWK, expiration or JWT; Forbidden
// when the signing key is not an approved, unexpired key of the service;
// Conflict when the kid exists; TooManyRequests, caused by a *CapError,
// when a self-signed key would exceed the caps on keys awaiting approval
// of the service or of the client address.
func (s *Service) Submit(ctx context.Context, sub Submission) (rotated bool, err error) {
	if err := ValidateServiceName(sub.Service); err != nil {
		return false, err
	}
	if err := ValidateKid(sub.Kid); err != nil {
		return false, err
	}
	pub, err := ParseJWK(sub.JWK)
	if err != nil {
		return false, &wharf.Error{Code: wharf.Invalid, Message: "Invalid JWK: an RSA public key (kty, n, e) of 2048 to 8192 bits is required", Err: err}
	}
	now := s.now().UTC()
	if sub.Expiration != nil && !sub.Expiration.After(now) {
		return false, wharf.Errorf(wharf.Invalid, "Expiration date cannot be in the past")
	}
	if sub.Rotation != nil && *sub.Rotation <= 0 {
		return false, wharf.Errorf(wharf.Invalid, "Invalid rotation: it must be a positive number of seconds")
	}
	p, err := parseToken(sub.Token)
	if err != nil {
		return false, badJWT(err)
	}
	next := &wharf.ServiceKey{Kid: sub.Kid, Service: sub.Service, JWK: PublicJWK(pub, sub.Kid),
		Metadata: map[string]any{"ip": sub.IP}, CreatedAt: now, ExpiresAt: sub.Expiration, RotationDuration: sub.Rotation}
	logMeta := map[string]any{"kid": sub.Kid, "service": sub.Service, "expiration_date": epoch(sub.Expiration),
		"user_agent": sub.UserAgent, "ip": sub.IP}
	actor := &wharf.Caller{IP: sub.IP}

	if signer := p.kid(); signer == "" || signer == sub.Kid {
		if err := s.checkServiceJWT(p, pub, sub, now); err != nil {
			return false, err
		}
		logMeta["preshared"], logMeta["name"] = false, ""
		oldest, err := s.store.CreateUnapprovedServiceKey(ctx, next, clientAddr(sub.IP), s.perService, s.perAddress,
			s.gc(sub.Service, now), actor.Entry("service_key_create", nil, logMeta))
		if wharf.IsCode(err, wharf.TooManyRequests) {
			// A slot frees when the oldest key held against the cap goes
			// stale at the latest (sooner if a superuser approves or
			// deletes one).
			return false, wharf.Throttled(max(time.Second, oldest.Add(s.unapprovedTTL).Sub(now)),
				wharf.ErrorMessage(err)+": a superuser may approve or delete some of them, or try again later")
		}
		return false, err
	}

	signer, signerPub, err := s.signingKey(ctx, sub.Service, p.kid(), true, now)
	if err != nil {
		return false, err
	}
	if err := s.checkServiceJWT(p, signerPub, sub, now); err != nil {
		return false, err
	}
	next.Metadata["created_by"] = "Key Rotation"
	err = wharf.RetryChanged(func() error {
		// The signing key is read again for the rotation, which is stored
		// only over the key as read: its approval and expiration are
		// judged on what the rotation replaces.
		old, err := s.store.ServiceKey(ctx, signer.Kid)
		if err != nil {
			return err
		}
		if old.Approval == nil || old.ExpiredAt(now) {
			return wharf.Errorf(wharf.Forbidden, "The signing key is not an approved, unexpired key of service %s", sub.Service)
		}
		rotated := *next
		rotated.Metadata = maps.Clone(old.Metadata)
		maps.Copy(rotated.Metadata, next.Metadata)
		rotated.Name, rotated.Approval, rotated.RotationDuration = old.Name, old.Approval, old.RotationDuration
		logMeta["signer_kid"], logMeta["name"] = old.Kid, old.Name
		return s.store.ReplaceServiceKey(ctx, old, &rotated, s.gc(sub.Service, now), actor.Entry("service_key_rotate", nil, logMeta))
	})
	return err == nil, err
}

// clientAddr is the address a submission from ip counts against: the IPv4
// address itself, or the /64 of an IPv6 address, since a single host
// commonly holds a whole /64 and could otherwise pick a fresh address for
// every key.
func clientAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64) // cannot fail: an IPv6 address has 128 bits
	return p.String()
}

// Withdraw deletes the key kid of service at the request of the service
// itself: the JWT must be signed by that key (self-signed) or by an
// approved key of the service; the signing key must be unexpired. Logs
// service_key_delete. Invalid for a bad JWT, Forbidden for an unusable
// signing key, NotFound when the service has no key kid.
func (s *Service) Withdraw(ctx context.Context, service, kid, token, audience, ip, userAgent string) error {
	p, err := parseToken(token)
	if err != nil {
		return badJWT(err)
	}
	if p.kid() == "" {
		return wharf.Errorf(wharf.Invalid, "The JWT header must name its signing key (kid)")
	}
	now := s.now().UTC()
	signer, signerPub, err := s.signingKey(ctx, service, p.kid(), false, now)
	if err != nil {
		return err
	}
	if p.kid() != kid && signer.Approval == nil {
		return wharf.Errorf(wharf.Forbidden, "Only the key itself or an approved key of service %s can delete a key", service)
	}
	if err := s.checkServiceJWT(p, signerPub, Submission{Service: service, Audience: audience}, now); err != nil {
		return err
	}
	actor := &wharf.Caller{IP: ip}
	return wharf.RetryChanged(func() error {
		k, err := s.store.ServiceKey(ctx, kid)
		if err != nil {
			return err
		}
		if k.Service != service {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		return s.store.DeleteServiceKey(ctx, k, s.gc(service, now), actor.Entry("service_key_delete", nil, map[string]any{
			"kid": kid, "signer_kid": signer.Kid, "service": service, "name": signer.Name, "user_agent": userAgent, "ip": ip}))
	})
}

// signingKey returns the unexpired key kid of service (approved, if
// approvedOnly) with its public key; Forbidden otherwise.
func (s *Service) signingKey(ctx context.Context, service, kid string, approvedOnly bool, now time.Time) (*wharf.ServiceKey, *rsa.PublicKey, error) {
	forbidden := wharf.Errorf(wharf.Forbidden, "The JWT is not signed by a usable key of service %s", service)
	k, err := s.store.ServiceKey(ctx, kid)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, nil, forbidden
	}
	if err != nil {
		return nil, nil, err
	}
	if k.Service != service || k.ExpiredAt(now) || (approvedOnly && k.Approval == nil) {
		return nil, nil, forbidden
	}
	pub, err := ParseJWK(k.JWK)
	if err != nil {
		return nil, nil, &wharf.Error{Code: wharf.Forbidden, Message: forbidden.Message, Err: err}
	}
	return k, pub, nil
}

// checkServiceJWT verifies p with pub and checks that it was issued by the
// service for this registry.
func (s *Service) checkServiceJWT(p *parsedToken, pub *rsa.PublicKey, sub Submission, now time.Time) error {
	c, err := p.verify(pub, now, 0)
	if err != nil {
		return badJWT(err)
	}
	if c.Issuer != sub.Service {
		return wharf.Errorf(wharf.Invalid, "Invalid JWT: iss must be the service name %s", sub.Service)
	}
	if !c.HasAudience(sub.Audience) {
		return wharf.Errorf(wharf.Invalid, "Invalid JWT: aud must be %s", sub.Audience)
	}
	return nil
}

func badJWT(cause error) error {
	msg := "Invalid JWT"
	switch {
	case errors.Is(cause, ErrAlgorithm):
		msg = "Invalid JWT: the algorithm must be RS256"
	case errors.Is(cause, ErrSignature):
		msg = "Invalid JWT: the signature does not verify"
	case errors.Is(cause, ErrExpired), errors.Is(cause, ErrNotYetValid), errors.Is(cause, ErrIssuedInFuture):
		msg = "Invalid JWT: it is expired or not yet valid"
	case errors.Is(cause, ErrMissingClaim):
		msg = "Invalid JWT: exp, nbf and iat are required"
	}
	return &wharf.Error{Code: wharf.Invalid, Message: msg, Err: cause}
}

// PublishedKeys returns the keys of service that JWTs may be signed with:
// approved and unexpired (the key server's JWKS listing).
func (s *Service) PublishedKeys(ctx context.Context, service string) ([]*wharf.ServiceKey, error) {
	now := s.now()
	all, err := s.store.ListServiceKeys(ctx, service, now.Add(-s.expiredTTL))
	if err != nil {
		return nil, err
	}
	out := make([]*wharf.ServiceKey, 0, len(all))
	for _, k := range all {
		if k.Approval != nil && !k.ExpiredAt(now) {
			out = append(out, k)
		}
	}
	return out, nil
}

// PublishedKey returns the key kid of service for the key server: NotFound
// when the service has no such key (or it is stale), Conflict while it
// awaits approval, Forbidden once it has expired.
func (s *Service) PublishedKey(ctx context.Context, service, kid string) (*wharf.ServiceKey, error) {
	k, err := s.Get(ctx, kid)
	if err != nil {
		return nil, err
	}
	switch {
	case k.Service != service:
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	case k.Approval == nil:
		return nil, wharf.Errorf(wharf.Conflict, "The key has not been approved yet")
	case k.ExpiredAt(s.now()):
		return nil, wharf.Errorf(wharf.Forbidden, "The key has expired")
	}
	return k, nil
}
