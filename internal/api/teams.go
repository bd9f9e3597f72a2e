package api

import (
	"context"
	"net/http"

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/pagetoken"
	"github.com/wharf-registry/wharf/internal/repository"
	"github.com/wharf-registry/wharf/internal/tenancy"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// teams serves an organization's teams and members, repository
// permissions, default permissions (prototypes), the repository list and
// stars (teams.go, permissions.go, prototypes.go, repolist.go).
type teams struct {
	orgs         *orgs
	tenancy      *tenancy.Service
	access       *access.Service
	repositories *repositories
	robots       *repository.Service
	store        tenancyStore
	policy       identity.Policy
	pages        *pagetoken.Sealer
}

// tenancyStore is what these views read directly.
type tenancyStore interface {
	TeamMembers(ctx context.Context, teamID int64) ([]*wharf.Account, error)
	OrgMembers(ctx context.Context, orgID int64) ([]wharf.OrgMember, error)
	OrgMember(ctx context.Context, orgID int64, a *wharf.Account) (wharf.OrgMember, error)
	RepositoryPermissions(ctx context.Context, repoID int64) ([]wharf.Permission, error)
	GranteePermissions(ctx context.Context, accountID, teamID int64) ([]wharf.Permission, error)
	TransitiveRoles(ctx context.Context, repoID, accountID int64) ([]string, error)
	Prototypes(ctx context.Context, orgID int64) ([]*wharf.Prototype, error)
	PrototypeByUUID(ctx context.Context, orgID int64, uuid string) (*wharf.Prototype, error)
	ListRepositories(ctx context.Context, q wharf.RepositoryListQuery) ([]*wharf.Repository, error)
	Starred(ctx context.Context, accountID int64, repoIDs []int64) (map[int64]bool, error)
	SetStar(ctx context.Context, accountID, repoID int64, starred bool) error
	LastModified(ctx context.Context, repoIDs []int64) (map[int64]int64, error)
}

var errUnauthorized = wharf.Errorf(wharf.Forbidden, "Unauthorized")

// readonlySuperuser reports whether c reads organizations and repositories
// as a global read-only superuser (a token needs super:user). Full
// superusers have no such rights here: that would be Quay's
// FEATURE_SUPERUSERS_FULL_ACCESS, which wharf does not have.
func readonlySuperuser(p identity.Policy, c *wharf.Caller) bool {
	return c.Account != nil && p.IsReadonlySuperuser(c.Account) && c.HasScope(wharf.SuperUser)
}

// orgRights is what the caller may do with the organization in the path:
// administer it (tokens need org:admin), read it as a read-only superuser,
// or is a member of one of its teams.
type orgRights struct {
	org                  *wharf.Account
	admin, member, audit bool
}

func (h *teams) orgRights(r *http.Request, c *wharf.Caller) (orgRights, error) {
	org, admin, err := h.orgs.orgAdmin(r, c)
	if err != nil {
		return orgRights{}, err
	}
	o := orgRights{org: org, admin: admin, audit: readonlySuperuser(h.policy, c)}
	if c.Account != nil && c.HasScope(wharf.OrgAdmin) {
		role, err := h.orgs.identity.OrgRole(r.Context(), org, c.Account)
		if err != nil {
			return o, err
		}
		o.member = role != ""
	}
	return o, nil
}

// requireAdmin loads the organization and refuses callers who do not
// administer it (readers: read-only superusers too).
func (h *teams) requireAdmin(r *http.Request, c *wharf.Caller, reading bool) (*wharf.Account, error) {
	o, err := h.orgRights(r, c)
	if err != nil {
		return nil, err
	}
	if !o.admin && !(reading && o.audit) {
		return nil, errUnauthorized
	}
	return o.org, nil
}

func teamView(t *wharf.Team, canView bool) map[string]any {
	return map[string]any{"name": t.Name, "description": t.Description, "can_view": canView, "role": t.Role,
		"avatar": identity.AvatarFor(t.Name, "", "team")}
}

type teamRequest struct {
	Role        *string `json:"role"`
	Description *string `json:"description"`
}

// putTeam serves PUT /organization/{orgname}/team/{teamname}: create or
// update; 200 with the team view either way.
func (h *teams) putTeam(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireAdmin(r, c, false)
	if err != nil {
		return err
	}
	var req teamRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Role, "role"); err != nil {
		return err
	}
	t, created, err := h.tenancy.SaveTeam(r.Context(), c, org, r.PathValue("teamname"), *req.Role, req.Description)
	if err != nil {
		return err
	}
	v := teamView(t, true)
	v["new_team"] = created
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleteTeam serves DELETE /organization/{orgname}/team/{teamname}: 204;
// 404 for a team the organization does not have.
func (h *teams) deleteTeam(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireAdmin(r, c, false)
	if err != nil {
		return err
	}
	if err := h.tenancy.DeleteTeam(r.Context(), c, org, r.PathValue("teamname")); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// memberView is Quay's team member (and permission subject) view of a
// user or robot.
func memberView(a *wharf.Account) map[string]any {
	return map[string]any{"name": a.Name, "kind": "user", "is_robot": a.Kind == wharf.KindRobot, "avatar": avatar(a)}
}

// teamInPath loads the team in the path of an organization the caller may
// see it in: its administrators (and, reading, read-only superusers) or,
// when members may, a member of that very team.
func (h *teams) teamInPath(r *http.Request, c *wharf.Caller, reading, membersToo bool) (orgRights, *wharf.Team, error) {
	o, err := h.orgRights(r, c)
	if err != nil {
		return o, nil, err
	}
	allowed := o.admin || (reading && o.audit)
	t, err := h.tenancy.Team(r.Context(), o.org, r.PathValue("teamname"))
	if err != nil && !wharf.IsCode(err, wharf.NotFound) {
		return o, nil, err
	}
	if !allowed && membersToo && t != nil && o.member {
		members, err := h.store.TeamMembers(r.Context(), t.ID)
		if err != nil {
			return o, nil, err
		}
		for _, m := range members {
			allowed = allowed || m.ID == c.AccountID()
		}
	}
	if !allowed {
		return o, nil, errUnauthorized
	}
	if t == nil {
		return o, nil, errNotFound
	}
	return o, t, nil
}

// listTeamMembers serves GET …/team/{teamname}/members. Invitations are
// never pending in wharf (members are added directly), so includePending
// adds nothing.
func (h *teams) listTeamMembers(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	o, t, err := h.teamInPath(r, c, true, true)
	if err != nil {
		return err
	}
	members, err := h.store.TeamMembers(r.Context(), t.ID)
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(members))
	for _, m := range members {
		v := memberView(m)
		v["invited"] = false
		views = append(views, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": r.PathValue("teamname"), "members": views, "can_edit": o.admin})
	return nil
}

// putTeamMember serves PUT …/team/{teamname}/members/{membername}.
func (h *teams) putTeamMember(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	o, t, err := h.teamInPath(r, c, false, false)
	if err != nil {
		return err
	}
	member, err := h.tenancy.Member(r.Context(), r.PathValue("membername"))
	if err != nil {
		return err
	}
	if err := h.tenancy.AddMember(r.Context(), c, o.org, t, member); err != nil {
		return err
	}
	v := memberView(member)
	v["invited"] = false
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleteTeamMember serves DELETE …/team/{teamname}/members/{membername}.
func (h *teams) deleteTeamMember(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	o, t, err := h.teamInPath(r, c, false, false)
	if err != nil {
		return err
	}
	member, err := h.memberInPath(r, "membername")
	if err != nil {
		return err
	}
	if err := h.tenancy.RemoveMember(r.Context(), c, o.org, t, member); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func permissionRepoView(p wharf.Permission) map[string]any {
	return map[string]any{"repository": map[string]any{"name": p.Repository.Name, "is_public": p.Repository.Visibility == wharf.Public},
		"role": p.Role}
}

// listTeamPermissions serves GET …/team/{teamname}/permissions.
func (h *teams) listTeamPermissions(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	_, t, err := h.teamInPath(r, c, true, false)
	if err != nil {
		return err
	}
	perms, err := h.store.GranteePermissions(r.Context(), 0, t.ID)
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(perms))
	for _, p := range perms {
		views = append(views, permissionRepoView(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"permissions": views})
	return nil
}

func orgMemberView(m wharf.OrgMember) map[string]any {
	teams := make([]map[string]any, 0, len(m.Teams))
	for _, t := range m.Teams {
		teams = append(teams, map[string]any{"name": t, "avatar": identity.AvatarFor(t, "", "team")})
	}
	repos := m.Repositories
	if repos == nil {
		repos = []string{}
	}
	kind := "user"
	if m.Account.Kind == wharf.KindRobot {
		kind = "robot"
	}
	return map[string]any{"name": m.Account.Name, "kind": kind, "avatar": avatar(m.Account), "teams": teams, "repositories": repos}
}

// listOrgMembers serves GET /organization/{orgname}/members.
func (h *teams) listOrgMembers(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireAdmin(r, c, true)
	if err != nil {
		return err
	}
	members, err := h.store.OrgMembers(r.Context(), org.ID)
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(members))
	for _, m := range members {
		views = append(views, orgMemberView(m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": views})
	return nil
}

// memberInPath loads the user or robot the path parameter param names;
// an unknown name is NotFound here (a lookup, not a grant to validate).
func (h *teams) memberInPath(r *http.Request, param string) (*wharf.Account, error) {
	a, err := h.tenancy.Member(r.Context(), r.PathValue(param))
	if wharf.IsCode(err, wharf.Invalid) {
		return nil, errNotFound
	}
	return a, err
}

// orgMemberInPath loads the member in the path: a user or robot in a team
// of the organization, or one of its robots. NotFound otherwise.
func (h *teams) orgMemberInPath(r *http.Request, org *wharf.Account) (wharf.OrgMember, error) {
	a, err := h.memberInPath(r, "membername")
	if err != nil {
		return wharf.OrgMember{}, err
	}
	m, err := h.store.OrgMember(r.Context(), org.ID, a)
	if err != nil {
		return m, err
	}
	if len(m.Teams) == 0 && !(a.Kind == wharf.KindRobot && len(a.Name) > len(org.Name) && a.Name[:len(org.Name)+1] == org.Name+"+") {
		return m, errNotFound
	}
	return m, nil
}

// getOrgMember serves GET /organization/{orgname}/members/{membername}.
func (h *teams) getOrgMember(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireAdmin(r, c, true)
	if err != nil {
		return err
	}
	m, err := h.orgMemberInPath(r, org)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orgMemberView(m))
	return nil
}

// deleteOrgMember serves DELETE /organization/{orgname}/members/{membername}:
// the user leaves every team and loses its direct grants in the
// organization (each logged, unlike Quay).
func (h *teams) deleteOrgMember(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireAdmin(r, c, false)
	if err != nil {
		return err
	}
	a, err := h.memberInPath(r, "membername")
	if err != nil {
		return err
	}
	if a.Kind == wharf.KindRobot {
		return errNotFound
	}
	m, err := h.store.OrgMember(r.Context(), org.ID, a)
	if err != nil {
		return err
	}
	if err := h.tenancy.RemoveOrgMember(r.Context(), c, org, a, m.Repositories); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}
