// Package access decides what a caller may do: the one function every face
// asks — the registry's token endpoint and handlers, the API, build workers
// — so a rule changes in one place. It reads; it never writes.
//
// A caller's rights on a repository are the best of (Quay's model):
//
//	the namespace is the caller's own user           read write admin
//	a team of the organization with role admin       read write admin
//	a grant to the caller or one of its teams        its role: read < write < admin
//	the repository is public                         read
//	the caller is a global read-only superuser       read
//
// A team with role creator (or admin), and one's own namespace, let the
// caller create repositories (by push or the API); membership alone gives
// nothing. Robots are accounts like users: their grants and teams are all
// they have. read pulls, write pushes and deletes, admin administers.
// A repository whose state is not NORMAL refuses writes to everyone but,
// in MIRROR state, its mirror robot.
//
// Rights are then narrowed by an OAuth token's repo:* scopes. A build worker pushes
// only to its build's repository, only while the build is pushing, and
// only while the user who asked for the build may still write there; it
// reads elsewhere with its pull account's rights. Disabled accounts, and
// robots of disabled or deleted namespaces, have no rights beyond public
// reads.
package access

import (
	"context"
	"crypto/subtle"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is what access decisions read.
type Store interface {
	// AccountByName, AccountByID and RepositoryByName return NotFound.
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
	AccountByID(ctx context.Context, id int64) (*wharf.Account, error)
	RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error)
	// Grants returns the strongest team role accountID holds in
	// organization orgID and the strongest role it holds on repository
	// repoID, directly or through a team; "" for none (ids 0: none).
	Grants(ctx context.Context, orgID, repoID, accountID int64) (teamRole, repoRole string, err error)
}

// Service decides access.
type Service struct {
	store  Store
	policy identity.Policy
}

// New returns a Service reading store, with policy's superuser rules.
func New(store Store, policy identity.Policy) *Service {
	return &Service{store: store, policy: policy}
}

// Rights are what a caller may do with one repository.
type Rights struct {
	Read, Write, Admin bool
	// Frozen says the caller would write but the repository's state
	// (READ_ONLY, MIRROR) refuses it: API writes answer 503 then, as Quay.
	Frozen bool
}

// Decision is what a caller may do with a repository that may not exist
// yet: Write on a missing one means the caller may create it by pushing.
type Decision struct {
	Rights
	// Create says the caller may create the repository through the API,
	// which OAuth tokens need repo:create for (not repo:write).
	Create bool
	// Inspect says the caller is a global read-only superuser, who reads
	// every repository without holding a right on it (views show its own
	// rights); a token acts as one only with super:user.
	Inspect    bool
	Namespace  *wharf.Account    // nil when the namespace does not exist
	Repository *wharf.Repository // nil when the repository does not exist
}

// MayRead reports whether the caller may read the repository: by a right
// or as a read-only superuser.
func (d Decision) MayRead() bool { return d.Read || d.Inspect }

// Visible reports whether the caller may know the repository exists: a
// private repository it cannot read must look exactly like a missing one.
func (d Decision) Visible() bool { return d.Repository != nil && d.MayRead() }

// Repository decides what c may do with namespace/name.
func (s *Service) Repository(ctx context.Context, c *wharf.Caller, namespace, name string) (Decision, error) {
	var d Decision
	ns, err := s.store.AccountByName(ctx, namespace)
	if wharf.IsCode(err, wharf.NotFound) {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	d.Namespace = ns
	repo, err := s.store.RepositoryByName(ctx, namespace, name)
	if err != nil && !wharf.IsCode(err, wharf.NotFound) {
		return d, err
	}
	if err == nil {
		d.Repository = repo
	}
	if ns.Kind == wharf.KindRobot {
		return d, nil
	}
	if c != nil && c.Build != nil {
		d.Rights, err = s.buildRights(ctx, c, ns, repo)
		return d, err
	}
	d.Inspect = c != nil && c.Robot == nil && s.policy.IsReadonlySuperuser(c.Account) && c.Account.Enabled && c.HasScope(wharf.SuperUser)
	if d.Rights, err = s.rights(ctx, c, ns, repo); err != nil {
		return d, err
	}
	d.Create = repo == nil && d.Write && c.HasScope(wharf.RepoCreate)
	if c != nil && c.Scoped {
		d.Read = d.Read && c.Scopes.Has(wharf.RepoRead)
		d.Write = d.Write && c.Scopes.Has(wharf.RepoWrite)
		d.Admin = d.Admin && c.Scopes.Has(wharf.RepoAdmin)
		d.Frozen = d.Frozen && c.Scopes.Has(wharf.RepoWrite)
	}
	return d, nil
}

// rights is what c's account may do with repo (nil: not yet created, when
// Write means it may create it) in ns, before any OAuth scope narrows it.
func (s *Service) rights(ctx context.Context, c *wharf.Caller, ns *wharf.Account, repo *wharf.Repository) (Rights, error) {
	var r Rights
	public := repo != nil && repo.Visibility == wharf.Public
	if c == nil || c.Account == nil || !c.Account.Enabled {
		r.Read = public
		return r, nil
	}
	acct := c.Account
	rank := 0
	switch {
	case ns.ID == acct.ID:
		rank = 3
	case ns.Kind == wharf.KindOrg || repo != nil:
		var orgID, repoID int64
		if ns.Kind == wharf.KindOrg {
			orgID = ns.ID
		}
		if repo != nil {
			repoID = repo.ID
		}
		teamRole, repoRole, err := s.store.Grants(ctx, orgID, repoID, acct.ID)
		if err != nil {
			return r, err
		}
		rank = wharf.RoleRank(repoRole)
		switch {
		case teamRole == wharf.TeamAdmin:
			rank = 3
		case teamRole == wharf.TeamCreator && repo == nil:
			rank = 2 // creators create; they hold nothing on existing repositories
		}
	}
	r = Rights{Read: rank >= 1 || public, Write: rank >= 2, Admin: rank >= 3}
	if repo != nil && repo.State != "" && repo.State != wharf.StateNormal {
		mayWrite := r.Write
		r.Write = r.Write && repo.State == wharf.StateMirror && c.Robot != nil && acct.ID == repo.MirrorRobotID
		r.Frozen = mayWrite && !r.Write
	}
	return r, nil
}

// buildRights is what a build worker may do: on its build's repository,
// read while the build runs and write while it pushes and its requester
// may still write there; elsewhere, read as its pull account.
func (s *Service) buildRights(ctx context.Context, c *wharf.Caller, ns *wharf.Account, repo *wharf.Repository) (Rights, error) {
	b := c.Build
	if repo == nil || repo.ID != b.Repository.ID {
		r, err := s.rights(ctx, &wharf.Caller{Account: c.Account, Robot: c.Robot}, ns, repo)
		return Rights{Read: r.Read}, err
	}
	r := Rights{Read: true}
	if b.Phase == wharf.PhasePushing {
		may, err := s.RequesterMayPush(ctx, b)
		if err != nil {
			return r, err
		}
		r.Write = may
	}
	return r, nil
}

// RequesterMayPush reports whether the user who asked for build b may
// still write to its repository: a build acts for its requester, so a
// requester who was disabled, deleted or lost the right stops it.
func (s *Service) RequesterMayPush(ctx context.Context, b *wharf.Build) (bool, error) {
	if b.ManualUserID == 0 {
		return false, nil
	}
	acct, err := s.store.AccountByID(ctx, b.ManualUserID)
	if wharf.IsCode(err, wharf.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ns, err := s.store.AccountByID(ctx, b.Repository.NamespaceID)
	if wharf.IsCode(err, wharf.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	r, err := s.rights(ctx, &wharf.Caller{Account: acct}, ns, &b.Repository)
	return r.Write, err
}

// Catalog reports whether c may list every repository (/v2/_catalog):
// superusers, signed in with full rights (not through a scoped token or a
// build).
func (s *Service) Catalog(c *wharf.Caller) bool {
	return c != nil && !c.Scoped && c.Build == nil && c.Robot == nil && s.policy.CanInspect(c.Account)
}

// Badge reports whether the build-status badge of repo may be shown to a
// request presenting token: anyone may see a public repository's; a
// private one's needs its badge token, which its readers see in the
// repository view and put in the badge's URL (Quay's rule).
func Badge(repo *wharf.Repository, token string) bool {
	if repo.Visibility == wharf.Public {
		return true
	}
	return repo.BadgeToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(repo.BadgeToken)) == 1
}
