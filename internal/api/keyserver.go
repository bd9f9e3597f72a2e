package api

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// The key server (Quay's /keys blueprint): services publish, rotate and
// withdraw their public keys, and anybody reads the approved ones. Callers
// authenticate with a JWT signed by the key in question (or an approved key
// of the same service), never with a wharf account. Errors use the one
// /api/v1 error body.

// bearerJWT is Quay's TOKEN_REGEX: "Bearer " and a compact JWS.
var bearerJWT = regexp.MustCompile(`\ABearer (([a-zA-Z0-9+\-_/]+\.)+[a-zA-Z0-9+\-_/]+)\z`)

func bearerToken(r *http.Request) (string, error) {
	m := bearerJWT.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "", wharf.Errorf(wharf.Invalid, "A JWT is required: Authorization: Bearer <jwt>")
	}
	return m[1], nil
}

// listPublishedKeys serves GET /keys/services/{service}/keys: the JWKS of
// the service's approved, unexpired keys.
func (h *serviceKeys) listPublishedKeys(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	keys, err := h.serviceKeys.PublishedKeys(r.Context(), r.PathValue("service"))
	if err != nil {
		return err
	}
	jwks := make([]map[string]any, len(keys))
	for i, k := range keys {
		jwks[i] = k.JWK // stored with its kid (servicekey.PublicJWK)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": jwks})
	return nil
}

// getPublishedKey serves GET /keys/services/{service}/keys/{kid}: the JWK,
// cacheable until the key expires (a day at most); 409 while it awaits
// approval, 403 once it has expired.
func (h *serviceKeys) getPublishedKey(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	k, err := h.serviceKeys.PublishedKey(r.Context(), r.PathValue("service"), r.PathValue("kid"))
	if err != nil {
		return err
	}
	maxAge := 24 * time.Hour
	if k.ExpiresAt != nil {
		maxAge = max(0, min(maxAge, k.ExpiresAt.Sub(h.now())))
	}
	w.Header().Set("Cache-Control", "max-age="+strconv.FormatInt(int64(maxAge/time.Second), 10))
	writeJSON(w, http.StatusOK, k.JWK)
	return nil
}

// jwkRequest is the body of a key-server PUT: an RSA public JWK. Other
// members (a private exponent among them) are ignored and never stored.
type jwkRequest struct {
	Kty *string `json:"kty"`
	N   *string `json:"n"`
	E   *string `json:"e"`
}

// putPublishedKey serves PUT /keys/services/{service}/keys/{kid}?expiration=&rotation=:
// 202 for a self-signed key (now awaiting approval), 200 for a rotation,
// 429 with Retry-After past the caps on keys awaiting approval.
func (h *serviceKeys) putPublishedKey(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	sub := servicekey.Submission{Service: r.PathValue("service"), Kid: r.PathValue("kid"), Audience: h.site.baseURL(r),
		IP: c.IP, UserAgent: r.UserAgent(), JWK: map[string]any{}}
	q := r.URL.Query()
	if q.Has("expiration") {
		// No timestamp needs more than maxNumberLen characters.
		v := q.Get("expiration")
		seconds, err := strconv.ParseFloat(v, 64)
		if err != nil || len(v) > maxNumberLen {
			return wharf.Errorf(wharf.Invalid, "Invalid value for query parameter 'expiration': a Unix timestamp is required")
		}
		t, err := servicekey.ExpirationFromUnix(seconds)
		if err != nil {
			return err
		}
		sub.Expiration = &t
	}
	if q.Has("rotation") {
		seconds, err := strconv.ParseInt(q.Get("rotation"), 10, 64)
		if err != nil {
			return wharf.Errorf(wharf.Invalid, "Invalid value for query parameter 'rotation': a number of seconds is required")
		}
		sub.Rotation = &seconds
	}
	var jwk jwkRequest
	if err := decodeJSON(r, &jwk); err != nil {
		return err
	}
	for name, v := range map[string]*string{"kty": jwk.Kty, "n": jwk.N, "e": jwk.E} {
		if v != nil {
			sub.JWK[name] = *v
		}
	}
	token, err := bearerToken(r)
	if err != nil {
		return err
	}
	sub.Token = token
	// Past the caps on keys awaiting approval: 429 with Retry-After rather
	// than Quay-style 400/409, for the request is well formed and the kid
	// free; it is refused for now.
	rotated, err := h.serviceKeys.Submit(r.Context(), sub)
	if err != nil {
		return err
	}
	if rotated {
		writeEmpty(w, http.StatusOK)
	} else {
		writeEmpty(w, http.StatusAccepted)
	}
	return nil
}

// deletePublishedKey serves DELETE /keys/services/{service}/keys/{kid}: 204.
func (h *serviceKeys) deletePublishedKey(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	token, err := bearerToken(r)
	if err != nil {
		return err
	}
	if err := h.serviceKeys.Withdraw(r.Context(), r.PathValue("service"), r.PathValue("kid"), token, h.site.baseURL(r),
		c.IP, r.UserAgent()); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}
