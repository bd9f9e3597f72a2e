// Package message is the domain of global messages: the banners superusers
// publish to every user of the instance (Quay's /api/v1/messages). Their
// content is untrusted text, stored exactly as given; wharf never renders
// it, clients do.
package message

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is the storage of messages.
type Store interface {
	ListMessages(ctx context.Context) ([]*wharf.GlobalMessage, error)
	CreateMessage(ctx context.Context, m *wharf.GlobalMessage, entries ...wharf.LogEntry) error
	// MessageByUUID and DeleteMessage return NotFound.
	MessageByUUID(ctx context.Context, uuid string) (*wharf.GlobalMessage, error)
	DeleteMessage(ctx context.Context, id int64, entries ...wharf.LogEntry) error
}

// Service publishes and withdraws messages. Who may do so is the API's
// access rule (superusers with write rights).
type Service struct{ store Store }

// New returns a Service over store.
func New(store Store) *Service { return &Service{store: store} }

// MaxContentBytes bounds a message's content: a banner, not a document.
const MaxContentBytes = 64 << 10

// Media types and severities, as Quay's schema enumerates them.
var (
	mediaTypes = []string{"text/plain", "text/markdown"}
	severities = []string{"info", "warning", "error"}
)

// Fields are what a new message says.
type Fields struct {
	Content   string
	MediaType string
	Severity  string
}

// Validate returns Invalid, naming the field, for a media type or severity
// Quay does not know, or content that is too long or not text (invalid
// UTF-8 or a NUL byte, which PostgreSQL's text cannot hold).
func (f Fields) Validate() error {
	switch {
	case !slices.Contains(mediaTypes, f.MediaType):
		return wharf.Errorf(wharf.Invalid, "media_type must be one of %s", strings.Join(mediaTypes, ", "))
	case !slices.Contains(severities, f.Severity):
		return wharf.Errorf(wharf.Invalid, "severity must be one of %s", strings.Join(severities, ", "))
	case len(f.Content) > MaxContentBytes:
		return wharf.Errorf(wharf.Invalid, "content must be at most %d bytes", MaxContentBytes)
	case !utf8.ValidString(f.Content) || strings.ContainsRune(f.Content, 0):
		return wharf.Errorf(wharf.Invalid, "content must be UTF-8 text without NUL characters")
	}
	return nil
}

// List returns every message, oldest first.
func (s *Service) List(ctx context.Context) ([]*wharf.GlobalMessage, error) {
	return s.store.ListMessages(ctx)
}

// Quay writes no action-log entry for messages; wharf records who
// published or withdrew which banner (a banner reaches every user), filed
// under no namespace, so the superuser logs list them.
const (
	kindCreate = "create_global_message"
	kindDelete = "delete_global_message"
)

func entryMeta(m *wharf.GlobalMessage) map[string]any {
	return map[string]any{"message_uuid": m.UUID, "severity": m.Severity, "media_type": m.MediaType, "content": m.Content}
}

// Create publishes a message by actor.
func (s *Service) Create(ctx context.Context, actor *wharf.Caller, f Fields) (*wharf.GlobalMessage, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	m := &wharf.GlobalMessage{UUID: wharf.NewUUID(), Content: f.Content, MediaType: f.MediaType, Severity: f.Severity}
	if err := s.store.CreateMessage(ctx, m, actor.Entry(kindCreate, nil, entryMeta(m))); err != nil {
		return nil, err
	}
	return m, nil
}

// Delete withdraws the message uuid by actor. NotFound if there is none.
func (s *Service) Delete(ctx context.Context, actor *wharf.Caller, uuid string) error {
	m, err := s.store.MessageByUUID(ctx, uuid)
	if err != nil {
		return err
	}
	return s.store.DeleteMessage(ctx, m.ID, actor.Entry(kindDelete, nil, entryMeta(m)))
}
