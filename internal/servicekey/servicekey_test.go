package servicekey_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock(t time.Time) *clock    { return &clock{t: t} }
func ptr[T any](v T) *T              { return &v }
func enc(b []byte) string            { return base64.RawURLEncoding.EncodeToString(b) }

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// signRS256 signs claims as a compact RS256 JWS, written here independently
// of the package's own signer.
func signRS256(t testing.TB, key *rsa.PrivateKey, header map[string]any, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	check(t, err)
	p, err := json.Marshal(claims)
	check(t, err)
	signed := enc(h) + "." + enc(p)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	check(t, err)
	return signed + "." + enc(sig)
}

func claimsAt(now time.Time, iss, aud string) map[string]any {
	return map[string]any{"iss": iss, "aud": aud, "sub": "someone", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
}

var (
	testKeyOnce sync.Once
	testKeys    []*rsa.PrivateKey
)

// rsaKey returns one of a few RSA-2048 keys generated once per test binary.
func rsaKey(t testing.TB, i int) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys = append(testKeys, k)
		}
	})
	return testKeys[i]
}

func jwkOf(pub *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "n": enc(pub.N.Bytes()), "e": enc(big.NewInt(int64(pub.E)).Bytes())}
}

type fixture struct {
	store *db.DB
	clock *clock
	svc   *servicekey.Service
	admin *wharf.Caller
}

func newFixture(t *testing.T, store *db.DB) *fixture {
	t.Helper()
	admin := &wharf.Account{Name: "admin", Kind: wharf.KindUser, Email: "admin@example.com", Enabled: true}
	check(t, store.Accounts.CreateAccount(context.Background(), admin, nil))
	c := newClock(time.Now().UTC().Truncate(time.Second))
	return &fixture{store: store, clock: c, svc: servicekey.New(store.ServiceKeys, servicekey.Options{Now: c.Now}),
		admin: &wharf.Caller{Account: admin, IP: "10.0.0.5"}}
}

func logKinds(t *testing.T, store *db.DB) []string {
	t.Helper()
	entries, err := store.Logs.ListLogs(context.Background(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().AddDate(10, 0, 0), Limit: 1000})
	check(t, err)
	var kinds []string
	for i := len(entries) - 1; i >= 0; i-- {
		kinds = append(kinds, entries[i].Kind)
	}
	return kinds
}

// TestCreatedKeySignsVerifiableTokens: a JWT signed with the private key
// createServiceKey hands out verifies until the key is deleted or expires.
func TestCreatedKeySignsVerifiableTokens(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		verifier := f.svc.Verifier()
		created, err := f.svc.Create(ctx, f.admin, servicekey.NewKey{Service: "quay", Name: "my key", Notes: "whazzup",
			Metadata: map[string]any{"foo": "bar", "creator": "spoofed"}, Expiration: ptr(f.clock.Now().Add(time.Hour))})
		check(t, err)
		k := created.Key
		block, _ := pem.Decode([]byte(created.PrivateKeyPEM))
		if block == nil || block.Type != "RSA PRIVATE KEY" {
			t.Fatalf("private key PEM: %q", created.PrivateKeyPEM)
		}
		priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		check(t, err)
		if priv.N.BitLen() != 2048 {
			t.Fatalf("%d-bit key", priv.N.BitLen())
		}
		pubBlock, _ := pem.Decode([]byte(created.PublicKeyPEM))
		pub, err := x509.ParsePKIXPublicKey(pubBlock.Bytes)
		check(t, err)
		if !priv.PublicKey.Equal(pub) {
			t.Fatal("public_key is not the private key's")
		}
		// kid = RFC 7638 thumbprint, computed here by hand.
		tp := sha256.Sum256([]byte(`{"e":"AQAB","kty":"RSA","n":"` + enc(priv.N.Bytes()) + `"}`))
		if k.Kid != enc(tp[:]) || len(k.Kid) != 43 || k.JWK["kid"] != k.Kid || k.JWK["e"] != "AQAB" {
			t.Fatalf("kid %q, jwk %v", k.Kid, k.JWK)
		}
		if k.Metadata["creator"] != "admin" || k.Metadata["created_by"] != "Quay Superuser Panel" || k.Metadata["ip"] != "10.0.0.5" || k.Metadata["foo"] != "bar" {
			t.Fatalf("metadata %v", k.Metadata)
		}
		if k.Approval == nil || k.Approval.Type != wharf.ApprovalSuperuser || k.Approval.Notes != "whazzup" {
			t.Fatalf("approval %+v", k.Approval)
		}
		stored, err := store.ServiceKeys.ServiceKey(ctx, k.Kid)
		check(t, err)
		raw, _ := json.Marshal(stored)
		for _, secret := range []string{enc(priv.D.Bytes()), enc(priv.Primes[0].Bytes())} {
			if json.Valid(raw) && strings.Contains(string(raw), secret) {
				t.Fatal("the private key was stored")
			}
		}
		if got := logKinds(t, store); !slices.Equal(got, []string{"service_key_create", "service_key_approve"}) {
			t.Fatalf("logs %v", got)
		}

		now := f.clock.Now()
		token := signRS256(t, priv, map[string]any{"alg": "RS256", "typ": "JWT", "kid": k.Kid}, claimsAt(now, "quay", "wharf"))
		c, err := verifier.Verify(ctx, token, "quay")
		if err != nil {
			t.Fatalf("a token signed with the created key was refused: %v", err)
		}
		if c.Issuer != "quay" || !c.HasAudience("wharf") || c.Subject != "someone" {
			t.Fatalf("claims %+v", c)
		}
		if _, err := verifier.Verify(ctx, token, "clair"); !errors.Is(err, servicekey.ErrUnknownKey) {
			t.Fatalf("another service's token: %v", err)
		}

		// Expired key: the same token is refused once the key expires.
		f.clock.Add(time.Hour)
		if _, err := verifier.Verify(ctx, token, "quay"); !wharf.IsCode(err, wharf.Unauthenticated) || !errors.Is(err, servicekey.ErrUnknownKey) {
			t.Fatalf("token of an expired key: %v", err)
		}
		f.clock.Add(-time.Hour)

		// Deleted key.
		check(t, f.svc.Delete(ctx, f.admin, k.Kid))
		if _, err := verifier.Verify(ctx, token, "quay"); !errors.Is(err, servicekey.ErrUnknownKey) {
			t.Fatalf("token of a deleted key: %v", err)
		}
	})
}

// TestSubmittedKeyNeedsApproval: a key a service publishes through the key
// server signs nothing valid until a superuser approves it.
func TestSubmittedKeyNeedsApproval(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		verifier := f.svc.Verifier()
		priv := rsaKey(t, 0)
		now := f.clock.Now()
		const aud = "http://registry.example"
		self := signRS256(t, priv, map[string]any{"alg": "RS256", "kid": "clair-1"}, claimsAt(now, "clair", aud))
		rotated, err := f.svc.Submit(ctx, servicekey.Submission{Service: "clair", Kid: "clair-1", JWK: jwkOf(&priv.PublicKey),
			Token: self, Audience: aud, Rotation: ptr(int64(600)), IP: "10.1.1.1", UserAgent: "clair/4"})
		if err != nil || rotated {
			t.Fatalf("submit: %v, rotated %t", err, rotated)
		}
		k, err := f.svc.Get(ctx, "clair-1")
		check(t, err)
		if k.Approval != nil || k.Name != "" || *k.RotationDuration != 600 || k.Metadata["ip"] != "10.1.1.1" {
			t.Fatalf("submitted key %+v", k)
		}
		token := signRS256(t, priv, map[string]any{"alg": "RS256", "kid": "clair-1"}, claimsAt(now, "clair", "wharf"))
		if _, err := verifier.Verify(ctx, token, "clair"); !errors.Is(err, servicekey.ErrUnknownKey) {
			t.Fatalf("an unapproved key's token: %v", err)
		}
		if _, err := f.svc.PublishedKey(ctx, "clair", "clair-1"); !wharf.IsCode(err, wharf.Conflict) {
			t.Fatalf("published unapproved key: %v", err)
		}
		check(t, f.svc.Approve(ctx, f.admin, "clair-1", "ok"))
		if _, err := verifier.Verify(ctx, token, "clair"); err != nil {
			t.Fatalf("an approved key's token: %v", err)
		}
		check(t, f.svc.Approve(ctx, f.admin, "clair-1", "again")) // no error, no change, no log
		k, _ = f.svc.Get(ctx, "clair-1")
		if k.Approval.Notes != "ok" || k.Approval.Approver == nil || k.Approval.Approver.Name != "admin" {
			t.Fatalf("approval %+v", k.Approval)
		}
		if got := logKinds(t, store); !slices.Equal(got, []string{"service_key_create", "service_key_approve"}) {
			t.Fatalf("logs %v", got)
		}
		if keys, err := f.svc.PublishedKeys(ctx, "clair"); err != nil || len(keys) != 1 {
			t.Fatalf("published keys %v, %v", keys, err)
		}

		// Rotation: a new key signed by the approved one inherits its approval.
		next := rsaKey(t, 1)
		rot := signRS256(t, priv, map[string]any{"alg": "RS256", "kid": "clair-1"}, claimsAt(now, "clair", aud))
		rotated, err = f.svc.Submit(ctx, servicekey.Submission{Service: "clair", Kid: "clair-2", JWK: jwkOf(&next.PublicKey), Token: rot, Audience: aud})
		if err != nil || !rotated {
			t.Fatalf("rotate: %v, rotated %t", err, rotated)
		}
		if _, err := verifier.Verify(ctx, token, "clair"); !errors.Is(err, servicekey.ErrUnknownKey) {
			t.Fatalf("the rotated-out key still verifies: %v", err)
		}
		k2, err := f.svc.Get(ctx, "clair-2")
		if err != nil || k2.Approval == nil || k2.Metadata["created_by"] != "Key Rotation" {
			t.Fatalf("rotated key %+v, %v", k2, err)
		}
		token2 := signRS256(t, next, map[string]any{"alg": "RS256", "kid": "clair-2"}, claimsAt(now, "clair", "wharf"))
		if _, err := verifier.Verify(ctx, token2, "clair"); err != nil {
			t.Fatalf("the new key's token: %v", err)
		}

		// Withdrawal by the key itself.
		del := signRS256(t, next, map[string]any{"alg": "RS256", "kid": "clair-2"}, claimsAt(now, "clair", aud))
		if err := f.svc.Withdraw(ctx, "quay", "clair-2", del, aud, "", ""); !wharf.IsCode(err, wharf.Forbidden) {
			t.Fatalf("withdraw through another service: %v", err)
		}
		check(t, f.svc.Withdraw(ctx, "clair", "clair-2", del, aud, "10.1.1.1", "clair/4"))
		if _, err := verifier.Verify(ctx, token2, "clair"); !errors.Is(err, servicekey.ErrUnknownKey) {
			t.Fatalf("a withdrawn key's token: %v", err)
		}
		if got := logKinds(t, store); !slices.Equal(got[2:], []string{"service_key_rotate", "service_key_delete"}) {
			t.Fatalf("logs %v", got)
		}
	})
}

func TestSubmitRefusals(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		priv, other := rsaKey(t, 0), rsaKey(t, 1)
		now := f.clock.Now()
		const aud = "http://registry.example"
		good := func(kid string) string {
			return signRS256(t, priv, map[string]any{"alg": "RS256", "kid": kid}, claimsAt(now, "svc", aud))
		}
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		check(t, err)
		cl := func(mod func(m map[string]any)) map[string]any { m := claimsAt(now, "svc", aud); mod(m); return m }
		tests := []struct {
			name string
			sub  servicekey.Submission
			code wharf.Code
		}{
			{"bad service", servicekey.Submission{Service: "Bad-Service", Kid: "k", JWK: jwkOf(&priv.PublicKey), Token: good("k")}, wharf.Invalid},
			{"bad kid", servicekey.Submission{Service: "svc", Kid: "a b", JWK: jwkOf(&priv.PublicKey), Token: good("a b")}, wharf.Invalid},
			{"EC key", servicekey.Submission{Service: "svc", Kid: "k", JWK: map[string]any{"kty": "EC", "x": "AA", "y": "AA"}, Token: good("k")}, wharf.Invalid},
			{"small key", servicekey.Submission{Service: "svc", Kid: "k", JWK: jwkOf(&small.PublicKey),
				Token: signRS256(t, small, map[string]any{"alg": "RS256", "kid": "k"}, claimsAt(now, "svc", aud))}, wharf.Invalid},
			{"past expiration", servicekey.Submission{Service: "svc", Kid: "k", JWK: jwkOf(&priv.PublicKey), Token: good("k"), Expiration: ptr(now.Add(-time.Second))}, wharf.Invalid},
			{"signed by another key", servicekey.Submission{Service: "svc", Kid: "k", JWK: jwkOf(&other.PublicKey), Token: good("k")}, wharf.Invalid},
			{"wrong issuer", servicekey.Submission{Service: "svc", Kid: "k", JWK: jwkOf(&priv.PublicKey),
				Token: signRS256(t, priv, map[string]any{"alg": "RS256", "kid": "k"}, claimsAt(now, "other", aud))}, wharf.Invalid},
			{"wrong audience", servicekey.Submission{Service: "svc", Kid: "k", JWK: jwkOf(&priv.PublicKey), Token: good("k"), Audience: "http://elsewhere"}, wharf.Invalid},
			{"no exp", servicekey.Submission{Service: "svc", Kid: "k", JWK: jwkOf(&priv.PublicKey),
				Token: signRS256(t, priv, map[string]any{"alg": "RS256", "kid": "k"}, cl(func(m map[string]any) { delete(m, "exp") }))}, wharf.Invalid},
			{"HS256", servicekey.Submission{Service: "svc", Kid: "k", JWK: jwkOf(&priv.PublicKey),
				Token: signRS256(t, priv, map[string]any{"alg": "HS256", "kid": "k"}, claimsAt(now, "svc", aud))}, wharf.Invalid},
			{"rotation by an unknown key", servicekey.Submission{Service: "svc", Kid: "k", JWK: jwkOf(&priv.PublicKey), Token: good("nope")}, wharf.Forbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.sub.Audience == "" {
					tt.sub.Audience = aud
				}
				before := logKinds(t, store)
				_, err := f.svc.Submit(ctx, tt.sub)
				if !wharf.IsCode(err, tt.code) {
					t.Fatalf("got %v, want %s", err, tt.code)
				}
				if keys, _ := f.svc.List(ctx); len(keys) != 0 || len(logKinds(t, store)) != len(before) {
					t.Fatalf("a refused submission wrote something: %d keys", len(keys))
				}
			})
		}
	})
}

func TestUpdateIsAtomic(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		created, err := f.svc.Create(ctx, f.admin, servicekey.NewKey{Service: "quay", Name: "n1", Expiration: ptr(f.clock.Now().Add(time.Hour))})
		check(t, err)
		kid := created.Key.Kid
		later := f.clock.Now().Add(48 * time.Hour)
		// A valid expiration with an invalid name: Quay would store the
		// expiration and then fail; wharf stores nothing.
		_, err = f.svc.Update(ctx, f.admin, kid, servicekey.Changes{Name: ptr("bad!name"), SetExpiration: true, Expiration: &later})
		if !wharf.IsCode(err, wharf.Invalid) || wharf.ErrorMessage(err) != "Invalid service key friendly name: bad!name" {
			t.Fatalf("got %v", err)
		}
		k, _ := f.svc.Get(ctx, kid)
		if k.ExpiresAt.Equal(later) || len(logKinds(t, store)) != 2 {
			t.Fatal("a refused update stored its expiration or a log")
		}
		_, err = f.svc.Update(ctx, f.admin, kid, servicekey.Changes{SetExpiration: true, Expiration: ptr(f.clock.Now().Add(-time.Minute))})
		if wharf.ErrorMessage(err) != "Cannot have an expiration date in the past" {
			t.Fatalf("past expiration: %v", err)
		}
		k, err = f.svc.Update(ctx, f.admin, kid, servicekey.Changes{Name: ptr("n2"), Metadata: map[string]any{"a": "b"}, SetExpiration: true})
		check(t, err)
		if k.Name != "n2" || k.ExpiresAt != nil || k.Metadata["a"] != "b" || k.Metadata["creator"] != "admin" {
			t.Fatalf("updated %+v", k)
		}
		entries, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().AddDate(1, 0, 0), Limit: 10})
		check(t, err)
		if entries[0].Kind != "service_key_modify" || entries[1].Kind != "service_key_extend" {
			t.Fatalf("logs %s %s", entries[0].Kind, entries[1].Kind)
		}
		for _, e := range entries[:2] {
			if e.Metadata["name"] != "n2" || e.Metadata["expiration_date"] != nil || e.Metadata["old_expiration_date"] != float64(created.Key.ExpiresAt.Unix()) {
				t.Fatalf("%s metadata %v", e.Kind, e.Metadata)
			}
		}
		// Stale keys are hidden from Get and Update but can still be deleted.
		_, err = f.svc.Update(ctx, f.admin, kid, servicekey.Changes{SetExpiration: true, Expiration: ptr(f.clock.Now().Add(time.Minute))})
		check(t, err)
		f.clock.Add(8 * 24 * time.Hour)
		if _, err := f.svc.Get(ctx, kid); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("stale key: %v", err)
		}
		if _, err := f.svc.Update(ctx, f.admin, kid, servicekey.Changes{Name: ptr("x")}); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("update of a stale key: %v", err)
		}
		if keys, _ := f.svc.List(ctx); len(keys) != 0 {
			t.Fatal("a stale key is listed")
		}
		n, err := f.svc.Collect(ctx)
		if err != nil || n != 1 {
			t.Fatalf("collected %d, %v", n, err)
		}
	})
}

func TestInstanceKeys(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		ik, err := f.svc.InstanceKeys("wharf", []byte("secret"), 2*time.Hour, time.Hour)
		check(t, err)
		s1, err := ik.Current(ctx)
		check(t, err)
		now := f.clock.Now()
		tok, err := s1.Sign(map[string]any{"iss": "wharf", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		check(t, err)
		verifier := f.svc.Verifier()
		if _, err := verifier.Verify(ctx, tok, "wharf"); err != nil {
			t.Fatalf("instance token: %v", err)
		}
		// Another process with the same secret signs with the same key.
		other, err := servicekey.New(store.ServiceKeys, servicekey.Options{Now: f.clock.Now}).InstanceKeys("wharf", []byte("secret"), 2*time.Hour, time.Hour)
		check(t, err)
		if s, err := other.Current(ctx); err != nil || s.Kid != s1.Kid {
			t.Fatalf("other process: %v, %v", s, err)
		}
		// Within RotateBefore of expiry a new key is made; tokens of the old
		// one, even one signed just before (lifetime = RotateBefore), stay valid.
		f.clock.Add(59 * time.Minute)
		if s, err := ik.Current(ctx); err != nil || s.Kid != s1.Kid {
			t.Fatalf("rotated too early: %v, %v", s, err)
		}
		now = f.clock.Now()
		tok, err = s1.Sign(map[string]any{"iss": "wharf", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		check(t, err)
		f.clock.Add(2 * time.Minute)
		s2, err := ik.Current(ctx)
		check(t, err)
		if s2.Kid == s1.Kid {
			t.Fatal("no rotation")
		}
		if _, err := verifier.Verify(ctx, tok, "wharf"); err != nil {
			t.Fatalf("an in-flight token broke at rotation: %v", err)
		}
		f.clock.Add(57 * time.Minute) // a minute before the token expires
		if _, err := verifier.Verify(ctx, tok, "wharf"); err != nil {
			t.Fatalf("the old key expired before its last token: %v", err)
		}
		// A process with another secret cannot use the sealed keys: it makes its own.
		foreign, err := servicekey.New(store.ServiceKeys, servicekey.Options{Now: f.clock.Now}).InstanceKeys("wharf", []byte("other"), 2*time.Hour, time.Hour)
		check(t, err)
		if s, err := foreign.Current(ctx); err != nil || s.Kid == s2.Kid {
			t.Fatalf("foreign secret: %v, %v", s, err)
		}
		if _, err := f.svc.InstanceKeys("wharf", []byte("s"), time.Hour, time.Hour); err == nil {
			t.Fatal("rotate-before equal to the lifetime was accepted")
		}
	})
}
