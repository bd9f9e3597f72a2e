package api

import (
	"context"
	"net/http"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/pagetoken"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// users serves the caller's own view, the entity search and the superuser's
// user administration.
type users struct {
	identity *identity.Service
	store    userStore
	views    *accountViews
	accounts accountPages
	policy   identity.Policy
	// secretKey keys the encrypted_password values Quay returns.
	secretKey string
}

// userStore is what the user views read directly.
type userStore interface {
	MemberOrgs(ctx context.Context, memberID int64) ([]*wharf.Account, error)
	SearchAccounts(ctx context.Context, prefix string, kinds []wharf.AccountKind, limit int) ([]*wharf.Account, error)
}

// getCurrentUser serves GET /api/v1/user/: the caller's own view, which
// every namespaced Ansible module reads first (who_am_i).
func (h *users) getCurrentUser(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	u := c.Account
	orgs, err := h.store.MemberOrgs(r.Context(), u.ID)
	if err != nil {
		return err
	}
	orgViews := make([]map[string]any, 0, len(orgs))
	for _, o := range orgs {
		isAdmin, err := h.identity.IsOrgAdmin(r.Context(), o, u)
		if err != nil {
			return err
		}
		orgViews = append(orgViews, map[string]any{"name": o.Name, "avatar": avatar(o), "is_org_admin": isAdmin,
			"can_create_repo": true, "public": false, "preferred_namespace": false})
	}
	v := map[string]any{
		"anonymous":                  false,
		"username":                   u.Name,
		"avatar":                     avatar(u),
		"can_create_repo":            true,
		"is_me":                      true,
		"verified":                   u.Verified,
		"email":                      nullable(u.Email),
		"logins":                     []any{},
		"invoice_email":              u.InvoiceEmail,
		"invoice_email_address":      nullable(u.InvoiceEmailAddress),
		"preferred_namespace":        false,
		"tag_expiration_s":           u.TagExpirationS,
		"prompts":                    []any{},
		"company":                    nil,
		"family_name":                nil,
		"given_name":                 nil,
		"location":                   nil,
		"super_user":                 h.policy.IsSuperuser(u),
		"global_readonly_super_user": h.policy.IsReadonlySuperuser(u),
		"organizations":              orgViews,
	}
	if err := h.views.quotaFields(r.Context(), v, u); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// idCursor is the keyset cursor of the users and organizations lists.
type idCursor struct {
	From int64 `json:"from"`
}

// accountPages pages through the accounts of one kind for the superuser
// user and organization lists, with sealed next_page cursors.
type accountPages struct {
	store accountLister
	pages *pagetoken.Sealer
}

// accountLister lists accounts a page at a time.
type accountLister interface {
	ListAccounts(ctx context.Context, page wharf.AccountPage) ([]*wharf.Account, error)
}

// listPage reads limit and next_page. A next_page token without limit
// pages by 100 (Quay would silently ignore the token).
func (p accountPages) listPage(r *http.Request, purpose string) (limit int, from int64, err error) {
	if limit, err = pageLimit(r); err != nil {
		return 0, 0, err
	}
	if tok := r.URL.Query().Get("next_page"); tok != "" {
		var cur idCursor
		if err := p.pages.Open(purpose, tok, &cur); err != nil {
			return 0, 0, err
		}
		if limit == 0 {
			limit = 100
		}
		from = cur.From
	}
	return limit, from, nil
}

// list pages through accounts of one kind and seals the cursor of the
// next page when there is one.
func (p accountPages) list(r *http.Request, kind wharf.AccountKind, enabledOnly bool, purpose string) ([]*wharf.Account, string, error) {
	limit, from, err := p.listPage(r, purpose)
	if err != nil {
		return nil, "", err
	}
	rows, err := p.store.ListAccounts(r.Context(), wharf.AccountPage{Kind: kind, EnabledOnly: enabledOnly, FromID: from, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	if limit == 0 || len(rows) <= limit {
		return rows, "", nil
	}
	next, err := p.pages.Seal(purpose, idCursor{From: rows[limit].ID})
	return rows[:limit], next, err
}

// userPage is a page of listAllUsers: next_page only when there is one.
type userPage struct {
	NextPage string           `json:"next_page,omitempty"`
	Users    []*superUserView `json:"users"`
}

// listAllUsers serves GET /api/v1/superuser/users/.
func (h *users) listAllUsers(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	includeDisabled := queryBool(r, "disabled", true)
	page, next, err := h.accounts.list(r, wharf.KindUser, !includeDisabled, "users")
	if err != nil {
		return err
	}
	sums, err := h.views.quotaSummaries(r.Context(), page)
	if err != nil {
		return err
	}
	resp := userPage{Users: make([]*superUserView, len(page)), NextPage: next}
	for i, u := range page {
		resp.Users[i] = h.views.superUserViewWith(sums, u)
	}
	writeJSON(w, http.StatusOK, &resp)
	return nil
}

type createUserRequest struct {
	Username *string `json:"username"`
	Email    *string `json:"email"`
}

// createInstallUser serves POST /api/v1/superuser/users/: 200 with the
// generated password, as Quay answers.
func (h *users) createInstallUser(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var req createUserRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Username, "username"); err != nil {
		return err
	}
	email := ""
	if req.Email != nil {
		email = *req.Email
	}
	u, password, err := h.identity.CreateUser(r.Context(), c, *req.Username, email)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"username": u.Name, "email": nullable(u.Email), "password": password,
		"encrypted_password": identity.EncryptPassword(h.secretKey, password)})
	return nil
}

// getInstallUser serves GET /api/v1/superuser/users/{username}.
func (h *users) getInstallUser(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	u, err := h.identity.User(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	v, err := h.views.superUserView(r.Context(), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type changeUserRequest struct {
	Password  *string `json:"password"`
	Email     *string `json:"email"`
	Enabled   *bool   `json:"enabled"`
	Superuser *bool   `json:"superuser"`
}

// changeInstallUser serves PUT /api/v1/superuser/users/{username}; the
// answer shows the state stored after the change.
func (h *users) changeInstallUser(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var req changeUserRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.identity.ChangeUser(r.Context(), c, r.PathValue("username"), identity.UserChanges{
		Password: req.Password, Email: req.Email, Enabled: req.Enabled, Superuser: req.Superuser})
	if err != nil {
		return err
	}
	v, err := h.views.superUserView(r.Context(), u)
	if err != nil {
		return err
	}
	if req.Password != nil {
		v.EncryptedPassword = identity.EncryptPassword(h.secretKey, *req.Password)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleteInstallUser serves DELETE /api/v1/superuser/users/{username}.
func (h *users) deleteInstallUser(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	if err := h.identity.DeleteUser(r.Context(), c, r.PathValue("username")); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// getEntities serves GET /api/v1/entities/{prefix}: users (and, unless
// includeOrgs=False, organizations) whose name starts with prefix.
func (h *users) getEntities(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	includeOrgs := queryBool(r, "includeOrgs", true)
	kinds := []wharf.AccountKind{wharf.KindUser}
	if includeOrgs {
		kinds = append(kinds, wharf.KindOrg)
	}
	found, err := h.store.SearchAccounts(r.Context(), r.PathValue("prefix"), kinds, 20)
	if err != nil {
		return err
	}
	results := make([]map[string]any, 0, len(found))
	for _, a := range found {
		v := map[string]any{"name": a.Name, "kind": string(a.Kind), "avatar": avatar(a)}
		if a.Kind == wharf.KindUser {
			v["is_robot"] = false
		} else {
			role, err := h.identity.OrgRole(r.Context(), a, c.Account)
			if err != nil {
				return err
			}
			v["is_org_member"] = role != ""
		}
		results = append(results, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}
