package api

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// sessions serves logging in and out (with the CSRF token that guards it),
// the first-user bootstrap and the OAuth implicit grant.
type sessions struct {
	auth         *auth.Service
	identity     *identity.Service
	applications *identity.Applications
	store        sessionStore
	site         site
	now          func() time.Time
	// secretKey keys the encrypted_password values Quay returns.
	secretKey string
	// bootstrapSecret, when set, must accompany /api/v1/user/initialize.
	bootstrapSecret string
}

// sessionStore is what logging in and out and the implicit grant read and
// write directly.
type sessionStore interface {
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
	AccountByID(ctx context.Context, id int64) (*wharf.Account, error)
	ApplicationByClientID(ctx context.Context, clientID string) (*wharf.Application, error)
	AppendLogs(ctx context.Context, entries ...wharf.LogEntry) error
	DeleteSession(ctx context.Context, id int64, entries ...wharf.LogEntry) error
	RefreshSessionLogin(ctx context.Context, id int64, at time.Time) error
}

// getCSRFToken serves GET /csrf_token, the first step of a browser-style
// login: the token to echo in X-CSRF-Token (and a signed cookie that binds
// it for anonymous callers).
func (h *sessions) getCSRFToken(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	tok, cookie := h.auth.CSRFToken(r, c)
	if cookie != nil {
		http.SetCookie(w, cookie)
	}
	writeJSON(w, http.StatusOK, map[string]string{"csrf_token": tok})
	return nil
}

type signinRequest struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

// signin serves POST /api/v1/signin. Like Quay it needs the CSRF token of
// the caller's cookie, so a third-party page cannot log a browser in;
// bearer-token callers, as everywhere, need none.
func (h *sessions) signin(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	bearer := c.Token != nil
	if !bearer && !h.auth.CheckCSRF(r, c) {
		return wharf.Errorf(wharf.Forbidden, "CSRF token was invalid or missing.")
	}
	var req signinRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Username, "username"); err != nil {
		return err
	}
	if err := required(req.Password, "password"); err != nil {
		return err
	}
	user, err := h.auth.Login(r.Context(), auth.Credential{Kind: auth.Password, Username: *req.Username, Secret: *req.Password, IP: c.IP})
	if wharf.IsCode(err, wharf.Unauthenticated) {
		failure := c.Entry("login_failure", nil, map[string]any{"type": "quayauth", "username": *req.Username,
			"useragent": r.UserAgent(), "message": "Invalid username or password"})
		if acct, err := h.store.AccountByName(r.Context(), *req.Username); err == nil {
			failure.Account = wharf.PartyOf(acct)
		}
		if err := h.store.AppendLogs(r.Context(), failure); err != nil {
			return err
		}
		return wharf.Errorf(wharf.Forbidden, "Invalid username or password")
	}
	if err != nil {
		return err
	}
	cookie, csrf, err := h.auth.StartSession(r.Context(), user.Account, user.Entry("login_success", user.Account,
		map[string]any{"type": "quayauth", "useragent": r.UserAgent()}))
	if err != nil {
		return err
	}
	http.SetCookie(w, cookie)
	w.Header().Set("X-Next-CSRF-Token", csrf)
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

type verifyRequest struct {
	Password *string `json:"password"`
}

// verifySignin serves POST /api/v1/signin/verify: a password check that
// makes the session fresh again for the calls that need a fresh login.
func (h *sessions) verifySignin(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	if c.Session == nil {
		return wharf.Errorf(wharf.Invalid, "Fresh login verification needs a session login")
	}
	var req verifyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Password, "password"); err != nil {
		return err
	}
	if _, err := h.auth.Login(r.Context(), auth.Credential{Kind: auth.Password, Username: c.Account.Name, Secret: *req.Password, IP: c.IP}); err != nil {
		if wharf.IsCode(err, wharf.Unauthenticated) {
			return wharf.Errorf(wharf.Forbidden, "Invalid username or password")
		}
		return err
	}
	if err := h.store.RefreshSessionLogin(r.Context(), c.Session.ID, h.now()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// signout serves POST /api/v1/signout: the session ends and its cookie is cleared.
func (h *sessions) signout(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	if c.Session != nil {
		if err := h.store.DeleteSession(r.Context(), c.Session.ID,
			c.Entry("logout_success", c.Account, map[string]any{"type": "quayauth"})); err != nil {
			return err
		}
	}
	http.SetCookie(w, h.auth.ClearCookie())
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

type initializeRequest struct {
	Username    *string `json:"username"`
	Password    *string `json:"password"`
	Email       *string `json:"email"`
	AccessToken any     `json:"access_token"`
}

// initializeTokenLifetime is how long the token minted by /user/initialize
// lives, as in Quay (2.5 hours): long enough to configure the instance.
const initializeTokenLifetime = 9000 * time.Second

// BootstrapSecretHeader carries BOOTSTRAP_SECRET when one is configured.
const BootstrapSecretHeader = "X-Wharf-Bootstrap-Secret"

// initialize serves POST /api/v1/user/initialize: the first user of an empty
// instance, who becomes its superuser; it is logged in and, on request,
// given an access token with every scope. With BOOTSTRAP_SECRET configured
// the caller must also present it, so that nobody else can win the race to
// an empty instance.
func (h *sessions) initialize(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	if want := h.bootstrapSecret; want != "" &&
		subtle.ConstantTimeCompare([]byte(want), []byte(r.Header.Get(BootstrapSecretHeader))) != 1 {
		return wharf.Errorf(wharf.Forbidden, "Initializing this instance requires the bootstrap secret in the %s header", BootstrapSecretHeader)
	}
	var req initializeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if done, err := h.identity.Initialized(r.Context()); err != nil {
		return err
	} else if done {
		return wharf.Errorf(wharf.Invalid, "Cannot initialize user in a non-empty database")
	}
	if err := required(req.Username, "username"); err != nil {
		return err
	}
	if err := required(req.Password, "password"); err != nil {
		return err
	}
	email := ""
	if req.Email != nil {
		email = *req.Email
	}
	user, err := h.identity.Initialize(r.Context(), *req.Username, *req.Password, email, c.IP)
	if err != nil {
		return err
	}
	actor := &wharf.Caller{Account: user, IP: c.IP}
	cookie, csrf, err := h.auth.StartSession(r.Context(), user, actor.Entry("login_success", user, map[string]any{"type": "quayauth", "useragent": r.UserAgent()}))
	if err != nil {
		return err
	}
	resp := map[string]any{"username": user.Name, "email": nullable(email),
		"encrypted_password": identity.EncryptPassword(h.secretKey, *req.Password)}
	if truthy(req.AccessToken) {
		app, err := h.applications.CreateAutomation(r.Context(), actor, user)
		if err != nil {
			return err
		}
		token, _, err := h.applications.IssueToken(r.Context(), actor, app, user, user,
			wharf.Scopes(wharf.AllScopes).String(), initializeTokenLifetime, h.now())
		if err != nil {
			return err
		}
		resp["access_token"] = token
	}
	http.SetCookie(w, cookie)
	w.Header().Set("X-Next-CSRF-Token", csrf)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// truthy applies Python truthiness to a JSON value, as Quay tests access_token.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case float64:
		return t != 0
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}

// oauthTokenLifetime is the lifetime of implicit-grant tokens: Quay's 10 years.
const oauthTokenLifetime = time.Duration(315576000) * time.Second

// authorizeApp serves POST /oauth/authorizeapp, the OAuth implicit grant a
// signed-in user (session + CSRF) uses to mint a token for an application:
// 302 to redirect_uri#access_token=…&token_type=Bearer&expires_in=….
func (h *sessions) authorizeApp(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	if c.Session == nil {
		return wharf.Errorf(wharf.Forbidden, "Authorizing an application requires a signed-in session")
	}
	if err := r.ParseForm(); err != nil {
		return wharf.Errorf(wharf.Invalid, "Invalid form body")
	}
	if rt := r.PostForm.Get("response_type"); rt != "token" {
		return wharf.Errorf(wharf.Invalid, "unsupported_response_type: only response_type=token (implicit grant) is supported")
	}
	app, err := h.store.ApplicationByClientID(r.Context(), r.PostForm.Get("client_id"))
	if wharf.IsCode(err, wharf.NotFound) {
		return wharf.Errorf(wharf.Invalid, "unauthorized_client: unknown client_id")
	}
	if err != nil {
		return err
	}
	redirect := r.PostForm.Get("redirect_uri")
	if !h.validRedirect(r, app, redirect) {
		return wharf.Errorf(wharf.Invalid, "invalid redirect_uri: it must be %s/oauth/localapp or lie under the application's redirect URI", h.site.baseURL(r))
	}
	scopeText := r.PostForm.Get("scope")
	scopes := wharf.ParseScopes(scopeText)
	if len(scopes) == 0 {
		return wharf.Errorf(wharf.Invalid, "invalid_scope: %q", scopeText)
	}
	owner, err := h.store.AccountByID(r.Context(), app.OrgID)
	if err != nil {
		return err
	}
	token, _, err := h.applications.IssueToken(r.Context(), c, app, owner, c.Account, scopes.String(), oauthTokenLifetime, h.now())
	if err != nil {
		return err
	}
	target := redirect + "#access_token=" + token + "&token_type=Bearer&expires_in=" + strconv.FormatInt(int64(oauthTokenLifetime/time.Second), 10)
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
	return nil
}

// validRedirect reports whether the implicit grant may send a token to
// redirect: this instance's /oauth/localapp, or a URL under app's registered
// redirect URI by origin and path, never by text prefix (see auth.RedirectUnder).
func (h *sessions) validRedirect(r *http.Request, app *wharf.Application, redirect string) bool {
	u, ok := auth.ParseRedirect(redirect)
	if !ok {
		return false
	}
	if u.Path == "/oauth/localapp" && (u.Host == r.Host || u.Host == h.site.hostname) && (u.Scheme == "http" || u.Scheme == "https") {
		return true
	}
	return auth.RedirectUnder(u, app.RedirectURI)
}

// localApp serves GET /oauth/localapp, where the implicit grant lands when
// no application page is involved: the token is in the URL fragment.
func (h *sessions) localApp(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte("<!doctype html><title>wharf</title><p>The access token is in this page's URL, after <code>#access_token=</code>.</p>\n"))
	return nil
}
