package api

import (
	"net/http"

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Repository permissions: who holds which role on a repository, for its
// administrators (and, reading, read-only superusers). A repository the
// caller may not read does not exist for it (404, as everywhere in
// wharf); one it reads but may not administer is 403.

func (h *teams) adminRepository(r *http.Request, c *wharf.Caller, reading bool) (*wharf.Repository, error) {
	d, err := administered(r, c, h.access, reading)
	return d.Repository, err
}

// administered is the access decision on the path's repository for one of
// its administrators (and, reading, read-only superusers): 404 for a
// repository the caller may not see, 403 for one it may not administer.
func administered(r *http.Request, c *wharf.Caller, a *access.Service, reading bool) (access.Decision, error) {
	d, err := a.Repository(r.Context(), c, r.PathValue("namespace"), r.PathValue("repository"))
	if err != nil {
		return d, err
	}
	if !d.Visible() {
		return d, errNotFound
	}
	if !d.Admin && !(reading && d.Inspect) {
		return d, errUnauthorized
	}
	return d, nil
}

// userPermissionView is Quay's view of a user's or robot's grant;
// is_org_member only for organization repositories.
func (h *teams) userPermissionView(r *http.Request, repo *wharf.Repository, p wharf.Permission) (map[string]any, error) {
	v := memberView(p.Account)
	delete(v, "kind")
	v["role"] = p.Role
	ns, err := h.orgs.identity.Org(r.Context(), repo.Namespace)
	if wharf.IsCode(err, wharf.NotFound) {
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	member := p.Account.Kind == wharf.KindRobot
	if !member {
		role, err := h.orgs.identity.OrgRole(r.Context(), ns, p.Account)
		if err != nil {
			return nil, err
		}
		member = role != ""
	}
	v["is_org_member"] = member
	return v, nil
}

func teamPermissionView(p wharf.Permission) map[string]any {
	return map[string]any{"role": p.Role, "name": p.Team.Name, "avatar": identity.AvatarFor(p.Team.Name, "", "team")}
}

// listPermissions serves GET …/permissions/user/ and …/permissions/team/:
// maps keyed by name.
func (h *teams) listPermissions(teamsOnly bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		repo, err := h.adminRepository(r, c, true)
		if err != nil {
			return err
		}
		perms, err := h.store.RepositoryPermissions(r.Context(), repo.ID)
		if err != nil {
			return err
		}
		out := map[string]any{}
		for _, p := range perms {
			switch {
			case teamsOnly && p.Team != nil:
				out[p.Team.Name] = teamPermissionView(p)
			case !teamsOnly && p.Account != nil:
				if out[p.Account.Name], err = h.userPermissionView(r, repo, p); err != nil {
					return err
				}
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"permissions": out})
		return nil
	}
}

// permissionSubject resolves the user or team in the path of a single
// permission endpoint.
func (h *teams) permissionSubject(r *http.Request, repo *wharf.Repository, team bool) (*wharf.Account, *wharf.Team, error) {
	if !team {
		a, err := h.tenancy.Grantee(r.Context(), repo, r.PathValue("username"))
		return a, nil, err
	}
	name := r.PathValue("teamname")
	org, err := h.orgs.identity.Org(r.Context(), repo.Namespace)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, nil, wharf.Errorf(wharf.Invalid, "No team %s in organization %s", name, repo.Namespace)
	}
	if err != nil {
		return nil, nil, err
	}
	t, err := h.tenancy.Team(r.Context(), org, name)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, nil, wharf.Errorf(wharf.Invalid, "No team %s in organization %s", name, repo.Namespace)
	}
	return nil, t, err
}

// getPermission serves GET …/permissions/{user|team}/{name}: 400 without
// an explicit grant, as Quay.
func (h *teams) getPermission(team bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		repo, err := h.adminRepository(r, c, true)
		if err != nil {
			return err
		}
		a, t, err := h.permissionSubject(r, repo, team)
		if err != nil {
			return err
		}
		p, err := h.tenancy.Permission(r.Context(), repo, a, t)
		if err != nil {
			return err
		}
		return h.writePermission(w, r, repo, p)
	}
}

func (h *teams) writePermission(w http.ResponseWriter, r *http.Request, repo *wharf.Repository, p wharf.Permission) error {
	if p.Team != nil {
		writeJSON(w, http.StatusOK, teamPermissionView(p))
		return nil
	}
	v, err := h.userPermissionView(r, repo, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type roleRequest struct {
	Role *string `json:"role"`
}

// putPermission serves PUT …/permissions/{user|team}/{name}.
func (h *teams) putPermission(team bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		repo, err := h.adminRepository(r, c, false)
		if err != nil {
			return err
		}
		var req roleRequest
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
		if err := required(req.Role, "role"); err != nil {
			return err
		}
		a, t, err := h.permissionSubject(r, repo, team)
		if err != nil {
			return err
		}
		if err := h.tenancy.SetPermission(r.Context(), c, repo, a, t, *req.Role); err != nil {
			return err
		}
		return h.writePermission(w, r, repo, wharf.Permission{Repository: repo, Account: a, Team: t, Role: *req.Role})
	}
}

// deletePermission serves DELETE …/permissions/{user|team}/{name}.
func (h *teams) deletePermission(team bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		repo, err := h.adminRepository(r, c, false)
		if err != nil {
			return err
		}
		a, t, err := h.permissionSubject(r, repo, team)
		if err != nil {
			return err
		}
		if err := h.tenancy.DeletePermission(r.Context(), c, repo, a, t); err != nil {
			return err
		}
		writeJSON(w, http.StatusNoContent, nil)
		return nil
	}
}

// transitivePermissions serves GET …/permissions/user/{username}/transitive:
// one role per grant the user holds directly or through a team.
func (h *teams) transitivePermissions(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, err := h.adminRepository(r, c, true)
	if err != nil {
		return err
	}
	a, err := h.memberInPath(r, "username")
	if err != nil {
		return err
	}
	roles, err := h.store.TransitiveRoles(r.Context(), repo.ID, a.ID)
	if err != nil {
		return err
	}
	if len(roles) == 0 {
		return errNotFound
	}
	views := make([]map[string]string, 0, len(roles))
	for _, role := range roles {
		views = append(views, map[string]string{"role": role})
	}
	writeJSON(w, http.StatusOK, map[string]any{"permissions": views})
	return nil
}

// robotPermissions serves GET …/robots/{robot_shortname}/permissions: the
// robot's direct grants.
func (h *teams) robotPermissions(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var ns *wharf.Account
	if r.PathValue("orgname") == "" {
		if !c.HasScope(wharf.UserAdmin) {
			return errUnauthorized
		}
		ns = c.Account
	} else {
		org, err := h.requireAdmin(r, c, true)
		if err != nil {
			return err
		}
		ns = org
	}
	rb, err := h.robots.Robot(r.Context(), ns, r.PathValue("robot_shortname"))
	if wharf.IsCode(err, wharf.NotFound) {
		return wharf.Errorf(wharf.Invalid, "Could not find robot with specified username")
	}
	if err != nil {
		return err
	}
	perms, err := h.store.GranteePermissions(r.Context(), rb.Account.ID, 0)
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
