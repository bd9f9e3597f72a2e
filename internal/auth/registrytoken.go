package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// RegistryAccess is one grant inside a registry token, as Docker's token
// spec writes it: {"type":"repository","name":"ns/repo","actions":["pull"]}.
//
// wharf adds which repository (rid; 0 when it did not exist yet) and
// namespace (nid) the grant was decided on: names can be reused after a
// deletion or a rename, ids cannot.
type RegistryAccess struct {
	Type         string   `json:"type"`
	Name         string   `json:"name"`
	Actions      []string `json:"actions"`
	RepositoryID int64    `json:"rid,omitempty"`
	NamespaceID  int64    `json:"nid,omitempty"`
}

// RegistryClaims are the claims of a registry bearer token.
type RegistryClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub,omitempty"`
	Audience  string `json:"aud"`
	ExpiresAt int64  `json:"exp"`
	NotBefore int64  `json:"nbf"`
	IssuedAt  int64  `json:"iat"`
	ID        string `json:"jti"`
	AccountID int64  `json:"uid,omitempty"`
	Kind      string `json:"kind,omitempty"` // user | robot; empty for anonymous
	// OwnerID is a robot's namespace: its rights are that namespace's.
	OwnerID int64 `json:"oid,omitempty"`
	// Build is the build whose worker got the token (with a build token):
	// its grants follow the build, not the subject's own rights.
	Build string `json:"bld,omitempty"`
	// OAuth marks a token earned with an OAuth token ($oauthtoken); its
	// Scopes then bound what the subject's rights may add to it.
	OAuth  bool     `json:"oauth,omitempty"`
	Scopes []string `json:"scp,omitempty"`
	// AppToken is the app-specific token the holder logged in with ("$app"):
	// revoking it revokes the registry token too.
	AppToken int64            `json:"apt,omitempty"`
	Access   []RegistryAccess `json:"access"`
	// Epochs are the credential epochs of the subjects the grants rest on
	// at issue (see Revocations).
	Epochs map[string]int64 `json:"ep,omitempty"`
}

// Allows reports whether the token grants action on registry resource
// name (the catalog).
func (c *RegistryClaims) Allows(typ, name, action string) bool {
	for _, a := range c.Access {
		if a.Type == typ && a.Name == name && grants(a.Actions, action) {
			return true
		}
	}
	return false
}

// AllowsRepository reports whether the token grants action on repository
// name, which is repo now (nil: it does not exist). A grant decided on one
// repository never serves another that took its name: it names the
// repository's id, or, made before the repository existed, the id of the
// namespace it would be created in.
func (c *RegistryClaims) AllowsRepository(name string, repo *wharf.Repository, action string) bool {
	for _, a := range c.Access {
		if a.Type != "repository" || a.Name != name || !grants(a.Actions, action) {
			continue
		}
		switch {
		case repo == nil:
			return a.RepositoryID == 0
		case a.RepositoryID != 0:
			return a.RepositoryID == repo.ID
		default:
			return a.NamespaceID == repo.NamespaceID
		}
	}
	return false
}

func grants(actions []string, action string) bool {
	for _, got := range actions {
		if got == action || got == "*" {
			return true
		}
	}
	return false
}

// subjects are the credential-epoch subjects c's grants rest on.
func (c *RegistryClaims) subjects() []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, id := range []int64{c.AccountID, c.OwnerID} {
		if id != 0 {
			add(wharf.AccountSubject(id))
		}
	}
	if c.AppToken != 0 {
		add(wharf.AppTokenSubject(c.AppToken))
	}
	for _, a := range c.Access {
		if a.NamespaceID != 0 {
			add(wharf.AccountSubject(a.NamespaceID))
		}
		if a.RepositoryID != 0 {
			add(wharf.RepositorySubject(a.RepositoryID))
		}
	}
	return out
}

// TokenKeys signs registry tokens and verifies them, returning the verified
// payload. The instance service key (servicekey.InstanceKeys) implements it.
type TokenKeys interface {
	Sign(ctx context.Context, claims any) (string, error)
	Verify(ctx context.Context, token string) ([]byte, error)
}

// RegistryTokens issues and verifies the short-lived JWTs of /v2/auth. They
// are RS256 JWTs signed with wharf's instance service key, which every
// process sharing the database and SECRET_KEY can use and whose public half
// the key server publishes (/keys/services/wharf/keys). Verification (in
// TokenKeys) pins the algorithm and checks the signature against the full
// key of an instance key; here iss, aud, exp and nbf are checked too.
type RegistryTokens struct {
	keys     TokenKeys
	revoked  *Revocations
	verified *verifiedTokens
	issued   *issuedTokens
	issuer   string
	audience string
	lifetime time.Duration
	now      func() time.Time
}

// RegistryTokenIssuer is the iss of every registry token wharf signs.
const RegistryTokenIssuer = "wharf"

// NewRegistryTokens returns registry tokens signed by keys; audience is the
// registry's service name (SERVER_HOSTNAME). Tokens are stamped with, and
// checked against, revoked's credential epochs.
func NewRegistryTokens(keys TokenKeys, revoked *Revocations, audience string, lifetime time.Duration, now func() time.Time) *RegistryTokens {
	return &RegistryTokens{keys: keys, revoked: revoked, verified: newVerifiedTokens(verifiedTokensMax), issued: newIssuedTokens(), issuer: RegistryTokenIssuer, audience: audience, lifetime: lifetime, now: now}
}

// Lifetime is how long issued tokens stay valid.
func (t *RegistryTokens) Lifetime() time.Duration { return t.lifetime }

// Issue signs a token granting access to subject (account id and kind).
func (t *RegistryTokens) Issue(ctx context.Context, subject string, accountID int64, kind string, access []RegistryAccess) (string, *RegistryClaims, error) {
	return t.IssueFor(ctx, t.lifetime, RegistryClaims{Subject: subject, AccountID: accountID, Kind: kind, Access: access})
}

// IssueFor signs a token with the holder's claims of c (Subject,
// AccountID, Kind, Build, OAuth, Scopes, Access), valid for lifetime, at
// most the usual one.
func (t *RegistryTokens) IssueFor(ctx context.Context, lifetime time.Duration, c RegistryClaims) (string, *RegistryClaims, error) {
	lifetime = min(lifetime, t.lifetime)
	now := t.now()
	if c.Access == nil {
		c.Access = []RegistryAccess{}
	}
	epochs, err := t.revoked.Stamp(ctx, c.subjects())
	if err != nil {
		return "", nil, err
	}
	c.Epochs = epochs
	// The same grants to the same holder, stamped with the same epochs,
	// were signed moments ago: hand that token out again rather than sign
	// anew (an RS256 signature costs a millisecond, most of a login).
	key, err := issuedKey(lifetime, &c)
	if err != nil {
		return "", nil, err
	}
	if token, claims, ok := t.issued.get(key, now); ok {
		return token, claims, nil
	}
	jti := make([]byte, 12)
	rand.Read(jti)
	c.Issuer, c.Audience, c.IssuedAt = t.issuer, t.audience, now.Unix()
	c.NotBefore, c.ExpiresAt = now.Add(-10*time.Second).Unix(), now.Add(lifetime).Unix()
	c.ID = base64.RawURLEncoding.EncodeToString(jti)
	token, err := t.keys.Sign(ctx, &c)
	if err != nil {
		return "", nil, err
	}
	t.issued.put(key, token, &c, now)
	return token, &c, nil
}

// ErrBadRegistryToken is returned for every token that does not verify.
var ErrBadRegistryToken = errors.New("invalid registry token")

// Verify checks token and returns its claims. A fault reading the keys or
// the credential epochs is returned as such; every other failure —
// including a token one of whose subjects changed since it was issued — is
// ErrBadRegistryToken.
func (t *RegistryTokens) Verify(ctx context.Context, token string) (*RegistryClaims, error) {
	c, ok := t.verified.get(token)
	if !ok {
		payload, err := t.keys.Verify(ctx, token)
		if err != nil {
			var we *wharf.Error
			if errors.As(err, &we) && we.Code == wharf.Internal {
				return nil, err // the store failed: not the client's fault
			}
			return nil, ErrBadRegistryToken
		}
		c = &RegistryClaims{}
		if json.Unmarshal(payload, c) != nil || c.Issuer != t.issuer || c.Audience != t.audience {
			return nil, ErrBadRegistryToken
		}
		t.verified.put(token, c, t.now().Unix())
	}
	now := t.now().Unix()
	if now >= c.ExpiresAt || now < c.NotBefore {
		return nil, ErrBadRegistryToken
	}
	if ok, err := t.revoked.Valid(ctx, c.Epochs); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return nil, ErrBadRegistryToken
	}
	claims := *c // callers may not change what later requests read
	return &claims, nil
}
