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

// serviceKeys serves the superuser service-key endpoints and the key
// server (keyserver.go).
type serviceKeys struct {
	serviceKeys *servicekey.Service
	views       *accountViews // approvers
	site        site          // the audience of key-server JWTs
	now         func() time.Time
}

// httpDate is the HTTP-date form jsonify gives datetimes: "Tue, 18 Feb 2025 19:28:15 GMT".
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// serviceKeyJSON is Quay's service key view (§1.9.5). jsonify sorts keys:
// the fields are declared in that order, and the maps (jwk, metadata)
// encode sorted, so the view needs no re-sorting pass.
type serviceKeyJSON struct {
	Approval         *approvalJSON  `json:"approval"`
	CreatedDate      string         `json:"created_date"`
	ExpirationDate   *string        `json:"expiration_date"`
	JWK              map[string]any `json:"jwk"`
	Kid              string         `json:"kid"`
	Metadata         map[string]any `json:"metadata"`
	Name             string         `json:"name"`
	RotationDuration *int64         `json:"rotation_duration"`
	Service          string         `json:"service"`
}

type approvalJSON struct {
	ApprovalType string          `json:"approval_type"`
	ApprovedDate string          `json:"approved_date"`
	Approver     json.RawMessage `json:"approver"` // the user view, keys sorted; nil = null
	Notes        string          `json:"notes"`
}

// serviceKeyViews returns the views of keys with the same few queries
// however many keys there are: the quota summaries of all their approvers
// at once, and each approver's user view encoded once and shared by the
// keys it approved.
func (h *serviceKeys) serviceKeyViews(ctx context.Context, keys []*wharf.ServiceKey) ([]serviceKeyJSON, error) {
	var approvers []*wharf.Account
	approverJSON := map[int64]json.RawMessage{}
	for _, k := range keys {
		if a := k.Approval; a != nil && a.Approver != nil {
			if _, seen := approverJSON[a.Approver.ID]; !seen {
				approverJSON[a.Approver.ID] = nil
				approvers = append(approvers, a.Approver)
			}
		}
	}
	sums, err := h.views.quotaSummaries(ctx, approvers)
	if err != nil {
		return nil, err
	}
	for _, a := range approvers {
		if approverJSON[a.ID], err = sortedJSON(h.views.superUserViewWith(sums, a)); err != nil {
			return nil, err
		}
	}
	views := make([]serviceKeyJSON, len(keys))
	for i, k := range keys {
		views[i] = serviceKeyView(k, approverJSON)
	}
	return views, nil
}

// serviceKeyView is the view of k, with approvers' views by account id.
func serviceKeyView(k *wharf.ServiceKey, approvers map[int64]json.RawMessage) serviceKeyJSON {
	v := serviceKeyJSON{CreatedDate: httpDate(k.CreatedAt), JWK: k.JWK, Kid: k.Kid, Metadata: k.Metadata,
		Name: k.Name, RotationDuration: k.RotationDuration, Service: k.Service}
	if k.ExpiresAt != nil {
		date := httpDate(*k.ExpiresAt)
		v.ExpirationDate = &date
	}
	if v.Metadata == nil {
		v.Metadata = map[string]any{}
	}
	if a := k.Approval; a != nil {
		v.Approval = &approvalJSON{ApprovalType: a.Type.QuayName(), ApprovedDate: httpDate(a.ApprovedAt), Notes: a.Notes}
		if a.Approver != nil {
			v.Approval.Approver = approvers[a.Approver.ID]
		}
	}
	return v
}

// writeServiceKey writes the view of one key.
func (h *serviceKeys) writeServiceKey(ctx context.Context, w http.ResponseWriter, k *wharf.ServiceKey) error {
	views, err := h.serviceKeyViews(ctx, []*wharf.ServiceKey{k})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, views[0])
	return nil
}

// sortedJSON encodes v as jsonify would: every object's keys sorted, nested
// ones (the avatar block, a struct) included.
func sortedJSON(v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, wharf.Wrap(err, "encode response")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, wharf.Wrap(err, "encode response")
	}
	raw, err = json.Marshal(generic)
	return raw, wharf.Wrap(err, "encode response")
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
func (h *serviceKeys) createServiceKey(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
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
	created, err := h.serviceKeys.Create(r.Context(), c, nk)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"kid": created.Key.Kid, "name": created.Key.Name, "service": created.Key.Service,
		"private_key": created.PrivateKeyPEM, "public_key": created.PublicKeyPEM})
	return nil
}

// listServiceKeys serves GET /api/v1/superuser/keys.
func (h *serviceKeys) listServiceKeys(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	keys, err := h.serviceKeys.List(r.Context())
	if err != nil {
		return err
	}
	views, err := h.serviceKeyViews(r.Context(), keys)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Keys []serviceKeyJSON `json:"keys"`
	}{views})
	return nil
}

// getServiceKey serves GET /api/v1/superuser/keys/{kid}.
func (h *serviceKeys) getServiceKey(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	k, err := h.serviceKeys.Get(r.Context(), r.PathValue("kid"))
	if err != nil {
		return err
	}
	return h.writeServiceKey(r.Context(), w, k)
}

type updateServiceKeyRequest struct {
	Name       *string         `json:"name"`
	Metadata   *map[string]any `json:"metadata"`
	Expiration json.RawMessage `json:"expiration"`
}

// updateServiceKey serves PUT /api/v1/superuser/keys/{kid}. Every field
// is validated before anything is stored (Quay stores the expiration
// before it checks the name).
func (h *serviceKeys) updateServiceKey(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
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
	k, err := h.serviceKeys.Update(r.Context(), c, r.PathValue("kid"), ch)
	if err != nil {
		return err
	}
	return h.writeServiceKey(r.Context(), w, k)
}

// deleteServiceKey serves DELETE /api/v1/superuser/keys/{kid}.
func (h *serviceKeys) deleteServiceKey(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	if err := h.serviceKeys.Delete(r.Context(), c, r.PathValue("kid")); err != nil {
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
func (h *serviceKeys) approveServiceKey(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var req approveServiceKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	notes := ""
	if req.Notes != nil {
		notes = *req.Notes
	}
	if err := h.serviceKeys.Approve(r.Context(), c, r.PathValue("kid"), notes); err != nil {
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
