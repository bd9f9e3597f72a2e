package servicekey

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// fuzzKeys is a KeyLookup with one approved key of service "svc", one
// unapproved key, and one approved key of another service.
type fuzzKeys map[string]*wharf.ServiceKey

func (f fuzzKeys) ServiceKey(_ context.Context, kid string) (*wharf.ServiceKey, error) {
	if k, ok := f[kid]; ok {
		return k, nil
	}
	return nil, wharf.Errorf(wharf.NotFound, "Not Found")
}

// FuzzVerify feeds arbitrary tokens to the Verifier. Whatever the input it
// must not panic, must refuse with Unauthenticated (never an internal
// error), and may accept only a token that really is an RS256 signature
// by the approved key of the service over a payload whose exp, nbf and iat
// hold now.
func FuzzVerify(f *testing.F) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0).UTC()
	approved := &wharf.ServiceKeyApproval{Type: wharf.ApprovalSuperuser, ApprovedAt: now}
	keys := fuzzKeys{
		"good":       {Kid: "good", Service: "svc", JWK: PublicJWK(&priv.PublicKey, "good"), Approval: approved},
		"unapproved": {Kid: "unapproved", Service: "svc", JWK: PublicJWK(&priv.PublicKey, "unapproved")},
		"elsewhere":  {Kid: "elsewhere", Service: "other", JWK: PublicJWK(&priv.PublicKey, "elsewhere"), Approval: approved},
		"broken":     {Kid: "broken", Service: "svc", JWK: map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}, Approval: approved},
	}
	v := NewVerifier(keys, func() time.Time { return now })
	claims := map[string]any{"iss": "svc", "aud": "wharf", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	for _, kid := range []string{"good", "unapproved", "elsewhere", "broken", "missing"} {
		tok, err := signJWT(priv, kid, claims)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
		f.Add(tok[:len(tok)-2])
		f.Add(strings.Replace(tok, ".", "..", 1))
		f.Add(tok + ".")
	}
	for _, c := range []map[string]any{
		{"iat": now.Unix(), "nbf": now.Unix()},
		{"iat": now.Unix(), "nbf": now.Unix(), "exp": "soon"},
		{"iat": now.Unix(), "nbf": now.Unix(), "exp": 1e300},
		{"iat": now.Unix(), "nbf": now.Unix(), "exp": -5},
		{"iat": now.Unix() + 600, "nbf": now.Unix(), "exp": now.Unix() + 60},
		{"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + 60, "aud": []string{"a", "b"}},
		{"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + 60, "aud": 5},
	} {
		tok, _ := signJWT(priv, "good", c)
		f.Add(tok)
	}
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIiwia2lkIjoiZ29vZCJ9.e30.")
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6Imdvb2QifQ.bnVsbA.AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token, "svc")
		if err != nil {
			var we *wharf.Error
			if !asError(err, &we) || we.Code != wharf.Unauthenticated || we.Message != "Invalid token" {
				t.Fatalf("refusal %v is not Unauthenticated \"Invalid token\"", err)
			}
			return
		}
		// Accepted: check everything independently.
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d parts", len(parts))
		}
		var h map[string]any
		raw, _ := b64.DecodeString(parts[0])
		if json.Unmarshal(raw, &h) != nil || h["alg"] != "RS256" || h["kid"] != "good" {
			t.Fatalf("accepted header %s", raw)
		}
		sig, _ := b64.DecodeString(parts[2])
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, sum[:], sig) != nil {
			t.Fatal("accepted a bad signature")
		}
		if !c.ExpiresAt.After(now) || c.NotBefore.After(now) || c.IssuedAt.After(now) {
			t.Fatalf("accepted times exp=%s nbf=%s iat=%s at %s", c.ExpiresAt, c.NotBefore, c.IssuedAt, now)
		}
	})
}

// FuzzParseJWK: any JWK either is refused with ErrBadJWK or yields an RSA
// key of 2048..8192 bits with an odd exponent.
func FuzzParseJWK(f *testing.F) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	good := PublicJWK(&priv.PublicKey, "k")
	f.Add("RSA", good["n"].(string), good["e"].(string))
	f.Add("RSA", good["n"].(string)+"==", "AQAB")
	f.Add("RSA", "AQAB", "AQAB")
	f.Add("EC", good["n"].(string), "AQAB")
	f.Add("RSA", good["n"].(string), "AAAAAAAAAQ")
	f.Add("RSA", good["n"].(string), "Ag")
	f.Fuzz(func(t *testing.T, kty, n, e string) {
		pub, err := ParseJWK(map[string]any{"kty": kty, "n": n, "e": e})
		if err != nil {
			if err != ErrBadJWK {
				t.Fatalf("error %v, want ErrBadJWK", err)
			}
			return
		}
		if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits || pub.E < 3 || pub.E%2 == 0 {
			t.Fatalf("accepted a %d-bit key with e=%d", bits, pub.E)
		}
	})
}

func asError(err error, target **wharf.Error) bool { return errors.As(err, target) }
