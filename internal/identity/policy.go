package identity

import (
	"slices"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Policy holds the configuration that decides who is a superuser and what
// values accounts may take.
type Policy struct {
	SuperusersEnabled    bool            // FEATURE_SUPER_USERS
	SuperUsers           map[string]bool // SUPER_USERS
	ReadonlySuperUsers   map[string]bool // GLOBAL_READONLY_SUPER_USERS
	Mailing              bool            // FEATURE_MAILING: e-mail required on user creation
	TagExpirationOptions []time.Duration // allowed tag_expiration_s values
	DefaultTagExpiration time.Duration
}

// IsSuperuser reports whether a is a superuser by configuration or by
// promotion through the API. It is what views show as super_user.
func (p Policy) IsSuperuser(a *wharf.Account) bool {
	if a == nil || a.Kind != wharf.KindUser || !p.SuperusersEnabled {
		return false
	}
	return p.SuperUsers[a.Name] || a.Superuser
}

// IsConfiguredSuperuser reports whether a is a superuser because SUPER_USERS
// names it; the API cannot change such a user.
func (p Policy) IsConfiguredSuperuser(a *wharf.Account) bool {
	return a != nil && a.Kind == wharf.KindUser && p.SuperusersEnabled && p.SuperUsers[a.Name]
}

// IsReadonlySuperuser reports whether a is a global read-only superuser.
func (p Policy) IsReadonlySuperuser(a *wharf.Account) bool {
	return a != nil && a.Kind == wharf.KindUser && p.SuperusersEnabled && p.ReadonlySuperUsers[a.Name]
}

// CanAdminister reports whether a holds full superuser rights. As in Quay, a
// user listed both as superuser and read-only superuser is read-only.
func (p Policy) CanAdminister(a *wharf.Account) bool {
	return p.IsSuperuser(a) && !p.IsReadonlySuperuser(a)
}

// CanInspect reports whether a may use the superuser read endpoints.
func (p Policy) CanInspect(a *wharf.Account) bool {
	return p.IsSuperuser(a) || p.IsReadonlySuperuser(a)
}

// ValidTagExpiration reports whether seconds is one of the configured options.
func (p Policy) ValidTagExpiration(seconds int64) bool {
	return slices.ContainsFunc(p.TagExpirationOptions, func(d time.Duration) bool { return int64(d/time.Second) == seconds })
}
