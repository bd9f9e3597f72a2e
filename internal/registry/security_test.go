package registry_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// An upload session belongs to the repository and the principal that
// opened it: another user with push on the same repository cannot read,
// extend, finish or cancel it, and the opener cannot use it through
// another repository's path.
func TestUploadSessionBinding(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		bob := e.as("bob", e.createUser("bob"))
		e.createOrg("acme", "alice", "bob")
		robot := e.as("acme+ci", e.createRobot("acme", "ci"))
		alice.pushBlob("acme/other", []byte("makes acme/other exist"))
		bob.pushBlob("acme/app", []byte("bob can push to acme/app"))
		e.grant("acme/app", "acme+ci", "write")

		first, second := randomBytes(1000), randomBytes(1000)
		whole := append(append([]byte{}, first...), second...)
		loc := startSession(t, alice, "acme/app")
		loc = patch(t, alice, loc, first, 0, "")
		id := loc[strings.LastIndex(loc, "/")+1:]
		if i := strings.Index(id, "?"); i >= 0 {
			id = id[:i]
		}

		attempts := func(t *testing.T, c *client, path string) {
			t.Helper()
			for _, tc := range []struct {
				method string
				body   []byte
				hdr    []string
			}{
				{"GET", nil, nil},
				{"PATCH", []byte("intruder"), []string{"Content-Range", "1000-1007"}},
				{"PATCH", []byte("intruder"), nil},
				{"PUT", nil, nil},
				{"PUT", second, nil},
				{"DELETE", nil, nil},
			} {
				target := path
				if tc.method == "PUT" {
					target = withQuery(path, "digest="+sha256Of(whole))
				}
				r := c.do(tc.method, target, tc.body, tc.hdr...)
				mustErr(t, tc.method+" "+target, r, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
			}
		}
		t.Run("another user with push", func(t *testing.T) { attempts(t, bob, "/v2/acme/app/blobs/uploads/"+id) })
		t.Run("a robot with push", func(t *testing.T) { attempts(t, robot, "/v2/acme/app/blobs/uploads/"+id) })
		t.Run("the opener through another repository", func(t *testing.T) {
			attempts(t, alice, "/v2/acme/other/blobs/uploads/"+id)
			attempts(t, alice, "/v2/alice/mine/blobs/uploads/"+id)
		})
		t.Run("the session is untouched", func(t *testing.T) {
			r := alice.do("GET", loc, nil)
			must(t, "status", r, http.StatusNoContent)
			if got := r.Header.Get("Range"); got != "0-999" {
				t.Fatalf("Range %q after the intruders, want 0-999", got)
			}
			r = alice.do("PUT", withQuery(loc, "digest="+sha256Of(whole)), second)
			must(t, "opener finishes", r, http.StatusCreated)
			checkBlob(t, alice, "acme/app", sha256Of(whole), whole)
			for _, other := range []string{"acme/other", "alice/mine"} {
				if r := alice.do("HEAD", "/v2/"+other+"/blobs/"+sha256Of(whole), nil); r.Status != http.StatusNotFound {
					t.Fatalf("HEAD in %s: %d, want 404", other, r.Status)
				}
			}
		})
		t.Run("upload ids that are not ids", func(t *testing.T) {
			for _, ref := range []string{"%2e%2e", "..%2f..%2fblobs", strings.Repeat("a", 65), strings.Repeat("0", 5000), "00000000-0000-0000-0000-000000000000"} {
				r := alice.do("GET", "/v2/acme/app/blobs/uploads/"+ref, nil)
				if r.Status < 400 || r.Status >= 500 {
					t.Errorf("GET upload %q: %d, want 4xx", ref, r.Status)
				}
			}
		})
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return b64(b)
}

// jwt signs header.claims with sign.
func jwt(header, claims any, sign func(signing string) []byte) string {
	s := b64json(header) + "." + b64json(claims)
	return s + "." + b64(sign(s))
}

func TestForgedTokens(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		admin := e.as("admin", "adminpass1")
		e.createOrg("acme")
		admin.pushImage("acme/priv", "latest", "secret")
		alice := e.as("alice", e.createUser("alice"))
		must(t, "alice logs in", alice.login("repository:alice/app:pull,push"), http.StatusOK)
		adminAcct, err := store.Accounts.AccountByName(context.Background(), "admin")
		if err != nil {
			t.Fatal(err)
		}

		ctx := context.Background()
		signer, err := e.keys.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kid := signer.Kid
		now := time.Now()
		priv, err := e.store.Registry.RepositoryByName(ctx, "acme", "priv")
		if err != nil {
			t.Fatal(err)
		}
		claims := func(change func(map[string]any)) map[string]any {
			c := map[string]any{"iss": auth.RegistryTokenIssuer, "sub": "admin", "aud": e.host, "exp": now.Add(time.Hour).Unix(),
				"nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(), "jti": "forged", "uid": adminAcct.ID, "kind": "user",
				"access": []map[string]any{{"type": "repository", "name": "acme/priv", "actions": []string{"pull", "push"},
					"rid": priv.ID, "nid": priv.NamespaceID}}}
			if change != nil {
				change(c)
			}
			return c
		}
		header := map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}
		realSign := func(c map[string]any) string {
			tok, err := signer.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		rsSign := func(k *rsa.PrivateKey) func(string) []byte {
			return func(s string) []byte {
				sum := sha256.Sum256([]byte(s))
				sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
				if err != nil {
					t.Fatal(err)
				}
				return sig
			}
		}
		hmacSign := func(k []byte) func(string) []byte {
			return func(s string) []byte { m := hmac.New(sha256.New, k); m.Write([]byte(s)); return m.Sum(nil) }
		}
		pubJWK, _ := json.Marshal(signer.PublicJWK())
		issued := func(audience string, at time.Time, lifetime time.Duration) string {
			tokens := auth.NewRegistryTokens(e.keys, e.revocations, audience, lifetime, func() time.Time { return at })
			tok, _, err := tokens.Issue(ctx, "admin", adminAcct.ID, "user", []auth.RegistryAccess{{Type: "repository",
				Name: "acme/priv", Actions: []string{"pull", "push"}, RepositoryID: priv.ID, NamespaceID: priv.NamespaceID}})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		// A key a superuser creates for service "wharf" is approved and its
		// private half is known, but it is not an instance key.
		created, err := e.serviceKeys.Create(ctx, &wharf.Caller{Account: adminAcct}, servicekey.NewKey{Service: auth.RegistryTokenIssuer, Name: "lookalike"})
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode([]byte(created.PrivateKeyPEM))
		lookalike, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		// alice's real token, its payload rewritten to grant acme/priv.
		parts := strings.Split(alice.token, ".")
		tampered := parts[0] + "." + b64json(claims(func(c map[string]any) { c["sub"], c["uid"] = "alice", 0 })) + "." + parts[2]
		var realClaims map[string]any
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(raw, &realClaims)
		realClaims["access"] = claims(nil)["access"]
		tampered2 := parts[0] + "." + b64json(realClaims) + "." + parts[2]

		const target = "/v2/acme/priv/manifests/latest"
		t.Run("control: a token signed with the real key is accepted", func(t *testing.T) {
			must(t, "GET", e.send("GET", target, nil, realSign(claims(nil))), http.StatusOK)
			must(t, "GET", e.send("GET", target, nil, issued(e.host, now, time.Hour)), http.StatusOK)
		})
		cases := []struct{ name, token string }{
			{"alg none", b64json(map[string]any{"alg": "none", "typ": "JWT"}) + "." + b64json(claims(nil)) + "."},
			{"alg none with a signature", jwt(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}, claims(nil), rsSign(other))},
			{"alg NONE", b64json(map[string]any{"alg": "NONE"}) + "." + b64json(claims(nil)) + "."},
			{"no alg", jwt(map[string]any{"typ": "JWT", "kid": kid}, claims(nil), rsSign(other))},
			{"HS256 keyed with the public JWK", jwt(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, claims(nil), hmacSign(pubJWK))},
			{"HS256 keyed with SECRET_KEY", jwt(map[string]any{"alg": "HS256", "typ": "JWT"}, claims(nil), hmacSign([]byte(testSecret)))},
			{"EdDSA", jwt(map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": kid}, claims(nil), hmacSign([]byte(testSecret)))},
			{"payload modified (claims replaced)", tampered},
			{"payload modified (access widened)", tampered2},
			{"another key under the real kid", jwt(header, claims(nil), rsSign(other))},
			{"a superuser-created wharf service key", jwt(map[string]any{"alg": "RS256", "typ": "JWT", "kid": created.Key.Kid}, claims(nil), rsSign(lookalike))},
			{"no kid", jwt(map[string]any{"alg": "RS256", "typ": "JWT"}, claims(nil), rsSign(other))},
			{"expired", issued(e.host, now.Add(-2*time.Hour), time.Hour)},
			{"expired (crafted)", realSign(claims(func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() }))},
			{"no exp", realSign(claims(func(c map[string]any) { delete(c, "exp") }))},
			{"not yet valid", issued(e.host, now.Add(time.Hour), time.Hour)},
			{"nbf in the future (crafted)", realSign(claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }))},
			{"wrong audience", issued("registry.evil.example", now, time.Hour)},
			{"wrong audience (crafted)", realSign(claims(func(c map[string]any) { c["aud"] = "registry.evil.example" }))},
			{"no audience", realSign(claims(func(c map[string]any) { delete(c, "aud") }))},
			{"wrong issuer", realSign(claims(func(c map[string]any) { c["iss"] = "quay" }))},
			{"no issuer", realSign(claims(func(c map[string]any) { delete(c, "iss") }))},
			{"signature truncated", alice.token[:len(alice.token)-4]},
			{"signature stripped", parts[0] + "." + parts[1] + "."},
			{"two parts", parts[0] + "." + parts[1]},
			{"four parts", alice.token + "." + parts[2]},
			{"not base64", "a.b.c"},
			{"garbage", "garbage"},
			{"huge", strings.Repeat("A", 20000) + "." + parts[1] + "." + parts[2]},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for _, path := range []string{target, "/v2/", "/v2/acme/priv/blobs/uploads/"} {
					method := "GET"
					if strings.HasSuffix(path, "/uploads/") {
						method = "POST"
					}
					r := e.send(method, path, nil, tc.token)
					mustErr(t, method+" "+path, r, http.StatusUnauthorized, "UNAUTHORIZED")
					if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer realm="`) {
						t.Fatalf("%s %s: no Bearer challenge", method, path)
					}
				}
			})
		}
		t.Run("Basic credentials on a registry call", func(t *testing.T) {
			r := e.send("GET", target, nil, "", "Authorization", "Basic "+b64([]byte("admin:adminpass1")))
			mustErr(t, "GET", r, http.StatusUnauthorized, "UNAUTHORIZED")
		})
	})
}

// hostileNames are /v2 paths whose repository name is not a valid name.
var hostileNames = []string{
	"/v2/a/../b/manifests/x",
	"/v2/acme/../acme/priv/manifests/latest",
	"/v2/acme/%2e%2e/priv/manifests/latest",
	"/v2/acme/%2E%2E/priv/manifests/latest",
	"/v2/%2e%2e/%2e%2e/etc/manifests/latest",
	"/v2/acme/priv/%2e%2e/manifests/latest",
	"/v2/acme/priv/../tags/list",
	"/v2/acme/./priv/manifests/latest",
	"/v2/acme/priv/./blobs/uploads/",
	"/v2/Acme/priv/manifests/latest",
	"/v2/acme/Priv/manifests/latest",
	"/v2/ACME/PRIV/tags/list",
	"/v2/acme//priv/manifests/latest",
	"/v2//acme/priv/manifests/latest",
	"/v2/acme/priv//manifests/latest",
	"/v2/priv/manifests/latest",
	"/v2/priv/blobs/uploads/",
	"/v2/priv/tags/list",
	"/v2/acme/priv%00/manifests/latest",
	"/v2/acme/pr%20iv/manifests/latest",
	"/v2/acme/-priv/tags/list",
	"/v2/acme/priv_/tags/list",
	"/v2/acme/priv%2f..%2f..%2fx/manifests/latest",
	"/v2/acme/" + strings.Repeat("a", 252) + "/tags/list",
	"/v2/acme/priv/blobs/uploads/../../../manifests/latest",
	"/v2/../etc/passwd",
	"/v2/..",
}

// otherHostile are paths with a valid name but a hostile reference.
var otherHostile = []string{
	"/v2/acme/priv/manifests/%2e%2e",
	"/v2/acme/priv/manifests/..%2f..%2fx",
	"/v2/acme/priv/blobs/%2e%2e",
	"/v2/acme/priv/blobs/uploads/%2e%2e",
	"/v2/acme/priv/blobs/uploads/..%2f..%2fblobs",
	"/v2/acme/priv/referrers/%2e%2e",
	"/v2/acme/priv/manifests/" + strings.Repeat("x", 5000),
	"/v2/acme/priv/blobs/%zz",
	"/v2/acme/priv",
	"/v2/acme/priv/manifests",
	"/v2/acme/priv/manifests/",
	"/v2/acme/priv/blobs/",
}

func TestHostilePaths(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		admin := e.as("admin", "adminpass1")
		e.createOrg("acme")
		admin.pushImage("acme/priv", "latest", "x")
		must(t, "login", admin.login("repository:acme/priv:pull,push,delete"), http.StatusOK)
		methods := []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"}
		for _, tc := range []struct {
			paths []string
			code  string
		}{{hostileNames, "NAME_INVALID"}, {otherHostile, ""}} {
			for _, path := range tc.paths {
				for _, m := range methods {
					for _, tok := range []string{"", admin.token} {
						r := e.send(m, path, []byte(`{"schemaVersion":2}`), tok)
						label := m + " " + truncate(path) + map[bool]string{true: " (token)", false: ""}[tok != ""]
						if r.Status < 400 || r.Status >= 500 {
							t.Errorf("%s: %d, want 4xx; body %s", label, r.Status, r.Body)
							continue
						}
						if tc.code != "" && m != "HEAD" && r.Code() != tc.code {
							t.Errorf("%s: %d %q, want %s", label, r.Status, r.Code(), tc.code)
						}
					}
				}
			}
		}
		t.Run("nothing was created", func(t *testing.T) {
			admin := e.as("admin", "adminpass1")
			admin.login("registry:catalog:*")
			r := admin.do("GET", "/v2/_catalog", nil)
			must(t, "catalog", r, http.StatusOK)
			if got := strings.TrimSpace(string(r.Body)); got != `{"repositories":["acme/priv"]}` {
				t.Fatalf("catalog %s, want only acme/priv", got)
			}
		})
		t.Run("hostile scopes at the token endpoint", func(t *testing.T) {
			for _, scope := range []string{"repository:../../etc:pull", "repository:acme/%2e%2e:pull", "repository:acme/../acme/priv:pull,push",
				"repository:ACME/PRIV:pull", "repository:acme//priv:pull", "repository::pull", "repository", ":::::", "repository:acme/priv:",
				"registry:catalog:*,push", strings.Repeat("repository:a/b:pull ", 500)} {
				c := e.as("admin", "adminpass1")
				q := url.Values{"service": {e.host}, "scope": {scope}}
				req, _ := http.NewRequest("GET", e.srv.URL+"/v2/auth?"+q.Encode(), nil)
				req.SetBasicAuth(c.user, c.pass)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var body struct{ Token string }
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("scope %q: %d, want 200 with what may be granted", truncate(scope), resp.StatusCode)
					continue
				}
				for _, a := range access(t, body.Token) {
					if n, _ := a["name"].(string); a["type"] == "repository" && n != "acme/priv" && n != "a/b" {
						t.Errorf("scope %q granted %v", truncate(scope), a)
					}
				}
			}
		})
	})
}

func truncate(s string) string {
	if len(s) > 70 {
		return s[:70] + "…"
	}
	return s
}

// badDigests are malformed or unsupported digests, each safe in a URL path.
var badDigests = []string{
	"sha256:abc",
	"sha256:" + strings.Repeat("a", 63),
	"sha256:" + strings.Repeat("a", 65),
	"sha256:" + strings.Repeat("A", 64),
	"sha256:" + strings.Repeat("g", 64),
	"sha512:" + strings.Repeat("a", 64),
	"sha384:" + strings.Repeat("a", 96),
	"md5:" + strings.Repeat("a", 32),
	"SHA256:" + strings.Repeat("a", 64),
	":" + strings.Repeat("a", 64),
	"sha256:",
	"sha256:%2e%2e",
	"sha256:" + strings.Repeat("a", 64) + "%0a",
}

func TestInvalidDigests(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		const name = "/v2/alice/app"
		body, _ := alice.pushImage("alice/app", "latest", "x")
		config := []byte(`{"architecture":"amd64","os":"linux","seed":"x"}`)
		cfg, lay := blobDesc(mtOCIConfig, config), blobDesc(mtOCILayer, []byte("layer of x"))
		positions := []struct {
			name string
			send func(d string) *response
			code string
		}{
			{"blob GET", func(d string) *response { return alice.do("GET", name+"/blobs/"+d, nil) }, "DIGEST_INVALID"},
			{"blob HEAD", func(d string) *response { return alice.do("HEAD", name+"/blobs/"+d, nil) }, ""},
			{"blob DELETE", func(d string) *response { return alice.do("DELETE", name+"/blobs/"+d, nil) }, "DIGEST_INVALID"},
			{"monolithic POST ?digest", func(d string) *response {
				return alice.do("POST", name+"/blobs/uploads/?digest="+d, []byte("data"))
			}, "DIGEST_INVALID"},
			{"PUT ?digest", func(d string) *response {
				r := alice.do("POST", name+"/blobs/uploads/", nil)
				return alice.do("PUT", withQuery(r.Header.Get("Location"), "digest="+d), []byte("data"))
			}, "DIGEST_INVALID"},
			{"POST ?mount", func(d string) *response {
				return alice.do("POST", name+"/blobs/uploads/?mount="+d+"&from=alice/app", nil)
			}, "DIGEST_INVALID"},
			{"manifest GET", func(d string) *response { return alice.do("GET", name+"/manifests/"+d, nil) }, "DIGEST_INVALID"},
			{"manifest HEAD", func(d string) *response { return alice.do("HEAD", name+"/manifests/"+d, nil) }, ""},
			{"manifest DELETE", func(d string) *response { return alice.do("DELETE", name+"/manifests/"+d, nil) }, "DIGEST_INVALID"},
			{"manifest PUT", func(d string) *response {
				return alice.do("PUT", name+"/manifests/"+d, body, "Content-Type", mtOCIManifest)
			}, ""},
			{"referrers", func(d string) *response { return alice.do("GET", name+"/referrers/"+d, nil) }, "DIGEST_INVALID"},
			{"config descriptor", func(d string) *response {
				m := manifestJSON(mtOCIManifest, desc{MediaType: mtOCIConfig, Digest: d, Size: 1}, []desc{lay}, nil)
				return alice.do("PUT", name+"/manifests/bad", m, "Content-Type", mtOCIManifest)
			}, "MANIFEST_INVALID"},
			{"layer descriptor", func(d string) *response {
				m := manifestJSON(mtOCIManifest, cfg, []desc{{MediaType: mtOCILayer, Digest: d, Size: 1}}, nil)
				return alice.do("PUT", name+"/manifests/bad", m, "Content-Type", mtOCIManifest)
			}, "MANIFEST_INVALID"},
			{"index child", func(d string) *response {
				return alice.do("PUT", name+"/manifests/bad", indexJSON(desc{MediaType: mtOCIManifest, Digest: d, Size: 1}), "Content-Type", mtOCIIndex)
			}, "MANIFEST_INVALID"},
			{"subject", func(d string) *response {
				m := manifestJSON(mtOCIManifest, cfg, []desc{lay}, map[string]any{"subject": desc{MediaType: mtOCIManifest, Digest: d, Size: 1}})
				return alice.do("PUT", name+"/manifests/bad", m, "Content-Type", mtOCIManifest)
			}, "MANIFEST_INVALID"},
		}
		for _, p := range positions {
			t.Run(p.name, func(t *testing.T) {
				for _, d := range badDigests {
					if strings.HasPrefix(p.name, "config") || strings.HasPrefix(p.name, "layer") || strings.HasPrefix(p.name, "index") || p.name == "subject" {
						// In JSON the digest is a string, not a path: unescape.
						d, _ = url.PathUnescape(d)
					}
					r := p.send(d)
					if r.Status != http.StatusBadRequest || (p.code != "" && r.Code() != p.code) {
						t.Errorf("%s %q: %d %q, want 400 %s", p.name, truncate(d), r.Status, r.Code(), p.code)
					}
				}
			})
		}
		t.Run("PUT without a digest", func(t *testing.T) {
			r := alice.do("POST", name+"/blobs/uploads/", nil)
			mustErr(t, "PUT", alice.do("PUT", r.Header.Get("Location"), []byte("data")), http.StatusBadRequest, "DIGEST_INVALID")
		})
		t.Run("nothing became visible", func(t *testing.T) {
			if files := e.storedFiles("uploads"); len(files) != 0 {
				t.Errorf("upload data left behind: %v", files)
			}
			if r := alice.do("GET", name+"/manifests/bad", nil); r.Status != http.StatusNotFound {
				t.Errorf("manifest tag bad: %d, want 404", r.Status)
			}
		})
	})
}
