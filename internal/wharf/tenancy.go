package wharf

import "errors"

// Repository roles, weakest first (Quay's read < write < admin).
const (
	RoleRead  = "read"
	RoleWrite = "write"
	RoleAdmin = "admin"
)

// Team roles in an organization, weakest first: members have no rights
// of their own, creators may create repositories, admins administer the
// organization and every repository in it.
const (
	TeamMember  = "member"
	TeamCreator = "creator"
	TeamAdmin   = "admin"
)

// Repository states.
const (
	StateNormal   = "NORMAL"
	StateReadOnly = "READ_ONLY"
	StateMirror   = "MIRROR"
)

// RoleRank orders repository and team roles: 0 for none or unknown, then
// read/member 1, write/creator 2, admin 3.
func RoleRank(role string) int {
	switch role {
	case RoleRead, TeamMember:
		return 1
	case RoleWrite, TeamCreator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// ValidRepositoryRole reports whether role is read, write or admin.
func ValidRepositoryRole(role string) bool {
	return role == RoleRead || role == RoleWrite || role == RoleAdmin
}

// ValidTeamRole reports whether role is member, creator or admin.
func ValidTeamRole(role string) bool {
	return role == TeamMember || role == TeamCreator || role == TeamAdmin
}

// Permission is one explicit grant of a role on a repository, to an
// account (a user or robot) or to a team; exactly one of Account and Team
// is set.
type Permission struct {
	Repository *Repository
	Account    *Account
	Team       *Team
	Role       string
}

// Prototype is a default permission of an organization: when Activating
// (nil: anyone) creates a repository there, the delegate (DelegateAccount
// or DelegateTeam) is granted Role on it.
type Prototype struct {
	ID              int64
	UUID            string
	OrgID           int64
	Activating      *Account
	DelegateAccount *Account
	DelegateTeam    *Team
	Role            string
}

// OrgMember is an organization member's view: the teams it belongs to and
// the repositories it holds a direct grant on.
type OrgMember struct {
	Account      *Account
	Teams        []string
	Repositories []string
}

// RepositoryListQuery selects one page of the repositories a caller may
// see, in id order.
type RepositoryListQuery struct {
	AccountID   int64 // the caller; 0 for anonymous
	NamespaceID int64 // 0: every namespace
	Public      bool  // add every public repository
	Starred     bool  // only the caller's starred repositories
	All         bool  // every repository (read-only superusers)
	AfterID     int64 // keyset cursor: ids greater than this
	Limit       int
}

// ErrLastAdmin is the cause of the Invalid error a change gets when it
// would leave an organization without an administrator.
var ErrLastAdmin = errors.New("organization would have no admin")

// ErrAlreadyMember is the cause of the Invalid error for adding a team
// member twice.
var ErrAlreadyMember = errors.New("already a team member")
