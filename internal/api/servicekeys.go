package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// The superuser service-key endpoints (spec §2.6, 2.7, 2.18–2.21). Their
// bodies are serialized by Flask's jsonify in Quay: sorted keys (Go's maps
// marshal sorted too) and HTTP-date times in GMT.

// httpDate is the HTTP-date form jsonify gives datetimes: "Tue, 18 Feb 2025 19:28:15 GMT".
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// serviceKeyView is Quay's service key view (§1.9.5).
func (s *Server) serviceKeyView(ctx context.Context, k *wharf.ServiceKey) (map[string]any, error) {
	var expiration, rotation, approval any
	if k.ExpiresAt != nil {
		expiration = httpDate(*k.ExpiresAt)
	}
	if k.RotationDuration != nil {
		rotation = *k.RotationDuration
	}
	if a := k.Approval; a != nil {
		var approver any
		if a.Approver != nil {
			var err error
			if approver, err = s.superUserView(ctx, a.Approver); err != nil {
				return nil, err
			}
		}
		approval = map[string]any{"approval_type": a.Type.QuayName(), "approved_date": httpDate(a.ApprovedAt),
			"approver": approver, "notes": a.Notes}
	}
	metadata := k.Metadata
	if metadata == nil {
		metadata = map[string]any{}
	}
	return map[string]any{
		"approval":          approval,
		"created_date":      httpDate(k.CreatedAt),
		"expiration_date":   expiration,
		"jwk":               k.JWK,
		"kid":               k.Kid,
		"metadata":          metadata,
		"name":              k.Name,
		"rotation_duration": rotation,
		"service":           k.Service,
	}, nil
}

// writeSorted writes v as jsonify would: every object's keys sorted, nested
// ones (the approver's avatar block) included.
func writeSorted(w http.ResponseWriter, status int, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return wharf.Wrap(err, "encode response")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return wharf.Wrap(err, "encode response")
	}
	writeJSON(w, status, generic)
	return nil
}

// expirationField reads an "expiration" value: a number of Unix seconds
// or null (never expires).
func expirationField(raw json.RawMessage) (*time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if len(raw) == 0 || !(raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9')) {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid value for field 'expiration': expected a number or null, got %s", jsonKind(raw))
	}
	if len(raw) > maxNumberLen {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid expiration date: the number is longer than %d characters", maxNumberLen)
	}
	var seconds float64
	if err := json.Unmarshal(raw, &seconds); err != nil {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid expiration date: %s is out of range", raw)
	}
	t, err := servicekey.ExpirationFromUnix(seconds)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// jsonKind names the JSON type of a raw value for error messages.
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

type createServiceKeyRequest struct {
	Service    *string         `json:"service"`
	Name       *string         `json:"name"`
	Metadata   *map[string]any `json:"metadata"`
	Notes      *string         `json:"notes"`
	Expiration json.RawMessage `json:"expiration"`
}

// createServiceKey serves POST /api/v1/superuser/keys: 200 (not the
// documented 201) with the private key, which is never stored or shown again.
func (s *Server) createServiceKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var req createServiceKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Service, "service"); err != nil {
		return err
	}
	if req.Expiration == nil {
		return wharf.Errorf(wharf.Invalid, "'expiration' is a required property")
	}
	expiration, err := expirationField(req.Expiration)
	if err != nil {
		return err
	}
	nk := servicekey.NewKey{Service: *req.Service, Expiration: expiration}
	if req.Name != nil {
		nk.Name = *req.Name
	}
	if req.Metadata != nil {
		nk.Metadata = *req.Metadata
	}
	if req.Notes != nil {
		nk.Notes = *req.Notes
	}
	created, err := s.ServiceKeys.Create(r.Context(), c.actor, nk)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"kid": created.Key.Kid, "name": created.Key.Name, "service": created.Key.Service,
		"private_key": created.PrivateKeyPEM, "public_key": created.PublicKeyPEM})
	return nil
}

// listServiceKeys serves GET /api/v1/superuser/keys.
func (s *Server) listServiceKeys(w http.ResponseWriter, r *http.Request, _ *call) error {
	keys, err := s.ServiceKeys.List(r.Context())
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(keys))
	for i, k := range keys {
		if views[i], err = s.serviceKeyView(r.Context(), k); err != nil {
			return err
		}
	}
	return writeSorted(w, http.StatusOK, map[string]any{"keys": views})
}

// getServiceKey serves GET /api/v1/superuser/keys/{kid}.
func (s *Server) getServiceKey(w http.ResponseWriter, r *http.Request, _ *call) error {
	k, err := s.ServiceKeys.Get(r.Context(), r.PathValue("kid"))
	if err != nil {
		return err
	}
	v, err := s.serviceKeyView(r.Context(), k)
	if err != nil {
		return err
	}
	return writeSorted(w, http.StatusOK, v)
}

type updateServiceKeyRequest struct {
	Name       *string         `json:"name"`
	Metadata   *map[string]any `json:"metadata"`
	Expiration json.RawMessage `json:"expiration"`
}

// updateServiceKey serves PUT /api/v1/superuser/keys/{kid}. Every field
// is validated before anything is stored (Quay stores the expiration
// before it checks the name).
func (s *Server) updateServiceKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var req updateServiceKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	ch := servicekey.Changes{Name: req.Name}
	if req.Metadata != nil {
		ch.Metadata = *req.Metadata
		if ch.Metadata == nil {
			ch.Metadata = map[string]any{}
		}
	}
	if req.Expiration != nil {
		exp, err := expirationField(req.Expiration)
		if err != nil {
			return err
		}
		ch.SetExpiration, ch.Expiration = true, exp
	}
	k, err := s.ServiceKeys.Update(r.Context(), c.actor, r.PathValue("kid"), ch)
	if err != nil {
		return err
	}
	v, err := s.serviceKeyView(r.Context(), k)
	if err != nil {
		return err
	}
	return writeSorted(w, http.StatusOK, v)
}

// deleteServiceKey serves DELETE /api/v1/superuser/keys/{kid}.
func (s *Server) deleteServiceKey(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.ServiceKeys.Delete(r.Context(), c.actor, r.PathValue("kid")); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

type approveServiceKeyRequest struct {
	Notes *string `json:"notes"`
}

// approveServiceKey serves POST /api/v1/superuser/approvedkeys/{kid}: 201
// with an empty body, also when the key was approved already.
func (s *Server) approveServiceKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var req approveServiceKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	notes := ""
	if req.Notes != nil {
		notes = *req.Notes
	}
	if err := s.ServiceKeys.Approve(r.Context(), c.actor, r.PathValue("kid"), notes); err != nil {
		return err
	}
	writeEmpty(w, http.StatusCreated)
	return nil
}

// writeEmpty answers status with no body (an /api/v1 body is JSON or empty).
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}
