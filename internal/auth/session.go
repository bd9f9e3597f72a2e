package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

func hashValue(v string) []byte {
	sum := sha256.Sum256([]byte(v))
	return sum[:]
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// StartSession starts a session for acct and returns the cookie to set and
// the session's CSRF token (Quay's X-Next-CSRF-Token).
func (a *Service) StartSession(ctx context.Context, acct *wharf.Account, entries ...wharf.LogEntry) (*http.Cookie, string, error) {
	raw := randomToken()
	now := a.now()
	sess := &wharf.Session{Hash: hashValue(raw), AccountID: acct.ID, CSRFToken: randomToken(), LoginAt: now, ExpiresAt: now.Add(a.sessionTTL)}
	if err := a.store.CreateSession(ctx, sess, entries...); err != nil {
		return nil, "", err
	}
	return a.cookie("s."+raw, sess.ExpiresAt), sess.CSRFToken, nil
}

// ClearCookie returns a cookie that removes the session cookie.
func (a *Service) ClearCookie() *http.Cookie {
	c := a.cookie("", time.Unix(0, 0))
	c.MaxAge = -1
	return c
}

func (a *Service) cookie(value string, expires time.Time) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: "/", Expires: expires, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: a.secureCookie}
}

// CSRFToken returns the token a browser-style client must echo in
// X-CSRF-Token: the session's own, or for an anonymous caller a fresh one
// carried in a signed cookie (set when cookie is non-nil), which signin checks.
func (a *Service) CSRFToken(r *http.Request, c *wharf.Caller) (string, *http.Cookie) {
	if c != nil && c.Session != nil {
		return c.Session.CSRFToken, nil
	}
	if c, err := r.Cookie(CookieName); err == nil {
		if tok, ok := a.anonymousToken(c.Value); ok {
			return tok, nil
		}
	}
	tok := randomToken()
	return tok, a.cookie("a."+tok+"."+a.sign(tok), a.now().Add(a.sessionTTL))
}

func (a *Service) sign(tok string) string {
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (a *Service) anonymousToken(value string) (string, bool) {
	rest, ok := strings.CutPrefix(value, "a.")
	if !ok {
		return "", false
	}
	tok, sig, ok := strings.Cut(rest, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(a.sign(tok))) {
		return "", false
	}
	return tok, true
}

// submittedCSRF is the token the client sent: X-CSRF-Token, or the
// _csrf_token form or query value.
func submittedCSRF(r *http.Request) string {
	if h := r.Header.Get("X-CSRF-Token"); h != "" {
		return h
	}
	return r.FormValue("_csrf_token")
}

// CheckCSRF reports whether a mutating request carries the CSRF token its
// session (or, for an anonymous caller, its signed cookie) expects.
func (a *Service) CheckCSRF(r *http.Request, c *wharf.Caller) bool {
	var want string
	if c != nil && c.Session != nil {
		want = c.Session.CSRFToken
	} else if c, err := r.Cookie(CookieName); err == nil {
		want, _ = a.anonymousToken(c.Value)
	}
	got := submittedCSRF(r)
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
