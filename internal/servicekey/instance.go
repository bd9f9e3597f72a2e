package servicekey

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// InstanceKeys keeps the key wharf itself signs JWTs with (Quay's instance
// service key), e.g. its registry bearer tokens. Unlike keys made for other
// services, its private half is stored — sealed with AES-256-GCM under a key
// derived from SECRET_KEY — so that every wharf process sharing the
// database and the secret signs with the same keys and verifies the
// others' tokens with Verify, which accepts only instance keys (Verifier
// accepts any approved key of the service, also one a superuser made).
//
// Rotation: Current hands out the newest key that stays valid for more than
// RotateBefore; when there is none it makes a new one, approved
// automatically (ServiceKeyApprovalType.AUTOMATIC), that expires after
// Lifetime. An old key stays approved until its own expiration, which is at
// least RotateBefore after the last token it signed was issued: as long as
// RotateBefore is at least the tokens' lifetime, rotation never invalidates
// a token in flight.
type InstanceKeys struct {
	svc          *Service
	service      string
	aead         cipher.AEAD
	lifetime     time.Duration
	rotateBefore time.Duration

	mu      sync.Mutex // guards cur and checked; held while signing keys are read or made
	cur     *Signer
	checked time.Time // when cur was last seen in the store as it is

	cacheMu  sync.Mutex           // guards verified only: Verify never waits for a rotation
	verified map[string]cachedKey // instance keys seen to be valid, by kid
}

// InstanceKeys returns the instance keys of service (e.g. "wharf"),
// sealed with a key derived from secret. rotateBefore must be positive and
// shorter than lifetime.
func (s *Service) InstanceKeys(service string, secret []byte, lifetime, rotateBefore time.Duration) (*InstanceKeys, error) {
	if err := ValidateServiceName(service); err != nil {
		return nil, err
	}
	if rotateBefore <= 0 || rotateBefore >= lifetime {
		return nil, fmt.Errorf("instance keys: rotate-before %s must be positive and shorter than the lifetime %s", rotateBefore, lifetime)
	}
	if len(secret) == 0 {
		return nil, errors.New("instance keys: empty secret")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "wharf instance service key v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &InstanceKeys{svc: s, service: service, aead: aead, lifetime: lifetime, rotateBefore: rotateBefore,
		verified: map[string]cachedKey{}}, nil
}

// Signer signs JWTs with one instance key.
type Signer struct {
	Kid       string
	Service   string
	ExpiresAt time.Time
	key       *rsa.PrivateKey
}

// Sign returns claims (any JSON object) as an RS256 JWT whose header names
// the signer's kid.
func (s *Signer) Sign(claims any) (string, error) { return signJWT(s.key, s.Kid, claims) }

// PublicJWK is the signer's public key as the key server publishes it.
func (s *Signer) PublicJWK() map[string]any { return PublicJWK(&s.key.PublicKey, s.Kid) }

// Current returns the key to sign with now, making (and storing) a new one
// when none stays valid for more than RotateBefore. The key is cached; at
// most every instanceKeyCacheTTL it is looked up again, so that a key a
// superuser deleted, or whose expiration was changed, is replaced within
// that time instead of signing tokens nobody accepts.
func (ik *InstanceKeys) Current(ctx context.Context) (*Signer, error) {
	ik.mu.Lock()
	defer ik.mu.Unlock()
	now := ik.svc.now()
	if ik.cur != nil && now.Sub(ik.checked) >= instanceKeyCacheTTL {
		k, err := ik.svc.store.ServiceKey(ctx, ik.cur.Kid)
		if err != nil && !wharf.IsCode(err, wharf.NotFound) {
			return nil, err
		}
		switch {
		case err != nil || k.Approval == nil || k.ExpiresAt == nil:
			ik.cur = nil // deleted, or made never-expiring (it would never rotate): choose again
		case !k.ExpiresAt.Equal(ik.cur.ExpiresAt):
			ik.cur = &Signer{Kid: ik.cur.Kid, Service: ik.service, ExpiresAt: *k.ExpiresAt, key: ik.cur.key}
		}
		ik.checked = now
	}
	if ik.cur != nil && ik.cur.ExpiresAt.Sub(now) > ik.rotateBefore {
		return ik.cur, nil
	}
	keys, err := ik.svc.store.ListServiceKeys(ctx, ik.service, now)
	if err != nil {
		return nil, err
	}
	slices.Reverse(keys) // newest first
	for _, k := range keys {
		if k.Approval == nil || k.ExpiresAt == nil || k.ExpiresAt.Sub(now) <= ik.rotateBefore {
			continue
		}
		sealed, err := ik.svc.store.InstanceKey(ctx, k.Kid)
		if wharf.IsCode(err, wharf.NotFound) {
			continue // a key of the same service made for somebody else
		}
		if err != nil {
			return nil, err
		}
		priv, err := ik.open(k.Kid, sealed)
		if err != nil {
			continue // sealed under another SECRET_KEY: unusable here
		}
		ik.cur, ik.checked = &Signer{Kid: k.Kid, Service: ik.service, ExpiresAt: *k.ExpiresAt, key: priv}, now
		return ik.cur, nil
	}
	return ik.rotateLocked(ctx, now)
}

// Rotate makes a new instance key now, whatever the state of the current one.
func (ik *InstanceKeys) Rotate(ctx context.Context) (*Signer, error) {
	ik.mu.Lock()
	defer ik.mu.Unlock()
	return ik.rotateLocked(ctx, ik.svc.now())
}

func (ik *InstanceKeys) rotateLocked(ctx context.Context, now time.Time) (*Signer, error) {
	now = now.UTC()
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, wharf.Wrap(err, "generate instance key")
	}
	kid := Thumbprint(&priv.PublicKey)
	expires := now.Add(ik.lifetime)
	k := &wharf.ServiceKey{Kid: kid, Service: ik.service, Name: "wharf instance key", JWK: PublicJWK(&priv.PublicKey, kid),
		Metadata: map[string]any{"created_by": "wharf instance key rotation"}, CreatedAt: now, ExpiresAt: &expires,
		Approval: &wharf.ServiceKeyApproval{Type: wharf.ApprovalAutomatic, ApprovedAt: now}}
	logMeta := func() map[string]any {
		m := keyLog(k)
		m["preshared"], m["auto_approved"] = true, true
		return m
	}
	actor := &wharf.Caller{}
	if err := ik.svc.store.CreateInstanceKey(ctx, k, ik.seal(kid, priv), ik.svc.gc(ik.service, now),
		actor.Entry("service_key_create", nil, logMeta()), actor.Entry("service_key_approve", nil, logMeta())); err != nil {
		return nil, err
	}
	ik.cur, ik.checked = &Signer{Kid: kid, Service: ik.service, ExpiresAt: expires, key: priv}, now
	return ik.cur, nil
}

// seal is nonce || AES-256-GCM(PKCS#1 DER), bound to kid.
func (ik *InstanceKeys) seal(kid string, priv *rsa.PrivateKey) []byte {
	nonce := make([]byte, ik.aead.NonceSize())
	rand.Read(nonce)
	return ik.aead.Seal(nonce, nonce, x509.MarshalPKCS1PrivateKey(priv), []byte(kid))
}

func (ik *InstanceKeys) open(kid string, sealed []byte) (*rsa.PrivateKey, error) {
	n := ik.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed instance key too short")
	}
	der, err := ik.aead.Open(nil, sealed[:n], sealed[n:], []byte(kid))
	if err != nil {
		return nil, err
	}
	return x509.ParsePKCS1PrivateKey(der)
}
