package api

import (
	"net/http"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Robot accounts of an organization (managed by its administrators) or of
// the caller's own namespace.

// robotNamespace resolves the namespace of a robot path: the organization
// in the path (its admins manage its robots) or, for /user/robots, the caller.
func (h *orgs) robotNamespace(r *http.Request, c *wharf.Caller) (*wharf.Account, error) {
	if r.PathValue("orgname") == "" {
		if !c.HasScope(wharf.UserAdmin) {
			return nil, wharf.Errorf(wharf.Forbidden, "Unauthorized")
		}
		return c.Account, nil
	}
	return h.requireOrgAdmin(r, c)
}

func robotView(rb *wharf.Robot) map[string]any {
	return map[string]any{"name": rb.Account.Name, "description": rb.Description, "token": rb.Token,
		"created": formatDate(rb.CreatedAt), "last_accessed": nil, "unstructured_metadata": map[string]any{}}
}

type robotRequest struct {
	Description *string `json:"description"`
}

// putRobot serves PUT …/robots/{robot_shortname}: creates the robot (201).
func (h *orgs) putRobot(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	ns, err := h.robotNamespace(r, c)
	if err != nil {
		return err
	}
	var req robotRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	desc := ""
	if req.Description != nil {
		desc = *req.Description
	}
	rb, err := h.repositories.CreateRobot(r.Context(), c, ns, r.PathValue("robot_shortname"), desc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, robotView(rb))
	return nil
}

// robotInPath is the namespace the caller manages robots of and the robot
// the path names in it.
func (h *orgs) robotInPath(r *http.Request, c *wharf.Caller) (*wharf.Account, *wharf.Robot, error) {
	ns, err := h.robotNamespace(r, c)
	if err != nil {
		return nil, nil, err
	}
	rb, err := h.repositories.Robot(r.Context(), ns, r.PathValue("robot_shortname"))
	return ns, rb, err
}

// getRobot serves GET …/robots/{robot_shortname}, token included.
func (h *orgs) getRobot(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	_, rb, err := h.robotInPath(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, robotView(rb))
	return nil
}

// deleteRobot serves DELETE …/robots/{robot_shortname}.
func (h *orgs) deleteRobot(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	ns, rb, err := h.robotInPath(r, c)
	if err != nil {
		return err
	}
	if err := h.repositories.DeleteRobot(r.Context(), c, ns, rb); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// regenerateRobot serves POST …/robots/{robot_shortname}/regenerate: a new
// token replaces the old one, which stops working (token included in the
// answer, as Quay's).
func (h *orgs) regenerateRobot(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	ns, rb, err := h.robotInPath(r, c)
	if err != nil {
		return err
	}
	if rb, err = h.repositories.RegenerateRobotToken(r.Context(), c, ns, rb); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, robotView(rb))
	return nil
}

// listRobots serves GET …/robots.
func (h *orgs) listRobots(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	ns, err := h.robotNamespace(r, c)
	if err != nil {
		return err
	}
	robots, err := h.store.Robots(r.Context(), ns.ID)
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(robots))
	for i, rb := range robots {
		views[i] = robotView(rb)
	}
	writeJSON(w, http.StatusOK, map[string]any{"robots": views})
	return nil
}
