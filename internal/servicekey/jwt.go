package servicekey

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// Limits on untrusted input.
const (
	// MaxTokenBytes bounds a JWT: real ones are well under 2 KiB.
	MaxTokenBytes = 16 << 10
	// minRSABits and maxRSABits bound the modulus of a public key a service
	// registers: smaller keys are weak, larger ones make verification slow.
	minRSABits = 2048
	maxRSABits = 8192
)

// Why a token or a key was refused. They are causes kept inside the errors
// the package returns (and logged); clients see a generic message.
var (
	ErrMalformedToken = errors.New("malformed JWT")
	ErrAlgorithm      = errors.New("JWT algorithm is not RS256")
	ErrSignature      = errors.New("JWT signature does not verify")
	ErrExpired        = errors.New("JWT has expired")
	ErrNotYetValid    = errors.New("JWT is not valid yet (nbf)")
	ErrIssuedInFuture = errors.New("JWT was issued in the future (iat)")
	ErrMissingClaim   = errors.New("JWT lacks a required claim (exp, nbf, iat)")
	ErrUnknownKey     = errors.New("JWT is not signed by an approved, unexpired key of the service")
	ErrBadJWK         = errors.New("invalid RSA JWK")
)

// Claims are the registered claims of a verified JWT and its whole payload.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ExpiresAt time.Time
	NotBefore time.Time
	IssuedAt  time.Time
	// Raw is the payload as signed, for callers that need private claims.
	Raw json.RawMessage
}

// HasAudience reports whether aud is one of the token's audiences.
func (c *Claims) HasAudience(aud string) bool {
	for _, a := range c.Audience {
		if a == aud {
			return true
		}
	}
	return false
}

// jwtHeader is the part of a JOSE header wharf reads.
type jwtHeader struct {
	Alg  string          `json:"alg"`
	Kid  *string         `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// parsedToken is a JWT split and decoded but not yet verified.
type parsedToken struct {
	header  jwtHeader
	payload []byte
	signed  string // header.payload, the signing input
	sig     []byte
}

var b64 = base64.RawURLEncoding.Strict()

// parseToken splits a compact JWS and decodes its header. Nothing in it is
// trusted yet.
func parseToken(token string) (*parsedToken, error) {
	if len(token) == 0 || len(token) > MaxTokenBytes {
		return nil, ErrMalformedToken
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrMalformedToken
	}
	rawHeader, err1 := b64.DecodeString(parts[0])
	payload, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, ErrMalformedToken
	}
	var h jwtHeader
	if err := decodeObject(rawHeader, &h); err != nil {
		return nil, ErrMalformedToken
	}
	if h.Alg != "RS256" {
		return nil, ErrAlgorithm
	}
	if h.Crit != nil {
		return nil, ErrMalformedToken // no extension is understood
	}
	return &parsedToken{header: h, payload: payload, signed: parts[0] + "." + parts[1], sig: sig}, nil
}

// kid is the header's key id, "" when absent.
func (p *parsedToken) kid() string {
	if p.header.Kid == nil {
		return ""
	}
	return *p.header.Kid
}

// verify checks the signature with pub, then the time claims at now
// (leeway either way), and returns the claims.
func (p *parsedToken) verify(pub *rsa.PublicKey, now time.Time, leeway time.Duration) (*Claims, error) {
	sum := sha256.Sum256([]byte(p.signed))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], p.sig) != nil {
		return nil, ErrSignature
	}
	return parseClaims(p.payload, now, leeway)
}

// rawClaims are the registered claims as they appear in the payload.
type rawClaims struct {
	Iss *string         `json:"iss"`
	Sub *string         `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp *json.Number    `json:"exp"`
	Nbf *json.Number    `json:"nbf"`
	Iat *json.Number    `json:"iat"`
}

func parseClaims(payload []byte, now time.Time, leeway time.Duration) (*Claims, error) {
	var rc rawClaims
	if err := decodeObject(payload, &rc); err != nil {
		return nil, ErrMalformedToken
	}
	if rc.Exp == nil || rc.Nbf == nil || rc.Iat == nil {
		return nil, ErrMissingClaim
	}
	exp, err1 := numericDate(*rc.Exp)
	nbf, err2 := numericDate(*rc.Nbf)
	iat, err3 := numericDate(*rc.Iat)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, ErrMalformedToken
	}
	switch {
	case !now.Add(-leeway).Before(exp):
		return nil, ErrExpired
	case nbf.After(now.Add(leeway)):
		return nil, ErrNotYetValid
	case iat.After(now.Add(leeway)):
		return nil, ErrIssuedInFuture
	}
	c := &Claims{ExpiresAt: exp, NotBefore: nbf, IssuedAt: iat, Raw: json.RawMessage(payload)}
	if rc.Iss != nil {
		c.Issuer = *rc.Iss
	}
	if rc.Sub != nil {
		c.Subject = *rc.Sub
	}
	if len(rc.Aud) > 0 && !bytes.Equal(rc.Aud, []byte("null")) {
		var one string
		if json.Unmarshal(rc.Aud, &one) == nil {
			c.Audience = []string{one}
		} else if json.Unmarshal(rc.Aud, &c.Audience) != nil {
			return nil, ErrMalformedToken
		}
	}
	return c, nil
}

// decodeObject decodes one JSON object (numbers kept exact) and nothing after it.
func decodeObject(raw []byte, dst any) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}

// maxNumericDate is the year 9999, beyond which no claim makes sense.
const maxNumericDate = 253402300799

// numericDate turns a JWT NumericDate (seconds, possibly fractional) into a time.
func numericDate(n json.Number) (time.Time, error) {
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, ErrMalformedToken
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// signJWT signs claims (any JSON object) with key as an RS256 JWT whose
// header names kid.
func signJWT(key *rsa.PrivateKey, kid string, claims any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	signed := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign JWT: %w", err)
	}
	return signed + "." + b64.EncodeToString(sig), nil
}

// PublicJWK returns the public JWK of pub as wharf stores it: kty, n, e and kid.
func PublicJWK(pub *rsa.PublicKey, kid string) map[string]any {
	n, e := jwkNumbers(pub)
	return map[string]any{"kty": "RSA", "n": n, "e": e, "kid": kid}
}

func jwkNumbers(pub *rsa.PublicKey) (n, e string) {
	return b64.EncodeToString(pub.N.Bytes()), b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
}

// Thumbprint is the RFC 7638 JWK thumbprint of pub: base64url (no padding)
// of SHA-256 over {"e":…,"kty":"RSA","n":…}. Keys wharf generates use it as
// their kid.
func Thumbprint(pub *rsa.PublicKey) string {
	n, e := jwkNumbers(pub)
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return b64.EncodeToString(sum[:])
}

// ParseJWK reads an RSA public key from a JWK. Only the public members are
// read; a key that is not RSA, is malformed, or whose modulus is outside
// 2048..8192 bits is refused with ErrBadJWK.
func ParseJWK(jwk map[string]any) (*rsa.PublicKey, error) {
	kty, _ := jwk["kty"].(string)
	nStr, _ := jwk["n"].(string)
	eStr, _ := jwk["e"].(string)
	if kty != "RSA" || nStr == "" || eStr == "" || len(nStr) > maxRSABits/6+4 || len(eStr) > 8 {
		return nil, ErrBadJWK
	}
	// RFC 7518 says unpadded; padding some producers add is tolerated.
	nb, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(nStr, "="))
	eb, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(eStr, "="))
	if err1 != nil || err2 != nil || len(eb) == 0 || len(eb) > 4 {
		return nil, ErrBadJWK
	}
	n := new(big.Int).SetBytes(nb)
	e := new(big.Int).SetBytes(eb).Int64()
	if bits := n.BitLen(); bits < minRSABits || bits > maxRSABits || n.Bit(0) == 0 {
		return nil, ErrBadJWK
	}
	if e < 3 || e > math.MaxInt32 || e%2 == 0 {
		return nil, ErrBadJWK
	}
	return &rsa.PublicKey{N: n, E: int(e)}, nil
}
