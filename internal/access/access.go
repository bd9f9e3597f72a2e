// Package access decides what a caller may do: the one function every face
// asks — the registry's token endpoint and handlers, the API, build workers
// — so a rule changes in one place. It reads; it never writes.
//
// A caller's rights on a repository are the best of:
//
//	the namespace is the caller's own user         read write admin
//	organization admin (owners team)               read write admin
//	organization creator                           read write
//	organization member                            read
//	robot of the namespace (namespace enabled)     read write
//	the repository is public                       read
//
// then narrowed by an OAuth token's repo:* scopes. A build worker pushes
// only to its build's repository, only while the build is pushing, and
// only while the user who asked for the build may still write there; it
// reads elsewhere with its pull account's rights. Disabled accounts, and
// robots of disabled or deleted namespaces, have no rights beyond public
// reads.
package access

import (
	"context"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is what access decisions read.
type Store interface {
	// AccountByName, AccountByID and RepositoryByName return NotFound.
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
	AccountByID(ctx context.Context, id int64) (*wharf.Account, error)
	RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error)
	// OrgRole returns "" when the account is not a member.
	OrgRole(ctx context.Context, orgID, memberID int64) (string, error)
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
}

// Decision is what a caller may do with a repository that may not exist
// yet: Write on a missing one means the caller may create it by pushing.
type Decision struct {
	Rights
	// Create says the caller may create the repository through the API,
	// which OAuth tokens need repo:create for (not repo:write).
	Create     bool
	Namespace  *wharf.Account    // nil when the namespace does not exist
	Repository *wharf.Repository // nil when the repository does not exist
}

// Visible reports whether the caller may know the repository exists: a
// private repository it cannot read must look exactly like a missing one.
func (d Decision) Visible() bool { return d.Repository != nil && d.Read }

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
	if d.Rights, err = s.rights(ctx, c, ns, repo); err != nil {
		return d, err
	}
	d.Create = repo == nil && d.Write && c.HasScope(wharf.RepoCreate)
	if c != nil && c.Scoped {
		d.Read = d.Read && c.Scopes.Has(wharf.RepoRead)
		d.Write = d.Write && c.Scopes.Has(wharf.RepoWrite)
		d.Admin = d.Admin && c.Scopes.Has(wharf.RepoAdmin)
	}
	return d, nil
}

// rights is what c's account may do with repo (nil: not yet created) in
// ns, before any OAuth scope narrows it.
func (s *Service) rights(ctx context.Context, c *wharf.Caller, ns *wharf.Account, repo *wharf.Repository) (Rights, error) {
	var r Rights
	member := false
	switch {
	case c == nil || c.Account == nil || !c.Account.Enabled:
	case c.Robot != nil:
		r.Write = c.Robot.NamespaceID == ns.ID && ns.Enabled
		member = r.Write
	case ns.ID == c.Account.ID:
		r.Admin, r.Write, member = true, true, true
	case ns.Kind == wharf.KindOrg:
		role, err := s.store.OrgRole(ctx, ns.ID, c.Account.ID)
		if err != nil {
			return r, err
		}
		member = role != ""
		r.Admin = role == "admin"
		r.Write = r.Admin || role == "creator"
	}
	r.Read = r.Write || member || (repo != nil && repo.Visibility == wharf.Public)
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
