package wharf

import (
	"strconv"
	"time"
)

// AppToken is an app-specific token: a password a user makes for one
// client (a CI job, a kubelet) to log in to the registry as "$app", and
// revokes without changing their own password. Only a hash of its secret
// half is stored.
type AppToken struct {
	ID        int64
	UUID      string
	AccountID int64
	Title     string
	// Name is the token's public first half, by which it is looked up.
	Name       string
	SecretHash []byte
	CreatedAt  time.Time
	// ExpiresAt is zero when the token never expires.
	ExpiresAt time.Time
	// LastAccessed is zero until the token is first used.
	LastAccessed time.Time
}

// Expired reports whether t can no longer be used at now.
func (t *AppToken) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// AppTokenSubject names an app token's credential epoch: revoking the
// token moves it, and the registry tokens it earned stop working.
func AppTokenSubject(id int64) string { return "apptoken:" + strconv.FormatInt(id, 10) }

// GlobalMessage is a banner superusers publish to every user (Quay's
// "messages"). Content is untrusted text shown by clients, never by wharf.
type GlobalMessage struct {
	ID        int64
	UUID      string
	Content   string
	MediaType string // text/plain or text/markdown
	Severity  string // info, warning or error
	CreatedAt time.Time
}
