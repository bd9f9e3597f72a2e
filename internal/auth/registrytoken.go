package auth

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// RegistryAccess is one grant inside a registry token, as Docker's token
// spec writes it: {"type":"repository","name":"ns/repo","actions":["pull"]}.
type RegistryAccess struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// RegistryClaims are the claims of a registry bearer token.
type RegistryClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub,omitempty"`
	Audience  string           `json:"aud"`
	ExpiresAt int64            `json:"exp"`
	NotBefore int64            `json:"nbf"`
	IssuedAt  int64            `json:"iat"`
	ID        string           `json:"jti"`
	AccountID int64            `json:"uid,omitempty"`
	Kind      string           `json:"kind,omitempty"` // user | robot; empty for anonymous
	Access    []RegistryAccess `json:"access"`
}

// Allows reports whether the token grants action on repository name.
func (c *RegistryClaims) Allows(typ, name, action string) bool {
	for _, a := range c.Access {
		if a.Type == typ && a.Name == name {
			for _, got := range a.Actions {
				if got == action || got == "*" {
					return true
				}
			}
		}
	}
	return false
}

// RegistryTokens issues and verifies the short-lived JWTs of /v2/auth.
// They are signed with Ed25519 ("EdDSA") by a key derived from the
// instance secret, so every wharf process sharing SECRET_KEY verifies every
// other's tokens. Verification pins the algorithm, checks the signature
// against the full public key (a matching kid alone proves nothing) and
// checks iss, aud, exp and nbf.
type RegistryTokens struct {
	private  ed25519.PrivateKey
	public   ed25519.PublicKey
	kid      string
	issuer   string
	audience string
	lifetime time.Duration
	now      func() time.Time
}

// RegistryTokenIssuer is the iss of every registry token wharf signs.
const RegistryTokenIssuer = "wharf"

// NewRegistryTokens derives the signing key from secret; audience is the
// registry's service name (SERVER_HOSTNAME).
func NewRegistryTokens(secret []byte, audience string, lifetime time.Duration, now func() time.Time) (*RegistryTokens, error) {
	seed, err := hkdf.Key(sha256.New, secret, nil, "wharf registry token key v1", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return &RegistryTokens{private: priv, public: pub, kid: base64.RawURLEncoding.EncodeToString(sum[:])[:32],
		issuer: RegistryTokenIssuer, audience: audience, lifetime: lifetime, now: now}, nil
}

// Lifetime is how long issued tokens stay valid.
func (t *RegistryTokens) Lifetime() time.Duration { return t.lifetime }

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// Issue signs a token granting access to subject (account id and kind).
func (t *RegistryTokens) Issue(subject string, accountID int64, kind string, access []RegistryAccess) (string, *RegistryClaims, error) {
	now := t.now()
	jti := make([]byte, 12)
	rand.Read(jti)
	if access == nil {
		access = []RegistryAccess{}
	}
	claims := &RegistryClaims{Issuer: t.issuer, Subject: subject, Audience: t.audience, IssuedAt: now.Unix(),
		NotBefore: now.Add(-10 * time.Second).Unix(), ExpiresAt: now.Add(t.lifetime).Unix(),
		ID: base64.RawURLEncoding.EncodeToString(jti), AccountID: accountID, Kind: kind, Access: access}
	header, _ := json.Marshal(jwtHeader{Alg: "EdDSA", Typ: "JWT", Kid: t.kid})
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", nil, err
	}
	signing := b64(header) + "." + b64(payload)
	return signing + "." + b64(ed25519.Sign(t.private, []byte(signing))), claims, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// ErrBadRegistryToken is returned for every token that does not verify.
var ErrBadRegistryToken = errors.New("invalid registry token")

// Verify checks token and returns its claims.
func (t *RegistryTokens) Verify(token string) (*RegistryClaims, error) {
	if len(token) > 16<<10 {
		return nil, ErrBadRegistryToken
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrBadRegistryToken
	}
	rawHeader, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	rawPayload, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, ErrBadRegistryToken
	}
	var h jwtHeader
	if json.Unmarshal(rawHeader, &h) != nil || h.Alg != "EdDSA" {
		return nil, ErrBadRegistryToken
	}
	if !ed25519.Verify(t.public, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, ErrBadRegistryToken
	}
	var c RegistryClaims
	if json.Unmarshal(rawPayload, &c) != nil {
		return nil, ErrBadRegistryToken
	}
	now := t.now().Unix()
	if c.Issuer != t.issuer || c.Audience != t.audience || now >= c.ExpiresAt || now < c.NotBefore {
		return nil, ErrBadRegistryToken
	}
	return &c, nil
}
