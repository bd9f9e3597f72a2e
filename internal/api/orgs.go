package api

import (
	"context"
	"net/http"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/repository"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// orgs serves organizations (to their members and administrators, and to
// superusers), their OAuth applications and robot accounts (robots.go).
type orgs struct {
	identity     *identity.Service
	applications *identity.Applications
	repositories *repository.Service // robots
	store        orgStore
	views        *accountViews
	accounts     accountPages
	policy       identity.Policy
}

// orgStore is what the organization, application and robot lists read
// directly.
type orgStore interface {
	OrgTeams(ctx context.Context, orgID int64) ([]wharf.Team, error)
	Applications(ctx context.Context, orgID int64) ([]*wharf.Application, error)
	Robots(ctx context.Context, namespaceID int64) ([]*wharf.Robot, error)
}

type createOrgRequest struct {
	Name  *string `json:"name"`
	Email *string `json:"email"`
}

// createOrganization serves POST /api/v1/organization/: 201 "Created"; the
// caller becomes the organization's owner.
func (h *orgs) createOrganization(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var req createOrgRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Name, "name"); err != nil {
		return err
	}
	email := ""
	if req.Email != nil {
		email = *req.Email
	}
	if _, err := h.identity.CreateOrg(r.Context(), c, *req.Name, email); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, "Created")
	return nil
}

// orgAdmin loads the organization in the path and reports whether the
// caller administers it through this credential (tokens need org:admin).
func (h *orgs) orgAdmin(r *http.Request, c *wharf.Caller) (*wharf.Account, bool, error) {
	org, err := h.identity.Org(r.Context(), r.PathValue("orgname"))
	if err != nil {
		return nil, false, err
	}
	if c.Account == nil || !c.HasScope(wharf.OrgAdmin) {
		return org, false, nil
	}
	isAdmin, err := h.identity.IsOrgAdmin(r.Context(), org, c.Account)
	return org, isAdmin, err
}

// requireOrgAdmin is orgAdmin that refuses non-administrators with 403.
func (h *orgs) requireOrgAdmin(r *http.Request, c *wharf.Caller) (*wharf.Account, error) {
	org, isAdmin, err := h.orgAdmin(r, c)
	if err != nil {
		return nil, err
	}
	if !isAdmin {
		return nil, wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	return org, nil
}

// getOrganization serves GET /api/v1/organization/{orgname}. Members see
// the teams, administrators also the e-mail, invoicing and tag expiration.
func (h *orgs) getOrganization(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, isAdmin, err := h.orgAdmin(r, c)
	if err != nil {
		return err
	}
	role := ""
	if c.Account != nil {
		if role, err = h.identity.OrgRole(r.Context(), org, c.Account); err != nil {
			return err
		}
	}
	v := map[string]any{"name": org.Name, "avatar": avatar(org), "is_admin": isAdmin, "is_member": role != "" || isAdmin,
		"is_free_account": true}
	if role != "" || isAdmin {
		teams, err := h.store.OrgTeams(r.Context(), org.ID)
		if err != nil {
			return err
		}
		byName := map[string]any{}
		ordered := make([]string, 0, len(teams))
		for _, t := range teams {
			byName[t.Name] = map[string]any{"name": t.Name, "description": t.Description, "role": t.Role,
				"avatar": identity.AvatarFor(t.Name, "", "team"), "can_view": true, "repo_count": t.RepoCount,
				"member_count": t.MemberCount, "is_synced": false}
			ordered = append(ordered, t.Name)
		}
		v["teams"], v["ordered_teams"] = byName, ordered
	}
	if isAdmin {
		v["email"] = nullable(org.Email)
		v["invoice_email"] = org.InvoiceEmail
		v["invoice_email_address"] = nullable(org.InvoiceEmailAddress)
		v["tag_expiration_s"] = org.TagExpirationS
	}
	// Quay shows the quota to members and administrators, and to the
	// superusers it lets manage quotas (wharf: every superuser whose
	// credential carries super:user, see superuserReads); quay_quota reads
	// quotas[0] here before deciding to create or change one.
	if role != "" || isAdmin || superuserReads(h.policy, c) {
		if err := h.views.quotaFields(r.Context(), v, org); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type updateOrgRequest struct {
	Name                *string `json:"name"`
	Email               *string `json:"email"`
	InvoiceEmail        *bool   `json:"invoice_email"`
	InvoiceEmailAddress *string `json:"invoice_email_address"`
	TagExpirationS      *int64  `json:"tag_expiration_s"`
}

func (req updateOrgRequest) changes() identity.OrgChanges {
	return identity.OrgChanges{Name: req.Name, Email: req.Email, InvoiceEmail: req.InvoiceEmail,
		InvoiceEmailAddress: req.InvoiceEmailAddress, TagExpirationS: req.TagExpirationS}
}

// changeOrgDetails serves PUT /api/v1/organization/{orgname} for its
// administrators: e-mail, invoicing and tag expiration (no rename here).
func (h *orgs) changeOrgDetails(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	var req updateOrgRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	ch := req.changes()
	ch.Name = nil
	if _, err := h.identity.UpdateOrg(r.Context(), c, org.Name, ch); err != nil {
		return err
	}
	return h.getOrganization(w, r, c)
}

// deleteOrgAsAdmin serves DELETE /api/v1/organization/{orgname}.
func (h *orgs) deleteOrgAsAdmin(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	if err := h.identity.DeleteOrg(r.Context(), c, org.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// listAllOrganizations serves GET /api/v1/superuser/organizations/.
func (h *orgs) listAllOrganizations(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	page, next, err := h.accounts.list(r, wharf.KindOrg, false, "orgs")
	if err != nil {
		return err
	}
	sums, err := h.views.quotaSummaries(r.Context(), page)
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(page))
	for i, o := range page {
		views[i] = h.views.superOrgViewWith(sums, o)
	}
	resp := map[string]any{"organizations": views}
	if next != "" {
		resp["next_page"] = next
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// changeOrganization serves PUT /api/v1/superuser/organizations/{name}:
// the seed's fields (e-mail, invoicing, tag expiration) and a rename.
func (h *orgs) changeOrganization(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var req updateOrgRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	org, err := h.identity.UpdateOrg(r.Context(), c, r.PathValue("name"), req.changes())
	if err != nil {
		return err
	}
	v, err := h.views.superOrgView(r.Context(), org)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleteOrganization serves DELETE /api/v1/superuser/organizations/{name}.
func (h *orgs) deleteOrganization(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	if err := h.identity.DeleteOrg(r.Context(), c, r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// takeOwnership serves POST /api/v1/superuser/takeownership/{namespace}.
func (h *orgs) takeOwnership(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	ns := r.PathValue("namespace")
	if err := h.identity.TakeOwnership(r.Context(), c, ns); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"namespace": ns})
	return nil
}

type applicationRequest struct {
	Name           *string `json:"name"`
	Description    *string `json:"description"`
	ApplicationURI *string `json:"application_uri"`
	RedirectURI    *string `json:"redirect_uri"`
	AvatarEmail    *string `json:"avatar_email"`
}

func (req applicationRequest) fields() identity.ApplicationFields {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return identity.ApplicationFields{Name: str(req.Name), Description: str(req.Description),
		ApplicationURI: str(req.ApplicationURI), RedirectURI: str(req.RedirectURI), AvatarEmail: str(req.AvatarEmail)}
}

// listApplications serves GET /api/v1/organization/{orgname}/applications.
func (h *orgs) listApplications(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	apps, err := h.store.Applications(r.Context(), org.ID)
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(apps))
	for i, a := range apps {
		views[i] = applicationView(a)
	}
	writeJSON(w, http.StatusOK, map[string]any{"applications": views})
	return nil
}

// createApplication serves POST /api/v1/organization/{orgname}/applications.
func (h *orgs) createApplication(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	return h.saveApplication(w, r, c, func(org *wharf.Account, f identity.ApplicationFields) (*wharf.Application, error) {
		return h.applications.Create(r.Context(), c, org, f)
	})
}

// saveApplication decodes an application body for an organization the
// caller administers and stores it with save: creating and updating take
// the same body and answer with the same view.
func (h *orgs) saveApplication(w http.ResponseWriter, r *http.Request, c *wharf.Caller,
	save func(org *wharf.Account, f identity.ApplicationFields) (*wharf.Application, error)) error {
	org, err := h.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	var req applicationRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Name, "name"); err != nil {
		return err
	}
	app, err := save(org, req.fields())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, applicationView(app))
	return nil
}

// getApplication serves GET …/applications/{client_id}.
func (h *orgs) getApplication(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	app, err := h.applications.Get(r.Context(), org, r.PathValue("client_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, applicationView(app))
	return nil
}

// updateApplication serves PUT …/applications/{client_id} (the full object).
func (h *orgs) updateApplication(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	return h.saveApplication(w, r, c, func(org *wharf.Account, f identity.ApplicationFields) (*wharf.Application, error) {
		return h.applications.Update(r.Context(), c, org, r.PathValue("client_id"), f)
	})
}

// resetClientSecret serves POST …/applications/{client_id}/resetclientsecret.
func (h *orgs) resetClientSecret(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	app, err := h.applications.ResetSecret(r.Context(), c, org, r.PathValue("client_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, applicationView(app))
	return nil
}

// deleteApplication serves DELETE …/applications/{client_id}.
func (h *orgs) deleteApplication(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	if err := h.applications.Delete(r.Context(), c, org, r.PathValue("client_id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}
