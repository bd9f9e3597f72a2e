package wharf

import "time"

// ApprovalType says how a service key came to be approved.
type ApprovalType string

// Approval types, stored as these short words.
const (
	ApprovalSuperuser   ApprovalType = "superuser"    // a superuser approved it (or created it)
	ApprovalKeyRotation ApprovalType = "key_rotation" // it replaced an approved key of its service
	ApprovalAutomatic   ApprovalType = "automatic"    // wharf approved its own key
)

// QuayName is the type as Quay's API shows it: the repr of its Python enum,
// e.g. "ServiceKeyApprovalType.SUPERUSER".
func (t ApprovalType) QuayName() string {
	switch t {
	case ApprovalSuperuser:
		return "ServiceKeyApprovalType.SUPERUSER"
	case ApprovalKeyRotation:
		return "ServiceKeyApprovalType.KEY_ROTATION"
	case ApprovalAutomatic:
		return "ServiceKeyApprovalType.AUTOMATIC"
	}
	return string(t)
}

// ServiceKey is the public half of a key a service signs JWTs with
// (Quay's ServiceKey). The private half is never stored with it.
type ServiceKey struct {
	Kid      string
	Service  string
	Name     string
	JWK      map[string]any // the public JWK: kty, n, e, kid
	Metadata map[string]any
	// CreatedAt is when the key was registered.
	CreatedAt time.Time
	// ExpiresAt is nil for a key that never expires.
	ExpiresAt *time.Time
	// RotationDuration (seconds) is set only for keys a service registered
	// through the key server with ?rotation=.
	RotationDuration *int64
	// Approval is nil while the key awaits approval.
	Approval *ServiceKeyApproval
}

// ServiceKeyApproval records who approved a service key, how and when.
type ServiceKeyApproval struct {
	Type ApprovalType
	// ApproverID is 0 for automatic approvals and once the approver's
	// account is deleted; Approver is that account when it still exists.
	ApproverID int64
	Approver   *Account
	ApprovedAt time.Time
	Notes      string
}

// ExpiredAt reports whether the key has expired at t.
func (k *ServiceKey) ExpiredAt(t time.Time) bool {
	return k.ExpiresAt != nil && !k.ExpiresAt.After(t)
}

// ServiceKeyGC says which keys are stale and may be removed: keys that
// expired at or before ExpiredBefore, and unapproved keys registered at or
// before UnapprovedBefore. Service "" means every service.
type ServiceKeyGC struct {
	Service          string
	ExpiredBefore    time.Time
	UnapprovedBefore time.Time
}
