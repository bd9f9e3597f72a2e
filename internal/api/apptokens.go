package api

import (
	"net/http"
	"time"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// appTokens serves the caller's own app-specific tokens (/api/v1/user/apptoken).
// Every user, superusers included, sees and revokes only their own; the
// registry accepts them as "$app" (package auth).
type appTokens struct {
	tokens *identity.AppTokens
}

// appTokenView is Quay's token view; TokenCode only in the answer that
// creates the token: wharf keeps only a hash of it, so unlike Quay's
// single-token GET it cannot show it again.
type appTokenView struct {
	Created      string  `json:"created"`
	Expiration   *string `json:"expiration"`
	LastAccessed *string `json:"last_accessed"`
	Title        string  `json:"title"`
	TokenCode    string  `json:"token_code,omitempty"`
	UUID         string  `json:"uuid"`
}

func viewAppToken(t *wharf.AppToken) appTokenView {
	date := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := formatDate(t)
		return &s
	}
	return appTokenView{Created: formatDate(t.CreatedAt), Expiration: date(t.ExpiresAt), LastAccessed: date(t.LastAccessed),
		Title: t.Title, UUID: t.UUID}
}

// listAppTokens serves GET /api/v1/user/apptoken[?expiring=…].
func (h *appTokens) listAppTokens(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	expiring := queryBool(r, "expiring", false)
	var onlyExpiring any // null unless the parameter is given, as Quay echoes it
	if r.URL.Query().Has("expiring") {
		onlyExpiring = expiring
	}
	tokens, err := h.tokens.List(r.Context(), c.Account, expiring)
	if err != nil {
		return err
	}
	views := make([]appTokenView, len(tokens))
	for i, t := range tokens {
		views[i] = viewAppToken(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": views, "only_expiring": onlyExpiring})
	return nil
}

type createAppTokenRequest struct {
	Title *string `json:"title"`
}

// createAppToken serves POST /api/v1/user/apptoken: 200 with the token and
// its code, shown this once.
func (h *appTokens) createAppToken(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var req createAppTokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Title, "title"); err != nil {
		return err
	}
	code, tok, err := h.tokens.Create(r.Context(), c, *req.Title)
	if err != nil {
		return err
	}
	v := viewAppToken(tok)
	v.TokenCode = code
	writeJSON(w, http.StatusOK, map[string]any{"token": v})
	return nil
}

// getAppToken serves GET /api/v1/user/apptoken/{token_uuid}: the caller's
// unexpired token, without its code; 404 otherwise.
func (h *appTokens) getAppToken(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	tok, err := h.tokens.Get(r.Context(), c.Account, r.PathValue("token_uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": viewAppToken(tok)})
	return nil
}

// revokeAppToken serves DELETE /api/v1/user/apptoken/{token_uuid}: 204,
// or 404 when the caller has no such token.
func (h *appTokens) revokeAppToken(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	if _, err := h.tokens.Revoke(r.Context(), c, r.PathValue("token_uuid")); err != nil {
		return err
	}
	writeEmpty(w, http.StatusNoContent)
	return nil
}
