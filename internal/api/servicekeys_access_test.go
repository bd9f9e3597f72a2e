package api_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Service keys and the key server in the access matrix (TestAccessMatrix).

var (
	testRSAOnce sync.Once
	testRSA     *rsa.PrivateKey
)

// sharedRSAKey is one RSA-2048 key for every test of the package that needs
// a key a service holds (generating one costs ~100 ms).
func sharedRSAKey(t testing.TB) *rsa.PrivateKey {
	testRSAOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testRSA = k
	})
	return testRSA
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// publicJWK is pub as a JWK (kty, n, e), built here, not by wharf.
func publicJWK(pub *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "n": b64url(pub.N.Bytes()), "e": b64url(big.NewInt(int64(pub.E)).Bytes())}
}

// signJWT signs claims as an RS256 JWT naming kid (none when "").
func signJWT(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	header := map[string]any{"alg": "RS256", "typ": "JWT"}
	if kid != "" {
		header["kid"] = kid
	}
	h, _ := json.Marshal(header)
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signed := b64url(h) + "." + b64url(p)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + b64url(sig)
}

// serviceClaims are the claims the key server wants: the service as
// issuer, the registry's URL as audience, exp/nbf/iat.
func serviceClaims(service, aud string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": service, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
}

// parsePrivateKey reads the PKCS#1 PEM createServiceKey returns.
func parsePrivateKey(t testing.TB, pemText string) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "RSA PRIVATE KEY" {
		t.Fatalf("private_key is not an RSA PRIVATE KEY PEM: %q", pemText)
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newStoredKey writes a key of service straight to the store (approved by
// admin when approved) and returns its kid.
func (x *accessCellCtx) newStoredKey(service string, approved bool) string {
	x.t.Helper()
	kid := x.f.nextName("kid")
	k := &wharf.ServiceKey{Kid: kid, Service: service, Name: "cell key", JWK: publicJWK(&sharedRSAKey(x.t).PublicKey),
		Metadata: map[string]any{}, CreatedAt: time.Now().UTC()}
	k.JWK["kid"] = kid
	if approved {
		k.Approval = &wharf.ServiceKeyApproval{Type: wharf.ApprovalSuperuser, ApproverID: x.f.accounts["admin"].ID, ApprovedAt: time.Now().UTC()}
	}
	if err := x.f.store.ServiceKeys.CreateServiceKey(x.t.Context(), k, wharf.ServiceKeyGC{}); err != nil {
		x.t.Fatal(err)
	}
	return kid
}

func (x *accessCellCtx) keyGone(kid string) {
	x.t.Helper()
	if _, err := x.f.store.ServiceKeys.ServiceKey(x.t.Context(), kid); !wharf.IsCode(err, wharf.NotFound) {
		x.t.Errorf("service key %s still exists after a successful delete (err %v)", kid, err)
	}
}

// serviceKeyAccessMatrix: spec §1.11 rows 6, 7, 18–21 with wharf's rules
// (every OAuth token needs super:user; list and get need no fresh login),
// and the key server, which any caller reaches and which authenticates the
// service by the JWT in Authorization (a caller's own token is replaced by it).
func serviceKeyAccessMatrix() []accessEndpoint {
	const GET, POST, PUT, DELETE = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	jwtHeader := func(x *accessCellCtx, kid string) []string {
		return []string{"Authorization", "Bearer " + signJWT(x.t, sharedRSAKey(x.t), kid, serviceClaims("ks", x.env.srv.URL))}
	}
	return []accessEndpoint{
		{method: POST, route: "/api/v1/superuser/keys", class: clsAdmin, want: wantAdminister(200),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/superuser/keys", body: map[string]any{"service": "quay", "expiration": nil}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				body := r.JSON(t)
				if pk, _ := body["private_key"].(string); !strings.HasPrefix(pk, "-----BEGIN RSA PRIVATE KEY-----\n") {
					t.Errorf("private_key %q", pk)
				}
				if kid, _ := body["kid"].(string); len(kid) != 43 {
					t.Errorf("kid %v", body["kid"])
				}
			}},
		{method: GET, route: "/api/v1/superuser/keys", class: clsSuperRead, want: wantInspect, build: fixedPath("/api/v1/superuser/keys"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if _, isList := bodyField(t, r, "keys").([]any); !isList {
					t.Errorf("keys: %s", r.Body)
				}
			}},
		{method: GET, route: "/api/v1/superuser/keys/{kid}", class: clsSuperRead, want: wantInspect,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/superuser/keys/" + x.newStoredKey("quay", true)}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if got := bodyField(t, r, "kid"); got != strings.TrimPrefix(rq.path, "/api/v1/superuser/keys/") {
					t.Errorf("kid %v for %s", got, rq.path)
				}
			}},
		{method: PUT, route: "/api/v1/superuser/keys/{kid}", class: clsAdmin, want: wantAdminister(200),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/superuser/keys/" + x.newStoredKey("quay", true),
					body: map[string]any{"name": "renamed", "metadata": map[string]any{"k": "v"}, "expiration": time.Now().Add(time.Hour).Unix()}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if got := bodyField(t, r, "name"); got != "renamed" {
					t.Errorf("name %v after the change", got)
				}
			}},
		{method: DELETE, route: "/api/v1/superuser/keys/{kid}", class: clsAdmin, want: wantAdminister(204),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/superuser/keys/" + x.newStoredKey("quay", true)}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				x.keyGone(strings.TrimPrefix(rq.path, "/api/v1/superuser/keys/"))
			}},
		{method: POST, route: "/api/v1/superuser/approvedkeys/{kid}", class: clsAdmin, want: wantAdminister(201),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/superuser/approvedkeys/" + x.newStoredKey("quay", false), body: map[string]any{"notes": "ok"}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				k, err := x.f.store.ServiceKeys.ServiceKey(t.Context(), strings.TrimPrefix(rq.path, "/api/v1/superuser/approvedkeys/"))
				if err != nil || k.Approval == nil || k.Approval.Notes != "ok" || len(r.Body) != 0 {
					t.Errorf("after approval: %+v, %v; body %q", k, err, r.Body)
				}
			}},

		// The key server.
		{method: GET, route: "/keys/services/{service}/keys", class: clsOpen, want: wantAll(200), build: fixedPath("/keys/services/ks/keys"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if _, isList := bodyField(t, r, "keys").([]any); !isList {
					t.Errorf("keys: %s", r.Body)
				}
			}},
		{method: GET, route: "/keys/services/{service}/keys/{kid}", class: clsOpen, want: wantAll(200),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/keys/services/ks/keys/" + x.newStoredKey("ks", true)}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if got := bodyField(t, r, "kty"); got != "RSA" {
					t.Errorf("jwk %s", r.Body)
				}
			}},
		{method: PUT, route: "/keys/services/{service}/keys/{kid}", class: clsOpen, want: wantAll(202),
			build: func(x *accessCellCtx) accessRequest {
				kid := x.f.nextName("submitted")
				return accessRequest{path: "/keys/services/ks/keys/" + kid, body: publicJWK(&sharedRSAKey(x.t).PublicKey), headers: jwtHeader(x, kid)}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				k, err := x.f.store.ServiceKeys.ServiceKey(t.Context(), strings.TrimPrefix(rq.path, "/keys/services/ks/keys/"))
				if err != nil || k.Approval != nil {
					t.Errorf("submitted key %+v, %v", k, err)
					return
				}
				// Every cell submits from 127.0.0.1: removing the key keeps
				// the matrix below the key server's cap of pending keys per
				// address, however many callers it grows to.
				if err := x.f.store.ServiceKeys.DeleteServiceKey(t.Context(), k, wharf.ServiceKeyGC{}); err != nil {
					t.Error(err)
				}
			}},
		{method: DELETE, route: "/keys/services/{service}/keys/{kid}", class: clsOpen, want: wantAll(204),
			build: func(x *accessCellCtx) accessRequest {
				kid := x.newStoredKey("ks", false)
				return accessRequest{path: "/keys/services/ks/keys/" + kid, headers: jwtHeader(x, kid)}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				x.keyGone(strings.TrimPrefix(rq.path, "/keys/services/ks/keys/"))
			}},
	}
}
