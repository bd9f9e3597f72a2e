package api

import (
	"net/http"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/tenancy"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Default permissions (Quay's permission prototypes) of an organization,
// for its administrators (and, reading, read-only superusers).

func (h *teams) prototypeAccountView(r *http.Request, org, a *wharf.Account) (map[string]any, error) {
	v := memberView(a)
	member := a.Kind == wharf.KindRobot
	if !member {
		role, err := h.orgs.identity.OrgRole(r.Context(), org, a)
		if err != nil {
			return nil, err
		}
		member = role != ""
	}
	v["is_org_member"] = member
	return v, nil
}

func (h *teams) prototypeView(r *http.Request, org *wharf.Account, p *wharf.Prototype) (map[string]any, error) {
	v := map[string]any{"id": p.UUID, "role": p.Role, "activating_user": nil}
	var err error
	if p.Activating != nil {
		if v["activating_user"], err = h.prototypeAccountView(r, org, p.Activating); err != nil {
			return nil, err
		}
	}
	if p.DelegateTeam != nil {
		v["delegate"] = map[string]any{"name": p.DelegateTeam.Name, "kind": "team", "avatar": identity.AvatarFor(p.DelegateTeam.Name, "", "team")}
	} else if v["delegate"], err = h.prototypeAccountView(r, org, p.DelegateAccount); err != nil {
		return nil, err
	}
	return v, nil
}

// listPrototypes serves GET /organization/{orgname}/prototypes.
func (h *teams) listPrototypes(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireAdmin(r, c, true)
	if err != nil {
		return err
	}
	ps, err := h.store.Prototypes(r.Context(), org.ID)
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		v, err := h.prototypeView(r, org, p)
		if err != nil {
			return err
		}
		views = append(views, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"prototypes": views})
	return nil
}

type prototypeRequest struct {
	Role     *string `json:"role"`
	Delegate *struct {
		Name *string `json:"name"`
		Kind *string `json:"kind"`
	} `json:"delegate"`
	ActivatingUser *struct {
		Name *string `json:"name"`
	} `json:"activating_user"`
}

// createPrototype serves POST /organization/{orgname}/prototypes: 200.
func (h *teams) createPrototype(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireAdmin(r, c, false)
	if err != nil {
		return err
	}
	var req prototypeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Role, "role"); err != nil {
		return err
	}
	if err := required(req.Delegate, "delegate"); err != nil {
		return err
	}
	if err := required(req.Delegate.Name, "delegate.name"); err != nil {
		return err
	}
	if err := required(req.Delegate.Kind, "delegate.kind"); err != nil {
		return err
	}
	activating := ""
	if req.ActivatingUser != nil && req.ActivatingUser.Name != nil {
		activating = *req.ActivatingUser.Name
	}
	p, err := h.tenancy.CreatePrototype(r.Context(), c, org, activating,
		tenancy.PrototypeDelegate{Name: *req.Delegate.Name, Kind: *req.Delegate.Kind}, *req.Role)
	if err != nil {
		return err
	}
	v, err := h.prototypeView(r, org, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// prototypeInPath loads the organization's prototype in the path; another
// organization's uuid is NotFound.
func (h *teams) prototypeInPath(r *http.Request, c *wharf.Caller) (*wharf.Account, *wharf.Prototype, error) {
	org, err := h.requireAdmin(r, c, false)
	if err != nil {
		return nil, nil, err
	}
	p, err := h.store.PrototypeByUUID(r.Context(), org.ID, r.PathValue("prototypeid"))
	return org, p, err
}

// updatePrototype serves PUT …/prototypes/{prototypeid}: only the role changes.
func (h *teams) updatePrototype(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, p, err := h.prototypeInPath(r, c)
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
	if err := h.tenancy.SetPrototypeRole(r.Context(), c, org, p, *req.Role); err != nil {
		return err
	}
	v, err := h.prototypeView(r, org, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deletePrototype serves DELETE …/prototypes/{prototypeid}: 204.
func (h *teams) deletePrototype(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, p, err := h.prototypeInPath(r, c)
	if err != nil {
		return err
	}
	if err := h.tenancy.DeletePrototype(r.Context(), c, org, p); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}
