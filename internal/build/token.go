package build

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// tokenIssuer and tokenAudience set build tokens apart from registry
// bearer tokens signed with the same instance key: neither verifies as
// the other.
const (
	tokenIssuer   = "wharf-build"
	tokenAudience = "wharf-registry"
)

type tokenClaims struct {
	Issuer    string `json:"iss"`
	Audience  string `json:"aud"`
	Subject   string `json:"sub"` // the build's uuid
	Worker    string `json:"wkr"` // the worker holding the build
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	ExpiresAt int64  `json:"exp"`
}

// Tokens issues and checks the registry credentials of build workers. A
// token names one build; the registry grants its holder pushes to the
// build's repository while the build is pushing, and pulls of what the
// build's pull robot (or requesting user) may read, while the build runs.
// Tokens are JWTs signed with the instance key, so every wharf process
// sharing the database verifies what any of them issued.
type Tokens struct {
	keys  auth.TokenKeys
	store interface {
		BuildByUUID(ctx context.Context, uuid string) (*wharf.Build, error)
	}
	now func() time.Time
}

// NewTokens returns Tokens signing with keys and loading builds from store.
func NewTokens(keys auth.TokenKeys, store interface {
	BuildByUUID(ctx context.Context, uuid string) (*wharf.Build, error)
}, now func() time.Time) *Tokens {
	return &Tokens{keys: keys, store: store, now: now}
}

// Issue returns a token for worker's attempt at build uuid, valid for
// lifetime.
func (t *Tokens) Issue(ctx context.Context, uuid, worker string, lifetime time.Duration) (string, error) {
	now := t.now()
	return t.keys.Sign(ctx, tokenClaims{Issuer: tokenIssuer, Audience: tokenAudience, Subject: uuid, Worker: worker,
		IssuedAt: now.Unix(), NotBefore: now.Add(-10 * time.Second).Unix(), ExpiresAt: now.Add(lifetime).Unix()})
}

var errBadToken = wharf.Errorf(wharf.Unauthenticated, "invalid build token")

// Verify returns the running build that token was issued for.
// Unauthenticated when the token does not verify, has expired, its build
// is over, or the worker it was issued to no longer holds the build (a
// lapsed attempt's token does not serve the retry).
func (t *Tokens) Verify(ctx context.Context, token string) (*wharf.Build, error) {
	payload, err := t.keys.Verify(ctx, token)
	if err != nil {
		var we *wharf.Error
		if errors.As(err, &we) && we.Code == wharf.Internal {
			return nil, err
		}
		return nil, errBadToken
	}
	var c tokenClaims
	now := t.now().Unix()
	if json.Unmarshal(payload, &c) != nil || c.Issuer != tokenIssuer || c.Audience != tokenAudience || now >= c.ExpiresAt || now < c.NotBefore {
		return nil, errBadToken
	}
	b, err := t.store.BuildByUUID(ctx, c.Subject)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	if wharf.TerminalPhase(b.Phase) || c.Worker == "" || b.Worker != c.Worker {
		return nil, errBadToken
	}
	return b, nil
}
