package api

import (
	"context"
	"net/http"
	"time"

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/repository"
	"github.com/wharf-registry/wharf/internal/tags"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// repositories serves creating, reading, describing, publishing and
// deleting repositories.
type repositories struct {
	access       *access.Service
	repositories *repository.Service
	store        repositoryStore
	tags         *tags.Service
	now          func() time.Time
}

// repositoryStore is what the repository view reads directly: the
// repository's namespace, whether the caller starred it and its daily
// action counts.
type repositoryStore interface {
	AccountByID(ctx context.Context, id int64) (*wharf.Account, error)
	Starred(ctx context.Context, accountID int64, repoIDs []int64) (map[int64]bool, error)
	AggregateLogs(ctx context.Context, q wharf.LogQuery) ([]wharf.LogCount, error)
}

// repoAccess loads {namespace}/{repository} from the path with what the
// caller may do with it through this credential (tokens need repo:* scopes).
func (h *repositories) repoAccess(r *http.Request, c *wharf.Caller) (*wharf.Repository, access.Decision, error) {
	d, err := h.access.Repository(r.Context(), c, r.PathValue("namespace"), r.PathValue("repository"))
	if err != nil {
		return nil, d, err
	}
	if !d.Visible() {
		// Private repositories the caller cannot see do not exist for it.
		return nil, d, errNotFound
	}
	return d.Repository, d, nil
}

// repoNeeding loads the repository in the path for a caller who must hold
// write (admin false) or admin on it.
func (h *repositories) repoNeeding(r *http.Request, c *wharf.Caller, admin bool) (*wharf.Repository, error) {
	repo, d, err := h.repoAccess(r, c)
	if err != nil {
		return nil, err
	}
	if (admin && !d.Admin) || (!admin && !d.Write && !d.Admin) {
		return nil, wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	return repo, nil
}

func (h *repositories) repoAdmin(r *http.Request, c *wharf.Caller) (*wharf.Repository, error) {
	return h.repoNeeding(r, c, true)
}

type createRepoRequest struct {
	Namespace   *string `json:"namespace"`
	Repository  *string `json:"repository"`
	Visibility  *string `json:"visibility"`
	Description *string `json:"description"`
	RepoKind    *string `json:"repo_kind"`
}

// createRepository serves POST /api/v1/repository.
func (h *repositories) createRepository(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var req createRepoRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	for field, v := range map[string]*string{"namespace": req.Namespace, "repository": req.Repository, "visibility": req.Visibility} {
		if err := required(v, field); err != nil {
			return err
		}
	}
	if req.RepoKind != nil && *req.RepoKind != "image" {
		return wharf.Errorf(wharf.Invalid, "Only repo_kind \"image\" is supported")
	}
	d, err := h.access.Repository(r.Context(), c, *req.Namespace, *req.Repository)
	if err != nil {
		return err
	}
	if d.Repository != nil && d.Write {
		return wharf.Errorf(wharf.Invalid, "Repository already exists")
	}
	if !d.Create {
		return wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	desc := ""
	if req.Description != nil {
		desc = *req.Description
	}
	repo, err := h.repositories.Create(r.Context(), c, d.Namespace, *req.Repository, *req.Visibility, desc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"namespace": repo.Namespace, "name": repo.Name, "kind": "image"})
	return nil
}

// getRepository serves GET /api/v1/repository/{namespace}/{repository}.
func (h *repositories) getRepository(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, d, err := h.repoAccess(r, c)
	if err != nil {
		return err
	}
	ns, err := h.store.AccountByID(r.Context(), repo.NamespaceID)
	if err != nil {
		return err
	}
	starred, err := h.store.Starred(r.Context(), c.AccountID(), []int64{repo.ID})
	if err != nil {
		return err
	}
	// can_write is false outside NORMAL even for administrators (access
	// refuses writes then); can_admin is a UI hint Quay also gives
	// read-only superusers. A public repository's badge needs no token.
	statusToken := repo.BadgeToken
	if repo.Visibility == wharf.Public {
		statusToken = ""
	}
	v := map[string]any{
		"namespace": repo.Namespace, "name": repo.Name, "kind": "image", "description": nullable(repo.Description),
		"is_public": repo.Visibility == wharf.Public, "is_organization": ns.Kind == wharf.KindOrg,
		"is_starred": starred[repo.ID], "status_token": statusToken, "trust_enabled": false, "tag_expiration_s": ns.TagExpirationS,
		"state": repoState(repo), "can_write": d.Write, "can_admin": d.Admin || d.Inspect, "is_free_account": true,
	}
	if queryBool(r, "includeTags", true) {
		if v["tags"], err = h.aliveTags(r, repo); err != nil {
			return err
		}
	}
	if queryBool(r, "includeStats", false) {
		if v["stats"], err = h.dailyActions(r, repo); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// repositoryViewTags is how many alive tags the repository view shows, as
// Quay's (spec §5.3).
const repositoryViewTags = 500

// aliveTags is the repository view's tags: up to repositoryViewTags alive
// tags, newest first, by name (spec §5.3).
func (h *repositories) aliveTags(r *http.Request, repo *wharf.Repository) (map[string]any, error) {
	rows, _, err := h.tags.History(r.Context(), repo, wharf.TagQuery{OnlyActive: true, Limit: repositoryViewTags, Page: 1})
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(rows))
	for _, l := range rows {
		t := map[string]any{"name": l.Name, "manifest_digest": l.ManifestDigest, "size": nil}
		if size, ok := tags.LayersSize(l.MediaType, l.Content); ok {
			t["size"] = size
		}
		if l.Start.Unix() > 0 {
			t["last_modified"] = formatDate(l.Start)
		}
		if l.End != nil {
			t["expiration"] = formatDate(*l.End)
		}
		out[l.Name] = t
	}
	return out, nil
}

type updateRepoRequest struct {
	Description *string `json:"description"`
}

// updateRepository serves PUT …/repository/{namespace}/{repository}: the
// description, for writers (Quay's repo_write).
func (h *repositories) updateRepository(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, err := h.repoNeeding(r, c, false)
	if err != nil {
		return err
	}
	var req updateRepoRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Description, "description"); err != nil {
		return err
	}
	if err := h.repositories.SetDescription(r.Context(), c, repo, *req.Description); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

type visibilityRequest struct {
	Visibility *string `json:"visibility"`
}

// changeVisibility serves POST …/repository/{namespace}/{repository}/changevisibility.
func (h *repositories) changeVisibility(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, err := h.repoAdmin(r, c)
	if err != nil {
		return err
	}
	var req visibilityRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Visibility, "visibility"); err != nil {
		return err
	}
	if err := h.repositories.SetVisibility(r.Context(), c, repo, *req.Visibility); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// deleteRepository serves DELETE …/repository/{namespace}/{repository}.
func (h *repositories) deleteRepository(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, err := h.repoAdmin(r, c)
	if err != nil {
		return err
	}
	if err := h.repositories.Delete(r.Context(), c, repo); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// statsDays is how many days before today the repository view's stats
// cover, as Quay's zero-filled three months (spec §5.3).
const statsDays = 91

// dailyActions is the repository view's stats (spec §5.3): the number of
// the repository's action log entries on each of the statsDays UTC days
// before today, as Quay lists them: the days that have entries, oldest
// first, then a zero for each of the others, newest first.
func (h *repositories) dailyActions(r *http.Request, repo *wharf.Repository) ([]map[string]any, error) {
	today := h.now().UTC().Truncate(24 * time.Hour)
	counts, err := h.store.AggregateLogs(r.Context(), wharf.LogQuery{RepositoryID: repo.ID,
		Start: today.AddDate(0, 0, -statsDays), End: today})
	if err != nil {
		return nil, err
	}
	perDay := map[string]int64{}
	var days []string
	for _, c := range counts {
		day := c.Day.UTC().Format(time.DateOnly)
		if _, seen := perDay[day]; !seen {
			days = append(days, day)
		}
		perDay[day] += c.Count
	}
	stats := make([]map[string]any, 0, statsDays)
	for _, day := range days {
		stats = append(stats, map[string]any{"date": day, "count": perDay[day]})
	}
	for back := 1; back <= statsDays; back++ {
		day := today.AddDate(0, 0, -back).Format(time.DateOnly)
		if _, seen := perDay[day]; !seen {
			stats = append(stats, map[string]any{"date": day, "count": 0})
		}
	}
	return stats, nil
}
