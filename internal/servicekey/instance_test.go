package servicekey_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/servicekey"
)

// InstanceKeys.Verify accepts only wharf's own instance keys, in every
// process sharing the store and the secret; a rotation leaves tokens of the
// old key valid until they expire; the key cache never outlives a deletion
// by more than a minute, nor a key's expiration at all.
func TestInstanceKeysVerify(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		newKeys := func(secret string) *servicekey.InstanceKeys {
			ik, err := servicekey.New(store.ServiceKeys, servicekey.Options{Now: f.clock.Now}).InstanceKeys("wharf", []byte(secret), 2*time.Hour, time.Hour)
			check(t, err)
			return ik
		}
		ik, peer := newKeys("secret"), newKeys("secret")
		token := func(lifetime time.Duration) string {
			now := f.clock.Now()
			tok, err := ik.Sign(ctx, map[string]any{"iss": "wharf", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(lifetime).Unix()})
			check(t, err)
			return tok
		}
		accepts := func(what string, k *servicekey.InstanceKeys, tok string) {
			t.Helper()
			if _, err := k.Verify(ctx, tok); err != nil {
				t.Fatalf("%s: refused: %v", what, err)
			}
		}
		refuses := func(what string, k *servicekey.InstanceKeys, tok string, want error) {
			t.Helper()
			if _, err := k.Verify(ctx, tok); !errors.Is(err, want) {
				t.Fatalf("%s: got %v, want %v", what, err, want)
			}
		}

		s1, err := ik.Current(ctx)
		check(t, err)
		first := token(time.Hour)
		accepts("own token", ik, first)
		accepts("a token of another process with the same secret", peer, first)

		// A key a superuser made for service "wharf" is approved, and the
		// generic verifier accepts its tokens, but it is no instance key.
		created, err := f.svc.Create(ctx, f.admin, servicekey.NewKey{Service: "wharf", Name: "lookalike"})
		check(t, err)
		block, _ := pem.Decode([]byte(created.PrivateKeyPEM))
		priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		check(t, err)
		lookalike := signRS256(t, priv, map[string]any{"alg": "RS256", "kid": created.Key.Kid}, claimsAt(f.clock.Now(), "wharf", "x"))
		if _, err := f.svc.Verifier().Verify(ctx, lookalike, "wharf"); err != nil {
			t.Fatalf("control: the generic verifier refuses the superuser's key: %v", err)
		}
		refuses("a superuser-created wharf key", ik, lookalike, servicekey.ErrUnknownKey)
		refuses("another key under the instance kid", ik,
			signRS256(t, rsaKey(t, 0), map[string]any{"alg": "RS256", "kid": s1.Kid}, claimsAt(f.clock.Now(), "wharf", "x")), servicekey.ErrSignature)

		// Rotation: the last token of the old key, issued just before it,
		// stays valid until its own expiry.
		f.clock.Add(59 * time.Minute)
		last := token(time.Hour)
		f.clock.Add(2 * time.Minute)
		s2, err := ik.Current(ctx)
		check(t, err)
		if s2.Kid == s1.Kid {
			t.Fatal("no rotation with less than RotateBefore left")
		}
		accepts("new key", peer, token(time.Hour))
		f.clock.Add(57 * time.Minute)
		accepts("the old key's last token, a minute before it expires", ik, last)
		accepts("the old key's last token, in the other process", peer, last)
		f.clock.Add(time.Minute)
		refuses("the old key's last token, expired", ik, last, servicekey.ErrExpired)

		// The cache never outlives the key: a token that outlives its key
		// (as a forger holding an old private key might write it) is refused
		// once the key has expired, although the key was cached a second before.
		long, err := s1.Sign(map[string]any{"iat": f.clock.Now().Unix(), "nbf": f.clock.Now().Unix(), "exp": f.clock.Now().Add(24 * time.Hour).Unix()})
		check(t, err)
		f.clock.Add(s1.ExpiresAt.Sub(f.clock.Now()) - time.Second)
		fresh := newKeys("secret") // its cache is filled now, a second before the key expires
		accepts("a token of the old key, a second before the key expires", fresh, long)
		f.clock.Add(time.Second)
		refuses("a token of the old key, once the key has expired", fresh, long, servicekey.ErrUnknownKey)

		// A key a superuser deletes stops verifying within the cache's
		// minute, and is replaced for signing within it.
		cur, err := ik.Rotate(ctx) // far from its own rotation
		check(t, err)
		tok := token(time.Hour)
		accepts("before the deletion", ik, tok)
		check(t, f.svc.Delete(ctx, f.admin, cur.Kid))
		refuses("after the deletion, in a process that had not cached the key lately", peer, tok, servicekey.ErrUnknownKey)
		f.clock.Add(time.Minute)
		refuses("after the deletion, once the cache has expired", ik, tok, servicekey.ErrUnknownKey)
		next, err := ik.Current(ctx)
		check(t, err)
		if next.Kid == cur.Kid {
			t.Fatal("still signing with a deleted key")
		}
		accepts("the replacement", peer, token(time.Hour))

		// A key a superuser makes never-expiring keeps its tokens valid
		// but is no longer signed with (it would never rotate).
		tok = token(time.Hour)
		_, err = f.svc.Update(ctx, f.admin, next.Kid, servicekey.Changes{SetExpiration: true})
		check(t, err)
		f.clock.Add(time.Minute)
		accepts("a token of a never-expiring instance key", ik, tok)
		if s, err := ik.Current(ctx); err != nil || s.Kid == next.Kid || s.ExpiresAt.IsZero() {
			t.Fatalf("signing with a never-expiring key: %v, %v", s, err)
		}
	})
}
