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

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is what authentication reads and writes.
type Store interface {
	// AccessTokenByName and SessionByHash return NotFound.
	AccessTokenByName(ctx context.Context, name string) (*wharf.AccessToken, *wharf.Account, error)
	SessionByHash(ctx context.Context, hash []byte) (*wharf.Session, *wharf.Account, error)
	CreateSession(ctx context.Context, s *wharf.Session, entries ...wharf.LogEntry) error
}

// Principal is an authenticated caller.
type Principal struct {
	Account *wharf.Account
	Token   *wharf.AccessToken // set when authenticated by an OAuth token
	Session *wharf.Session     // set when authenticated by a session cookie
	scopes  Scopes
}

// HasScope reports whether the credential allows want. Sessions act with
// every scope, as Quay's direct login does.
func (p *Principal) HasScope(want Scope) bool {
	return p.Session != nil || p.scopes.Has(want)
}

// Actor returns the principal as the audit log records it.
func (p *Principal) Actor(ip string) wharf.Actor {
	if p == nil {
		return wharf.Actor{IP: ip}
	}
	return wharf.Actor{Account: p.Account, Token: p.Token, IP: ip}
}

// CookieName is the session cookie's name; Quay calls its session cookie this too.
const CookieName = "_csrf_token"

// Authenticator resolves credentials and mints sessions.
type Authenticator struct {
	store        Store
	key          []byte // signs anonymous CSRF cookies
	sessionTTL   time.Duration
	secureCookie bool
	now          func() time.Time
}

// New returns an Authenticator. secret keys the anonymous CSRF cookies;
// secureCookie marks cookies Secure (PREFERRED_URL_SCHEME https).
func New(store Store, secret []byte, sessionTTL time.Duration, secureCookie bool, now func() time.Time) *Authenticator {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("wharf csrf cookie v1"))
	return &Authenticator{store: store, key: mac.Sum(nil), sessionTTL: sessionTTL, secureCookie: secureCookie, now: now}
}

// Authenticate returns the request's principal, or nil when it carries no
// valid credential. As in Quay, an Authorization: Bearer header is the only
// credential looked at when present; otherwise the session cookie is. A bad
// credential is not an error: the call proceeds unauthenticated. Disabled
// accounts and organizations never authenticate. The error is for faults.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		parts := strings.Fields(h)
		if len(parts) == 2 && strings.EqualFold(parts[0], "bearer") {
			return a.fromToken(r.Context(), parts[1])
		}
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil, nil
	}
	raw, ok := strings.CutPrefix(c.Value, "s.")
	if !ok {
		return nil, nil
	}
	sess, acct, err := a.store.SessionByHash(r.Context(), hashValue(raw))
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !usable(acct) {
		return nil, nil
	}
	return &Principal{Account: acct, Session: sess}, nil
}

func (a *Authenticator) fromToken(ctx context.Context, token string) (*Principal, error) {
	name, secret, ok := identity.SplitToken(token)
	if !ok {
		return nil, nil
	}
	tok, acct, err := a.store.AccessTokenByName(ctx, name)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !identity.TokenSecretMatches(tok.SecretHash, secret) || !tok.ExpiresAt.After(a.now()) || !usable(acct) {
		return nil, nil
	}
	return &Principal{Account: acct, Token: tok, scopes: ParseScopes(tok.Scope)}, nil
}

func usable(a *wharf.Account) bool { return a.Enabled && a.Kind == wharf.KindUser }

func hashValue(v string) []byte {
	sum := sha256.Sum256([]byte(v))
	return sum[:]
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Login starts a session for acct and returns the cookie to set and the
// session's CSRF token (Quay's X-Next-CSRF-Token).
func (a *Authenticator) Login(ctx context.Context, acct *wharf.Account, entries ...wharf.LogEntry) (*http.Cookie, string, error) {
	raw := randomToken()
	now := a.now()
	sess := &wharf.Session{Hash: hashValue(raw), AccountID: acct.ID, CSRFToken: randomToken(), LoginAt: now, ExpiresAt: now.Add(a.sessionTTL)}
	if err := a.store.CreateSession(ctx, sess, entries...); err != nil {
		return nil, "", err
	}
	return a.cookie("s."+raw, sess.ExpiresAt), sess.CSRFToken, nil
}

// ClearCookie returns a cookie that removes the session cookie.
func (a *Authenticator) ClearCookie() *http.Cookie {
	c := a.cookie("", time.Unix(0, 0))
	c.MaxAge = -1
	return c
}

func (a *Authenticator) cookie(value string, expires time.Time) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: "/", Expires: expires, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: a.secureCookie}
}

// CSRFToken returns the token a browser-style client must echo in
// X-CSRF-Token: the session's own, or for an anonymous caller a fresh one
// carried in a signed cookie (set when cookie is non-nil), which signin checks.
func (a *Authenticator) CSRFToken(r *http.Request, p *Principal) (string, *http.Cookie) {
	if p != nil && p.Session != nil {
		return p.Session.CSRFToken, nil
	}
	if c, err := r.Cookie(CookieName); err == nil {
		if tok, ok := a.anonymousToken(c.Value); ok {
			return tok, nil
		}
	}
	tok := randomToken()
	return tok, a.cookie("a."+tok+"."+a.sign(tok), a.now().Add(a.sessionTTL))
}

func (a *Authenticator) sign(tok string) string {
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (a *Authenticator) anonymousToken(value string) (string, bool) {
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
func (a *Authenticator) CheckCSRF(r *http.Request, p *Principal) bool {
	var want string
	if p != nil && p.Session != nil {
		want = p.Session.CSRFToken
	} else if c, err := r.Cookie(CookieName); err == nil {
		want, _ = a.anonymousToken(c.Value)
	}
	got := submittedCSRF(r)
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// AuthenticateToken resolves an OAuth access token alone (as the registry's
// token endpoint receives it with the user name "$oauthtoken"). nil when
// the token is not valid.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*Principal, error) {
	return a.fromToken(ctx, token)
}
