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

// pushBlob uploads size bytes to repo (namespace/name) as user, in one
// monolithic upload, and returns the upload's status.
func (s *site) pushBlob(user, password, repo string, size int) int {
	s.t.Helper()
	host := strings.TrimPrefix(s.url, "http://")
	req, _ := http.NewRequest("GET", s.url+"/v2/auth?service="+url.QueryEscape(host)+"&scope=repository:"+repo+":push,pull", nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tok.Token == "" {
		s.t.Fatalf("/v2/auth for %s: %d", user, resp.StatusCode)
	}
	body := bytes.Repeat([]byte("w"), size)
	sum := sha256.Sum256(body)
	req, _ = http.NewRequest("POST", s.url+"/v2/"+repo+"/blobs/uploads/?digest=sha256:"+hex.EncodeToString(sum[:]), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
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
