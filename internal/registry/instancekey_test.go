package registry_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// tokenHeader returns the alg and kid in a JWT's header.
func tokenHeader(t *testing.T, token string) (alg, kid string) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Alg, h.Kid
}

// tokenKid returns the kid in a JWT's header.
func tokenKid(t *testing.T, token string) string {
	t.Helper()
	_, kid := tokenHeader(t, token)
	return kid
}

// publishedKids returns the kids the key server publishes for service wharf.
func publishedKids(t *testing.T, e *env) map[string]bool {
	t.Helper()
	status, body := e.api("", "GET", "/keys/services/wharf/keys", nil)
	if status != http.StatusOK {
		t.Fatalf("JWKS: %d %s", status, body)
	}
	var jwks struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(body, &jwks); err != nil {
		t.Fatal(err)
	}
	kids := map[string]bool{}
	for _, k := range jwks.Keys {
		kids[k.Kid] = true
	}
	return kids
}

// A registry token from /v2/auth verifies with nothing but crypto/rsa and
// the instance key the key server publishes.
func TestRegistryTokensVerifyWithThePublishedJWK(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		must(t, "login", alice.login("repository:alice/app:pull,push"), http.StatusOK)
		status, body := e.api("", "GET", "/keys/services/wharf/keys", nil)
		if status != http.StatusOK {
			t.Fatalf("JWKS: %d %s", status, body)
		}
		var jwks struct {
			Keys []struct{ Kid, Kty, N, E string }
		}
		if err := json.Unmarshal(body, &jwks); err != nil {
			t.Fatal(err)
		}
		alg, kid := tokenHeader(t, alice.token)
		if alg != "RS256" {
			t.Fatalf("registry token alg %q, want RS256", alg)
		}
		var pub *rsa.PublicKey
		for _, k := range jwks.Keys {
			if k.Kid != kid || k.Kty != "RSA" {
				continue
			}
			n, _ := base64.RawURLEncoding.DecodeString(k.N)
			eb, _ := base64.RawURLEncoding.DecodeString(k.E)
			pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(eb).Int64())}
		}
		if pub == nil {
			t.Fatalf("the token's kid %s is not in the published JWKS %s", kid, body)
		}
		parts := strings.Split(alice.token, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
			t.Fatalf("token does not verify with the published key: %v", err)
		}
	})
}

// Rotating the instance key does not break a push in flight: a token signed
// with the old key keeps working, and new tokens carry the new key.
func TestInstanceKeyRotationKeepsTokensInFlight(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		must(t, "login", alice.login("repository:alice/app:pull,push"), http.StatusOK)
		old := alice.token
		oldKid := tokenKid(t, old)
		layer := []byte("uploaded before the rotation")
		r := e.send("POST", "/v2/alice/app/blobs/uploads/", nil, old)
		must(t, "start upload", r, http.StatusAccepted)
		loc := r.Header.Get("Location")

		if _, err := e.keys.Rotate(context.Background()); err != nil {
			t.Fatal(err)
		}

		must(t, "PATCH with the old token", e.send("PATCH", loc, layer, old), http.StatusAccepted)
		must(t, "PUT with the old token", e.send("PUT", withQuery(loc, "digest="+sha256Of(layer)), nil, old), http.StatusCreated)
		alice.token = old
		alice.pushImage("alice/app", "v1", "rotation")
		fresh := e.as("alice", "")
		fresh.pass = alice.pass
		must(t, "login after the rotation", fresh.login("repository:alice/app:pull"), http.StatusOK)
		if newKid := tokenKid(t, fresh.token); newKid == oldKid {
			t.Fatalf("a token issued after the rotation still carries the old kid %s", oldKid)
		}
		must(t, "pull with the new token", e.send("GET", "/v2/alice/app/manifests/v1", nil, fresh.token), http.StatusOK)
		must(t, "pull with the old token", e.send("GET", "/v2/alice/app/manifests/v1", nil, old), http.StatusOK)
		// Both keys are published, so clients verify old and new tokens alike.
		if kids := publishedKids(t, e); !kids[oldKid] || !kids[tokenKid(t, fresh.token)] {
			t.Fatalf("after the rotation the JWKS lists %v, want the old key %s and the new key %s", kids, oldKid, tokenKid(t, fresh.token))
		}
	})
}
