// Package tenancy is the domain of who belongs where: an organization's
// teams and their members, grants of repository roles to users, robots and
// teams, default permissions (prototypes) and repository states. It
// validates each change, words its refusals as Quay does and writes Quay's
// action-log kinds with it. Whether the caller may make the change is
// package access's (and the face's) to decide before calling here.
package tenancy

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is the storage the tenancy service needs (package db).
type Store interface {
	// AccountByName and TeamByName return NotFound.
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
	TeamByName(ctx context.Context, orgID int64, name string) (*wharf.Team, error)
	// SaveTeam, DeleteTeam, RemoveTeamMember and RemoveOrgMember return
	// Invalid caused by wharf.ErrLastAdmin when no admin would remain.
	SaveTeam(ctx context.Context, t *wharf.Team, entries ...wharf.LogEntry) error
	DeleteTeam(ctx context.Context, t *wharf.Team, entries ...wharf.LogEntry) error
	// AddTeamMember returns Invalid caused by wharf.ErrAlreadyMember.
	AddTeamMember(ctx context.Context, teamID, accountID int64, entries ...wharf.LogEntry) error
	// RemoveTeamMember returns NotFound when it is not a member.
	RemoveTeamMember(ctx context.Context, t *wharf.Team, accountID int64, entries ...wharf.LogEntry) error
	MemberTeams(ctx context.Context, orgID, accountID int64) ([]string, error)
	RemoveOrgMember(ctx context.Context, orgID, accountID int64, entries ...wharf.LogEntry) error
	RepositoryPermissions(ctx context.Context, repoID int64) ([]wharf.Permission, error)
	SetPermission(ctx context.Context, p wharf.Permission, entries ...wharf.LogEntry) error
	// DeletePermission returns NotFound when there is no grant.
	DeletePermission(ctx context.Context, p wharf.Permission, entries ...wharf.LogEntry) error
	CreatePrototype(ctx context.Context, p *wharf.Prototype, entries ...wharf.LogEntry) error
	SetPrototypeRole(ctx context.Context, id int64, role string, entries ...wharf.LogEntry) error
	DeletePrototype(ctx context.Context, id int64, entries ...wharf.LogEntry) error
	SetRepositoryState(ctx context.Context, repoID int64, state string, entries ...wharf.LogEntry) error
}

// Service changes tenancy.
type Service struct {
	store Store
}

// New returns a Service over store.
func New(store Store) *Service { return &Service{store: store} }

var teamNamePattern = regexp.MustCompile(`^([a-z0-9]+(?:[._-][a-z0-9]+)*)$`)

// ValidateTeamName applies Quay's team name rule.
func ValidateTeamName(name string) error {
	if !teamNamePattern.MatchString(name) {
		return wharf.Errorf(wharf.Invalid, "Invalid team name %s: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$", name)
	}
	if len(name) < 2 || len(name) > 255 {
		return wharf.Errorf(wharf.Invalid, "Invalid team name %s: Team must be between 2 and 255 characters in length", name)
	}
	return nil
}

// SaveTeam creates the organization's team name with role and
// description (nil: "") or changes what differs, logging each change.
// It reports whether the team is new.
func (s *Service) SaveTeam(ctx context.Context, actor *wharf.Caller, org *wharf.Account, name, role string, description *string) (*wharf.Team, bool, error) {
	if !wharf.ValidTeamRole(role) {
		return nil, false, wharf.Errorf(wharf.Invalid, "role must be one of member, creator, admin")
	}
	t, err := s.store.TeamByName(ctx, org.ID, name)
	if wharf.IsCode(err, wharf.NotFound) {
		if err := ValidateTeamName(name); err != nil {
			return nil, false, err
		}
		t = &wharf.Team{OrgID: org.ID, Name: name, Role: role}
		if description != nil {
			t.Description = *description
		}
		err := s.store.SaveTeam(ctx, t, actor.Entry("org_create_team", org, map[string]any{"team": name}))
		return t, true, err
	}
	if err != nil {
		return nil, false, err
	}
	var entries []wharf.LogEntry
	if description != nil && *description != t.Description {
		t.Description = *description
		entries = append(entries, actor.Entry("org_set_team_description", org, map[string]any{"team": name, "description": t.Description}))
	}
	if role != t.Role {
		t.Role = role
		entries = append(entries, actor.Entry("org_set_team_role", org, map[string]any{"team": name, "role": role}))
	}
	if len(entries) == 0 {
		return t, false, nil
	}
	err = s.store.SaveTeam(ctx, t, entries...)
	if errors.Is(err, wharf.ErrLastAdmin) {
		return nil, false, wharf.Errorf(wharf.Invalid, "Cannot remove admin from team '%s' because the organization '%s' would have no admin", name, org.Name)
	}
	return t, false, err
}

// Team returns the organization's team name. NotFound if none.
func (s *Service) Team(ctx context.Context, org *wharf.Account, name string) (*wharf.Team, error) {
	return s.store.TeamByName(ctx, org.ID, name)
}

// DeleteTeam deletes the organization's team name with its memberships,
// grants and the prototypes delegating to it.
func (s *Service) DeleteTeam(ctx context.Context, actor *wharf.Caller, org *wharf.Account, name string) error {
	t, err := s.store.TeamByName(ctx, org.ID, name)
	if err != nil {
		return err
	}
	err = s.store.DeleteTeam(ctx, t, actor.Entry("org_delete_team", org, map[string]any{"team": name}))
	if errors.Is(err, wharf.ErrLastAdmin) {
		return wharf.Errorf(wharf.Invalid, "Deleting team '%s' would remove admin ability for user '%s' in organization '%s'", name, actor.Name(), org.Name)
	}
	return err
}

// Member returns the user or robot named name, as a team member or
// grantee may be. Invalid "Unknown user" otherwise.
func (s *Service) Member(ctx context.Context, name string) (*wharf.Account, error) {
	a, err := s.store.AccountByName(ctx, name)
	if wharf.IsCode(err, wharf.NotFound) || (err == nil && a.Kind == wharf.KindOrg) {
		return nil, wharf.Errorf(wharf.Invalid, "Unknown user")
	}
	return a, err
}

// robotOf reports whether a is a robot of the namespace named ns.
func robotOf(a *wharf.Account, ns string) bool {
	return a.Kind == wharf.KindRobot && strings.HasPrefix(a.Name, ns+"+")
}

// AddMember adds a user, or a robot of the organization, to team t.
func (s *Service) AddMember(ctx context.Context, actor *wharf.Caller, org *wharf.Account, t *wharf.Team, member *wharf.Account) error {
	if member.Kind == wharf.KindRobot && !robotOf(member, org.Name) {
		return wharf.Errorf(wharf.Invalid, "Cannot add the specified robot to this team, as it is not a member of the organization")
	}
	err := s.store.AddTeamMember(ctx, t.ID, member.ID,
		actor.Entry("org_add_team_member", org, map[string]any{"member": member.Name, "team": t.Name}))
	if errors.Is(err, wharf.ErrAlreadyMember) {
		return wharf.Errorf(wharf.Invalid, "User %s is already a member of team %s", member.Name, t.Name)
	}
	return err
}

// RemoveMember removes member from team t.
func (s *Service) RemoveMember(ctx context.Context, actor *wharf.Caller, org *wharf.Account, t *wharf.Team, member *wharf.Account) error {
	err := s.store.RemoveTeamMember(ctx, t, member.ID,
		actor.Entry("org_remove_team_member", org, map[string]any{"member": member.Name, "team": t.Name}))
	switch {
	case wharf.IsCode(err, wharf.NotFound):
		return wharf.Errorf(wharf.Invalid, "User %s does not belong to team %s", member.Name, t.Name)
	case errors.Is(err, wharf.ErrLastAdmin) && member.ID == actor.AccountID():
		return wharf.Errorf(wharf.Invalid, "User cannot remove themselves from their only admin team.")
	case errors.Is(err, wharf.ErrLastAdmin):
		return wharf.Errorf(wharf.Invalid, "Cannot remove user as they are the only organization admin")
	}
	return err
}

// RemoveOrgMember removes a user from every team of the organization and
// its direct grants on the organization's repositories, logging each.
func (s *Service) RemoveOrgMember(ctx context.Context, actor *wharf.Caller, org *wharf.Account, member *wharf.Account, repos []string) error {
	teams, err := s.store.MemberTeams(ctx, org.ID, member.ID)
	if err != nil {
		return err
	}
	var entries []wharf.LogEntry
	for _, t := range teams {
		entries = append(entries, actor.Entry("org_remove_team_member", org, map[string]any{"member": member.Name, "team": t}))
	}
	for _, r := range repos {
		entries = append(entries, actor.Entry("delete_repo_permission", org, map[string]any{"username": member.Name, "repo": r, "namespace": org.Name}))
	}
	err = s.store.RemoveOrgMember(ctx, org.ID, member.ID, entries...)
	if errors.Is(err, wharf.ErrLastAdmin) {
		return wharf.Errorf(wharf.Invalid, "Cannot remove user as they are the only organization admin")
	}
	return err
}
