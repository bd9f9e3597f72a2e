package api

import (
	"net/http"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// repositoryPageSize is Quay's page of the repository lists.
const repositoryPageSize = 100

// repoCursor is the keyset position of a repository list's next page.
type repoCursor struct {
	After int64 `json:"a"`
}

// queryFlag reads a Quay truthy_bool query parameter.
func queryFlag(r *http.Request, name string) bool {
	switch strings.ToLower(r.URL.Query().Get(name)) {
	case "", "false", "0", "null":
		return false
	}
	return true
}

// listRepositories serves GET /api/v1/repository: the repositories of a
// namespace, the public ones, or the caller's starred ones, that the
// caller may read, 100 a page in id order with a sealed keyset next_page.
func (h *teams) listRepositories(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	q := r.URL.Query()
	namespace := q.Get("namespace")
	starred, public := queryFlag(r, "starred"), queryFlag(r, "public")
	if namespace == "" && !starred && !public {
		return wharf.Errorf(wharf.Invalid, "namespace, starred or public are required for this API call")
	}
	kind := q.Get("repo_kind")
	if kind != "" && kind != "image" && kind != "application" {
		return wharf.Errorf(wharf.Invalid, "Unknown repository kind")
	}
	if kind == "" {
		kind = "image"
	}
	if starred && c.Account == nil {
		return wharf.Errorf(wharf.Invalid, "Starred repositories need a signed-in caller")
	}
	query := wharf.RepositoryListQuery{Starred: starred, Public: public, Limit: repositoryPageSize + 1}
	if c.Account != nil && c.HasScope(wharf.RepoRead) {
		query.AccountID = c.Account.ID
	}
	query.All = readonlySuperuser(h.policy, c) && !starred
	if tok := q.Get("next_page"); tok != "" {
		var cur repoCursor
		if err := h.pages.Open("repositories", tok, &cur); err != nil {
			return err
		}
		query.AfterID = cur.After
	}
	var repos []*wharf.Repository
	if namespace != "" {
		ns, err := h.orgs.identity.Namespace(r.Context(), namespace)
		if err != nil && !wharf.IsCode(err, wharf.NotFound) {
			return err
		}
		query.NamespaceID = -1 // an unknown namespace has no repositories
		if ns != nil {
			query.NamespaceID = ns.ID
		}
	}
	if kind == "image" && query.NamespaceID != -1 {
		var err error
		if repos, err = h.store.ListRepositories(r.Context(), query); err != nil {
			return err
		}
	}
	out := map[string]any{}
	if len(repos) > repositoryPageSize {
		repos = repos[:repositoryPageSize]
		next, err := h.pages.Seal("repositories", repoCursor{After: repos[len(repos)-1].ID})
		if err != nil {
			return err
		}
		out["next_page"] = next
	}
	views, err := h.repositoryListViews(r, c, repos, kind)
	if err != nil {
		return err
	}
	out["repositories"] = views
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *teams) repositoryListViews(r *http.Request, c *wharf.Caller, repos []*wharf.Repository, kind string) ([]map[string]any, error) {
	ids := make([]int64, len(repos))
	for i, repo := range repos {
		ids[i] = repo.ID
	}
	stars, err := h.store.Starred(r.Context(), c.AccountID(), ids)
	if err != nil {
		return nil, err
	}
	var modified map[int64]int64
	if queryFlag(r, "last_modified") {
		if modified, err = h.store.LastModified(r.Context(), ids); err != nil {
			return nil, err
		}
	}
	views := make([]map[string]any, 0, len(repos))
	for _, repo := range repos {
		v := map[string]any{"namespace": repo.Namespace, "name": repo.Name, "description": nullable(repo.Description),
			"is_public": repo.Visibility == wharf.Public, "kind": kind, "state": repoState(repo)}
		if c.Account != nil {
			v["is_starred"] = stars[repo.ID]
		}
		if modified != nil {
			if t, ok := modified[repo.ID]; ok {
				v["last_modified"] = t
			} else {
				v["last_modified"] = nil
			}
		}
		views = append(views, v)
	}
	return views, nil
}

func repoState(repo *wharf.Repository) string {
	if repo.State == "" {
		return wharf.StateNormal
	}
	return repo.State
}

// listStarred serves GET /api/v1/user/starred: the caller's starred
// repositories it may still read, paged as the repository list.
func (h *teams) listStarred(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	query := wharf.RepositoryListQuery{AccountID: c.AccountID(), Starred: true, Limit: repositoryPageSize + 1}
	if tok := r.URL.Query().Get("next_page"); tok != "" {
		var cur repoCursor
		if err := h.pages.Open("starred", tok, &cur); err != nil {
			return err
		}
		query.AfterID = cur.After
	}
	repos, err := h.store.ListRepositories(r.Context(), query)
	if err != nil {
		return err
	}
	out := map[string]any{}
	if len(repos) > repositoryPageSize {
		repos = repos[:repositoryPageSize]
		next, err := h.pages.Seal("starred", repoCursor{After: repos[len(repos)-1].ID})
		if err != nil {
			return err
		}
		out["next_page"] = next
	}
	views := make([]map[string]any, 0, len(repos))
	for _, repo := range repos {
		views = append(views, map[string]any{"namespace": repo.Namespace, "name": repo.Name,
			"description": nullable(repo.Description), "is_public": repo.Visibility == wharf.Public})
	}
	out["repositories"] = views
	writeJSON(w, http.StatusOK, out)
	return nil
}

type starRequest struct {
	Namespace  *string `json:"namespace"`
	Repository *string `json:"repository"`
}

// starRepository serves POST /api/v1/user/starred: 201 echoing the input;
// a repository the caller cannot read is 404, as a missing one.
func (h *teams) starRepository(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var req starRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Namespace, "namespace"); err != nil {
		return err
	}
	if err := required(req.Repository, "repository"); err != nil {
		return err
	}
	d, err := h.access.Repository(r.Context(), c.Unscoped(), *req.Namespace, *req.Repository)
	if err != nil {
		return err
	}
	if !d.Visible() {
		return errNotFound
	}
	if err := h.store.SetStar(r.Context(), c.AccountID(), d.Repository.ID, true); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"namespace": *req.Namespace, "repository": *req.Repository})
	return nil
}

// unstarRepository serves DELETE /api/v1/user/starred/{namespace}/{repository}:
// 204; a repository the caller cannot read is 404, as a missing one (its
// 204 would tell that the private repository exists).
func (h *teams) unstarRepository(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	d, err := h.access.Repository(r.Context(), c.Unscoped(), r.PathValue("namespace"), r.PathValue("repository"))
	if err != nil {
		return err
	}
	if !d.Visible() {
		return errNotFound
	}
	if err := h.store.SetStar(r.Context(), c.AccountID(), d.Repository.ID, false); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

type stateRequest struct {
	State *string `json:"state"`
}

// changeState serves PUT …/repository/{namespace}/{repository}/changestate.
func (h *teams) changeState(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, err := h.adminRepository(r, c, false)
	if err != nil {
		return err
	}
	var req stateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.State, "state"); err != nil {
		return err
	}
	if err := h.tenancy.SetState(r.Context(), c, repo, *req.State); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}
