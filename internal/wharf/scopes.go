package wharf

import (
	"slices"
	"strings"
)

// Scope is one OAuth scope string.
type Scope string

// Quay's scopes.
const (
	OrgAdmin   Scope = "org:admin"
	RepoAdmin  Scope = "repo:admin"
	RepoCreate Scope = "repo:create"
	RepoRead   Scope = "repo:read"
	RepoWrite  Scope = "repo:write"
	SuperUser  Scope = "super:user"
	UserAdmin  Scope = "user:admin"
	UserRead   Scope = "user:read"
)

// AllScopes lists every scope in Quay's order, as /user/initialize grants them.
var AllScopes = []Scope{OrgAdmin, RepoAdmin, RepoCreate, RepoRead, RepoWrite, SuperUser, UserAdmin, UserRead}

// implied records which scopes a broader one includes (repo:admin ⊃ write ⊃ read,
// user:admin ⊃ user:read), as Quay's scope checks do.
var implied = map[Scope][]Scope{
	RepoAdmin: {RepoWrite, RepoRead},
	RepoWrite: {RepoRead},
	UserAdmin: {UserRead},
}

// Scopes is a set of granted scopes.
type Scopes []Scope

// ParseScopes splits s on spaces or commas. As in Quay, one unknown scope
// makes the whole set empty.
func ParseScopes(s string) Scopes {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	out := make(Scopes, 0, len(fields))
	for _, f := range fields {
		if !slices.Contains(AllScopes, Scope(f)) {
			return Scopes{}
		}
		if !slices.Contains(out, Scope(f)) {
			out = append(out, Scope(f))
		}
	}
	return out
}

// Has reports whether the set grants want, directly or by implication.
func (s Scopes) Has(want Scope) bool {
	for _, g := range s {
		if g == want || slices.Contains(implied[g], want) {
			return true
		}
	}
	return false
}

// String joins the scopes with spaces.
func (s Scopes) String() string {
	parts := make([]string, len(s))
	for i, sc := range s {
		parts[i] = string(sc)
	}
	return strings.Join(parts, " ")
}
