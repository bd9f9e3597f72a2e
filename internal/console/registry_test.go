package console_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// registryToken gets a push-and-pull token for repo as user.
func (s *site) registryToken(user, password, repo string) string {
	s.t.Helper()
	host := strings.TrimPrefix(s.url, "http://")
	req, _ := http.NewRequest("GET", s.url+"/v2/auth?service="+url.QueryEscape(host)+"&scope=repository:"+repo+":push,pull", nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != http.StatusOK || tok.Token == "" {
		s.t.Fatalf("/v2/auth for %s: %d", user, resp.StatusCode)
	}
	return tok.Token
}

// upload sends body to repo as one monolithic upload and returns the
// status and the digest.
func (s *site) upload(token, repo string, body []byte) (int, string) {
	s.t.Helper()
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	req, _ := http.NewRequest("POST", s.url+"/v2/"+repo+"/blobs/uploads/?digest="+digest, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, digest
}

// pushBlob uploads size bytes to repo (namespace/name) as user, in one
// monolithic upload, and returns the upload's status.
func (s *site) pushBlob(user, password, repo string, size int) int {
	s.t.Helper()
	status, _ := s.upload(s.registryToken(user, password, repo), repo, bytes.Repeat([]byte("w"), size))
	return status
}

// pushImage pushes a one-layer image (the layer made from seed) to
// repo:tag as user and returns the manifest's digest.
func (s *site) pushImage(user, password, repo, tag, seed string) string {
	s.t.Helper()
	token := s.registryToken(user, password, repo)
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}`)
	layer := bytes.Repeat([]byte(seed), 4096)
	if status, _ := s.upload(token, repo, config); status != http.StatusCreated {
		s.t.Fatalf("config upload: %d", status)
	}
	_, configDigest := s.upload(token, repo, config)
	status, layerDigest := s.upload(token, repo, layer)
	if status != http.StatusCreated {
		s.t.Fatalf("layer upload: %d", status)
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest, "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerDigest, "size": len(layer)}}})
	req, _ := http.NewRequest("PUT", s.url+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(manifest))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("manifest PUT: %d", resp.StatusCode)
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// failLogin makes one failed browser-style login as name, which the usage
// logs record with the name as typed.
func (s *site) failLogin(name string) {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(s.url + "/csrf_token")
	if err != nil {
		s.t.Fatal(err)
	}
	var tok struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	b, _ := json.Marshal(map[string]string{"username": name, "password": "wrong-password"})
	req, _ := http.NewRequest("POST", s.url+"/api/v1/signin", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", tok.CSRF)
	resp, err = c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		s.t.Fatalf("failed login: %d", resp.StatusCode)
	}
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signJWT signs claims with key as an RS256 JWT naming kid.
func signJWT(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	h, _ := json.Marshal(map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid})
	p, _ := json.Marshal(claims)
	signed := b64url(h) + "." + b64url(p)
	sum := sha256.Sum256([]byte(signed))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	return signed + "." + b64url(sig)
}

// serviceClaims are a service's claims for this site, valid for 5 minutes.
func (s *site) serviceClaims(service string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": service, "aud": s.url, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
}

// publishKey publishes a new key of service through the key server, where
// it waits for a superuser's approval; it returns the private key.
func (s *site) publishKey(service, kid string) *rsa.PrivateKey {
	s.t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		s.t.Fatal(err)
	}
	jwk, _ := json.Marshal(map[string]any{"kty": "RSA", "n": b64url(key.N.Bytes()), "e": b64url(big.NewInt(int64(key.E)).Bytes())})
	req, _ := http.NewRequest("PUT", s.url+"/keys/services/"+service+"/keys/"+kid, bytes.NewReader(jwk))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+signJWT(key, kid, s.serviceClaims(service)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("publish key: %d", resp.StatusCode)
	}
	return key
}
