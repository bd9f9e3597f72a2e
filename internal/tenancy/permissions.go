package tenancy

import (
	"context"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Permission returns the explicit grant on repo of the account (team nil)
// or team. Invalid with Quay's words when there is none.
func (s *Service) Permission(ctx context.Context, repo *wharf.Repository, account *wharf.Account, team *wharf.Team) (wharf.Permission, error) {
	all, err := s.store.RepositoryPermissions(ctx, repo.ID)
	if err != nil {
		return wharf.Permission{}, err
	}
	for _, p := range all {
		if (team == nil && p.Account != nil && p.Account.ID == account.ID) || (team != nil && p.Team != nil && p.Team.ID == team.ID) {
			p.Repository = repo
			return p, nil
		}
	}
	if team != nil {
		return wharf.Permission{}, wharf.Errorf(wharf.Invalid, "Team does not have permission for repo.")
	}
	return wharf.Permission{}, wharf.Errorf(wharf.Invalid, "User does not have permission for repo.")
}

// Grantee returns the user or robot name may be granted a role on repo:
// never the namespace itself (its owner is always admin), never an
// organization, and a robot only of the repository's namespace.
func (s *Service) Grantee(ctx context.Context, repo *wharf.Repository, name string) (*wharf.Account, error) {
	if name == repo.Namespace {
		return nil, wharf.Errorf(wharf.Invalid, "Namespace owner must always be admin.")
	}
	a, err := s.store.AccountByName(ctx, name)
	if wharf.IsCode(err, wharf.NotFound) || (err == nil && a.Kind == wharf.KindOrg) {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid username: %s", name)
	}
	if err != nil {
		return nil, err
	}
	if a.Kind == wharf.KindRobot && !robotOf(a, repo.Namespace) {
		return nil, wharf.Errorf(wharf.Invalid, "Cannot add robot %s under namespace %s", name, repo.Namespace)
	}
	return a, nil
}

// SetPermission grants role on repo to account (team nil) or team.
func (s *Service) SetPermission(ctx context.Context, actor *wharf.Caller, repo *wharf.Repository, account *wharf.Account, team *wharf.Team, role string) error {
	if !wharf.ValidRepositoryRole(role) {
		return wharf.Errorf(wharf.Invalid, "role must be one of read, write, admin")
	}
	p := wharf.Permission{Repository: repo, Account: account, Team: team, Role: role}
	meta := map[string]any{"repo": repo.Name, "role": role}
	if team != nil {
		meta["team"] = team.Name
	} else {
		meta["username"], meta["namespace"] = account.Name, repo.Namespace
	}
	return s.store.SetPermission(ctx, p, actor.RepositoryEntry("change_repo_permission", repo, meta))
}

// DeletePermission removes the grant on repo of account (team nil) or team.
func (s *Service) DeletePermission(ctx context.Context, actor *wharf.Caller, repo *wharf.Repository, account *wharf.Account, team *wharf.Team) error {
	p := wharf.Permission{Repository: repo, Account: account, Team: team}
	meta := map[string]any{"repo": repo.Name}
	if team != nil {
		meta["team"] = team.Name
	} else {
		meta["username"], meta["namespace"] = account.Name, repo.Namespace
	}
	err := s.store.DeletePermission(ctx, p, actor.RepositoryEntry("delete_repo_permission", repo, meta))
	if wharf.IsCode(err, wharf.NotFound) {
		if team != nil {
			return wharf.Errorf(wharf.Invalid, "Team does not have permission for repo.")
		}
		return wharf.Errorf(wharf.Invalid, "User does not have permission for repo.")
	}
	return err
}

// SetState sets repo's state: NORMAL, READ_ONLY or MIRROR.
func (s *Service) SetState(ctx context.Context, actor *wharf.Caller, repo *wharf.Repository, state string) error {
	switch state {
	case wharf.StateNormal, wharf.StateReadOnly, wharf.StateMirror:
	default:
		return wharf.Errorf(wharf.Invalid, "state must be one of NORMAL, READ_ONLY, MIRROR")
	}
	return s.store.SetRepositoryState(ctx, repo.ID, state, actor.RepositoryEntry("change_repo_state", repo,
		map[string]any{"repo": repo.Name, "namespace": repo.Namespace, "state_changed": state}))
}

// PrototypeDelegate names a prototype's delegate: a user or robot, or a
// team of the organization.
type PrototypeDelegate struct {
	Name string
	Kind string // user | team
}

// CreatePrototype stores a default permission of org: when activating
// ("" for anyone) creates a repository, delegate gets role. Delegates and
// activators must be users or robots of org; teams must be org's.
func (s *Service) CreatePrototype(ctx context.Context, actor *wharf.Caller, org *wharf.Account, activating string, delegate PrototypeDelegate, role string) (*wharf.Prototype, error) {
	if !wharf.ValidRepositoryRole(role) {
		return nil, wharf.Errorf(wharf.Invalid, "role must be one of read, write, admin")
	}
	p := &wharf.Prototype{UUID: wharf.NewUUID(), OrgID: org.ID, Role: role}
	switch delegate.Kind {
	case "team":
		t, err := s.store.TeamByName(ctx, org.ID, delegate.Name)
		if wharf.IsCode(err, wharf.NotFound) {
			return nil, wharf.Errorf(wharf.Invalid, "Unknown team %s", delegate.Name)
		}
		if err != nil {
			return nil, err
		}
		p.DelegateTeam = t
	case "user":
		a, err := s.prototypeAccount(ctx, org, delegate.Name)
		if err != nil {
			return nil, wharf.Errorf(wharf.Invalid, "Missing delegate user or team")
		}
		p.DelegateAccount = a
	default:
		return nil, wharf.Errorf(wharf.Invalid, "delegate kind must be user or team")
	}
	if activating != "" {
		a, err := s.prototypeAccount(ctx, org, activating)
		if err != nil {
			return nil, wharf.Errorf(wharf.Invalid, "Unknown activating user")
		}
		p.Activating = a
	}
	err := s.store.CreatePrototype(ctx, p, actor.Entry("create_prototype_permission", org, prototypeMeta(actor, p, nil)))
	return p, err
}

func (s *Service) prototypeAccount(ctx context.Context, org *wharf.Account, name string) (*wharf.Account, error) {
	a, err := s.store.AccountByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if a.Kind == wharf.KindOrg || (a.Kind == wharf.KindRobot && !robotOf(a, org.Name)) {
		return nil, wharf.Errorf(wharf.Invalid, "not a user or robot of the organization")
	}
	return a, nil
}

func prototypeMeta(actor *wharf.Caller, p *wharf.Prototype, extra map[string]any) map[string]any {
	m := map[string]any{"prototypeid": p.UUID, "username": actor.Name(), "activating_username": nil, "role": p.Role}
	if p.Activating != nil {
		m["activating_username"] = p.Activating.Name
	}
	if p.DelegateTeam != nil {
		m["delegate_team"] = p.DelegateTeam.Name
	} else if p.DelegateAccount != nil {
		m["delegate_user"] = p.DelegateAccount.Name
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// SetPrototypeRole changes a default permission's role.
func (s *Service) SetPrototypeRole(ctx context.Context, actor *wharf.Caller, org *wharf.Account, p *wharf.Prototype, role string) error {
	if !wharf.ValidRepositoryRole(role) {
		return wharf.Errorf(wharf.Invalid, "role must be one of read, write, admin")
	}
	original := p.Role
	p.Role = role
	return s.store.SetPrototypeRole(ctx, p.ID, role, actor.Entry("modify_prototype_permission", org,
		prototypeMeta(actor, p, map[string]any{"original_role": original})))
}

// DeletePrototype removes a default permission.
func (s *Service) DeletePrototype(ctx context.Context, actor *wharf.Caller, org *wharf.Account, p *wharf.Prototype) error {
	return s.store.DeletePrototype(ctx, p.ID, actor.Entry("delete_prototype_permission", org, prototypeMeta(actor, p, nil)))
}
