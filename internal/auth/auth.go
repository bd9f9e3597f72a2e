// Package auth is the one place credentials become a caller. Login takes
// every kind of credential wharf accepts — a user's password, a robot's
// token, an OAuth access token, an app-specific token, a build token, a
// session cookie — and
// returns the *wharf.Caller that every face and service then uses; what
// that caller may do is decided elsewhere (package access). It also mints
// sessions and CSRF tokens, and the registry's bearer tokens.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/throttle"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is what logins read and write.
type Store interface {
	// AccountByName, AccountByID, RobotByName, AccessTokenByName and
	// SessionByHash return NotFound.
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
	AccountByID(ctx context.Context, id int64) (*wharf.Account, error)
	RobotByName(ctx context.Context, name string) (*wharf.Robot, error)
	AccessTokenByName(ctx context.Context, name string) (*wharf.AccessToken, *wharf.Account, error)
	SessionByHash(ctx context.Context, hash []byte) (*wharf.Session, *wharf.Account, error)
	CreateSession(ctx context.Context, s *wharf.Session, entries ...wharf.LogEntry) error
	// AppTokenByName returns NotFound.
	AppTokenByName(ctx context.Context, name string) (*wharf.AppToken, *wharf.Account, error)
	// TouchAppToken records when an app token was last used.
	TouchAppToken(ctx context.Context, id int64, at time.Time) error
}

// BuildTokens verifies the credentials of build workers (package build).
type BuildTokens interface {
	// Verify returns Unauthenticated for a bad token or a finished build.
	Verify(ctx context.Context, token string) (*wharf.Build, error)
}

// Options configure a Service.
type Options struct {
	// Secret keys the anonymous CSRF cookies.
	Secret []byte
	// SessionTTL is how long a session lives.
	SessionTTL time.Duration
	// SecureCookie marks cookies Secure (PREFERRED_URL_SCHEME https).
	SecureCookie bool
	// BuildTokens admits build workers; nil refuses build tokens.
	BuildTokens BuildTokens
	// Throttle slows down guessing: failed logins make the next wait.
	Throttle *throttle.Limiter
	// Logins (may be nil) is told how every Login ended.
	Logins LoginObserver
	Now    func() time.Time
}

// LoginObserver is told of every Login (the process's metrics): the kind
// of credential and Login's error, nil for a success.
type LoginObserver interface {
	Login(kind string, err error)
}

// Service logs callers in and mints sessions.
type Service struct {
	store        Store
	key          []byte // signs anonymous CSRF cookies
	sessionTTL   time.Duration
	secureCookie bool
	builds       BuildTokens
	throttle     *throttle.Limiter
	logins       LoginObserver
	passwords    *passwordCache
	now          func() time.Time
}

// New returns a Service over store.
func New(store Store, o Options) *Service {
	mac := hmac.New(sha256.New, o.Secret)
	mac.Write([]byte("wharf csrf cookie v1"))
	return &Service{store: store, key: mac.Sum(nil), sessionTTL: o.SessionTTL, secureCookie: o.SecureCookie,
		builds: o.BuildTokens, throttle: o.Throttle, logins: o.Logins, passwords: newPasswordCache(5 * time.Minute), now: o.Now}
}

// CookieName is the session cookie's name; Quay calls its session cookie this too.
const CookieName = "_csrf_token"

// Authenticate returns the caller of an API request: as in Quay, an
// Authorization: Bearer header (an OAuth token) is the only credential
// looked at when present; otherwise the session cookie is. A missing or bad
// credential is not an error: the call proceeds anonymously. The error is
// for faults.
func (s *Service) Authenticate(r *http.Request) (*wharf.Caller, error) {
	ip := ClientIP(r)
	cred := Credential{IP: ip}
	if h := r.Header.Get("Authorization"); h != "" {
		parts := strings.Fields(h)
		if len(parts) == 2 && strings.EqualFold(parts[0], "bearer") {
			cred.Kind, cred.Secret = OAuthToken, parts[1]
		}
	}
	if cred.Kind == "" {
		c, err := r.Cookie(CookieName)
		if err != nil {
			return wharf.Anonymous(ip), nil
		}
		raw, ok := strings.CutPrefix(c.Value, "s.")
		if !ok {
			return wharf.Anonymous(ip), nil
		}
		cred.Kind, cred.Secret = SessionCookie, raw
	}
	caller, err := s.check(r.Context(), cred)
	if wharf.IsCode(err, wharf.Unauthenticated) || wharf.IsCode(err, wharf.Forbidden) {
		return wharf.Anonymous(ip), nil
	}
	return caller, err
}

// ClientIP is the caller's address. Without a configured trusted proxy list
// X-Forwarded-For cannot be trusted, so the socket's peer is used.
func ClientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
