package api

import (
	"net/http"

	"github.com/wharf-registry/wharf/internal/message"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// messages serves the global messages: everyone reads them, superusers
// publish and withdraw them (routes.go). Content is passed through as
// stored; rendering it is the client's business.
type messages struct {
	messages *message.Service
}

// messageView is Quay's message view, in its key order.
type messageView struct {
	Content   string `json:"content"`
	MediaType string `json:"media_type"`
	Severity  string `json:"severity"`
	UUID      string `json:"uuid"`
}

// listMessages serves GET /api/v1/messages.
func (h *messages) listMessages(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	all, err := h.messages.List(r.Context())
	if err != nil {
		return err
	}
	views := make([]messageView, len(all))
	for i, m := range all {
		views[i] = messageView{Content: m.Content, MediaType: m.MediaType, Severity: m.Severity, UUID: m.UUID}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": views})
	return nil
}

// createMessageRequest is Quay's CreateMessage schema, with the outer
// "message" required (Quay crashes without it) and every inner field too.
type createMessageRequest struct {
	Message *struct {
		Content   *string `json:"content"`
		MediaType *string `json:"media_type"`
		Severity  *string `json:"severity"`
	} `json:"message"`
}

// createMessage serves POST /api/v1/messages: 201 with an empty body, as Quay.
func (h *messages) createMessage(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var req createMessageRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Message, "message"); err != nil {
		return err
	}
	m := req.Message
	for _, f := range []struct {
		name  string
		value *string
	}{{"content", m.Content}, {"media_type", m.MediaType}, {"severity", m.Severity}} {
		if err := required(f.value, f.name); err != nil {
			return err
		}
	}
	if _, err := h.messages.Create(r.Context(), c, message.Fields{Content: *m.Content, MediaType: *m.MediaType, Severity: *m.Severity}); err != nil {
		return err
	}
	writeEmpty(w, http.StatusCreated)
	return nil
}

// deleteMessage serves DELETE /api/v1/message/{uuid}: 204, or 404 for a
// uuid no message has (Quay answers 204 and changes nothing).
func (h *messages) deleteMessage(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	if err := h.messages.Delete(r.Context(), c, r.PathValue("uuid")); err != nil {
		return err
	}
	writeEmpty(w, http.StatusNoContent)
	return nil
}
