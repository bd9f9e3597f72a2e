package api

import (
	"net/http"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

type createOrgRequest struct {
	Name  *string `json:"name"`
	Email *string `json:"email"`
}

// createOrganization serves POST /api/v1/organization/: 201 "Created"; the
// caller becomes the organization's owner.
func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
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
	if _, err := s.Identity.CreateOrg(r.Context(), c, *req.Name, email); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, "Created")
	return nil
}

// orgAdmin loads the organization in the path and reports whether the
// caller administers it through this credential (tokens need org:admin).
func (s *Server) orgAdmin(r *http.Request, c *wharf.Caller) (*wharf.Account, bool, error) {
	org, err := s.Identity.Org(r.Context(), r.PathValue("orgname"))
	if err != nil {
		return nil, false, err
	}
	if c.Account == nil || !c.HasScope(wharf.OrgAdmin) {
		return org, false, nil
	}
	isAdmin, err := s.Identity.IsOrgAdmin(r.Context(), org, c.Account)
	return org, isAdmin, err
}

// requireOrgAdmin is orgAdmin that refuses non-administrators with 403.
func (s *Server) requireOrgAdmin(r *http.Request, c *wharf.Caller) (*wharf.Account, error) {
	org, isAdmin, err := s.orgAdmin(r, c)
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
func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, isAdmin, err := s.orgAdmin(r, c)
	if err != nil {
		return err
	}
	role := ""
	if c.Account != nil {
		if role, err = s.Identity.OrgRole(r.Context(), org, c.Account); err != nil {
			return err
		}
	}
	v := map[string]any{"name": org.Name, "avatar": avatar(org), "is_admin": isAdmin, "is_member": role != "" || isAdmin,
		"is_free_account": true}
	if role != "" || isAdmin {
		teams, err := s.Store.OrgTeams(r.Context(), org.ID)
		if err != nil {
			return err
		}
		byName := map[string]any{}
		ordered := make([]string, 0, len(teams))
		for _, t := range teams {
			byName[t.Name] = map[string]any{"name": t.Name, "description": t.Description, "role": t.Role,
				"avatar": identity.AvatarFor(t.Name, "", "team"), "can_view": true, "repo_count": 0,
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
	if role != "" || isAdmin || s.superuserReads(c) {
		if err := s.views.quotaFields(r.Context(), v, org); err != nil {
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
func (s *Server) changeOrgDetails(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := s.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	var req updateOrgRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	ch := req.changes()
	ch.Name = nil
	if _, err := s.Identity.UpdateOrg(r.Context(), c, org.Name, ch); err != nil {
		return err
	}
	return s.getOrganization(w, r, c)
}

// deleteOrgAsAdmin serves DELETE /api/v1/organization/{orgname}.
func (s *Server) deleteOrgAsAdmin(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := s.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	if err := s.Identity.DeleteOrg(r.Context(), c, org.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// listAllOrganizations serves GET /api/v1/superuser/organizations/.
func (s *Server) listAllOrganizations(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	orgs, next, err := s.accounts.list(r, wharf.KindOrg, false, "orgs")
	if err != nil {
		return err
	}
	sums, err := s.views.quotaSummaries(r.Context(), orgs)
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(orgs))
	for i, o := range orgs {
		views[i] = s.views.superOrgViewWith(sums, o)
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
func (s *Server) changeOrganization(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var req updateOrgRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	org, err := s.Identity.UpdateOrg(r.Context(), c, r.PathValue("name"), req.changes())
	if err != nil {
		return err
	}
	v, err := s.views.superOrgView(r.Context(), org)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleteOrganization serves DELETE /api/v1/superuser/organizations/{name}.
func (s *Server) deleteOrganization(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	if err := s.Identity.DeleteOrg(r.Context(), c, r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// takeOwnership serves POST /api/v1/superuser/takeownership/{namespace}.
func (s *Server) takeOwnership(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	ns := r.PathValue("namespace")
	if err := s.Identity.TakeOwnership(r.Context(), c, ns); err != nil {
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
func (s *Server) listApplications(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := s.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	apps, err := s.Store.Applications(r.Context(), org.ID)
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
func (s *Server) createApplication(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	return s.saveApplication(w, r, c, func(org *wharf.Account, f identity.ApplicationFields) (*wharf.Application, error) {
		return s.Applications.Create(r.Context(), c, org, f)
	})
}

// saveApplication decodes an application body for an organization the
// caller administers and stores it with save: creating and updating take
// the same body and answer with the same view.
func (s *Server) saveApplication(w http.ResponseWriter, r *http.Request, c *wharf.Caller,
	save func(org *wharf.Account, f identity.ApplicationFields) (*wharf.Application, error)) error {
	org, err := s.requireOrgAdmin(r, c)
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
func (s *Server) getApplication(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := s.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	app, err := s.Applications.Get(r.Context(), org, r.PathValue("client_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, applicationView(app))
	return nil
}

// updateApplication serves PUT …/applications/{client_id} (the full object).
func (s *Server) updateApplication(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	return s.saveApplication(w, r, c, func(org *wharf.Account, f identity.ApplicationFields) (*wharf.Application, error) {
		return s.Applications.Update(r.Context(), c, org, r.PathValue("client_id"), f)
	})
}

// resetClientSecret serves POST …/applications/{client_id}/resetclientsecret.
func (s *Server) resetClientSecret(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := s.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	app, err := s.Applications.ResetSecret(r.Context(), c, org, r.PathValue("client_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, applicationView(app))
	return nil
}

// deleteApplication serves DELETE …/applications/{client_id}.
func (s *Server) deleteApplication(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := s.requireOrgAdmin(r, c)
	if err != nil {
		return err
	}
	if err := s.Applications.Delete(r.Context(), c, org, r.PathValue("client_id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}
