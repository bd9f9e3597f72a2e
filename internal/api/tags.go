package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/wharf-registry/wharf/internal/tags"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// repoTags serves a repository's tag history, tag changes, the time
// machine, manifests and their labels (spec §6).
type repoTags struct {
	repos *repositories
	tags  *tags.Service
}

// readable loads the path's repository for a caller who may read it.
func (h *repoTags) readable(r *http.Request, c *wharf.Caller) (*wharf.Repository, error) {
	repo, _, err := h.repos.repoAccess(r, c)
	return repo, err
}

// writable loads the path's repository for a caller who may write it
// (403 for one who may only read it; 503 while its state refuses writes,
// Quay's disallow_for_non_normal_repositories, naming the state).
func (h *repoTags) writable(r *http.Request, c *wharf.Caller) (*wharf.Repository, error) {
	repo, p, err := h.repos.repoAccess(r, c)
	if err != nil {
		return nil, err
	}
	if p.Frozen {
		return nil, wharf.Errorf(wharf.Unavailable, "Repository is in read only or mirror mode: %s", repo.State)
	}
	if !p.Write {
		return nil, wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	return repo, nil
}

// queryInt reads an integer query parameter (def when absent); a
// non-integer is Invalid naming it.
func queryInt(r *http.Request, name string, def int) (int, error) {
	if !r.URL.Query().Has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil {
		return 0, wharf.Errorf(wharf.Invalid, "Invalid value for query parameter '%s': must be an integer", name)
	}
	return n, nil
}

// listTags serves GET …/tag/: the tag history, newest first, by page.
func (h *repoTags) listTags(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, err := h.readable(r, c)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	page, err := queryInt(r, "page", 1)
	if err != nil {
		return err
	}
	q := wharf.TagQuery{Name: r.URL.Query().Get("specificTag"), OnlyActive: queryBool(r, "onlyActiveTags", false),
		Limit: min(max(limit, 1), 100), Page: max(page, 1)}
	if f := r.URL.Query().Get("filter_tag_name"); f != "" {
		op, value, ok := strings.Cut(f, ":")
		if !ok {
			return wharf.Errorf(wharf.Invalid, "Unsupported syntax for filter_tag_name. Expected <operation>:<tag_name> where <operation>can be 'like' or 'eq'.")
		}
		switch op {
		case "like":
			q.Contains = value
		case "eq":
			if q.Name != "" && q.Name != value {
				writeJSON(w, http.StatusOK, map[string]any{"tags": []any{}, "page": q.Page, "has_additional": false})
				return nil
			}
			q.Name = value
		}
	}
	rows, more, err := h.tags.History(r.Context(), repo, q)
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(rows))
	for _, l := range rows {
		views = append(views, tagView(l))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": views, "page": q.Page, "has_additional": more})
	return nil
}

// tagView is Quay's tag item (spec §6.1).
func tagView(l wharf.TagLifetime) map[string]any {
	v := map[string]any{"name": l.Name, "reversion": l.Reversion, "manifest_digest": l.ManifestDigest,
		"is_manifest_list": tags.IsList(l.MediaType), "size": nil,
		"start_ts": l.Start.Unix(), "last_modified": formatDate(l.Start)}
	if size, ok := tags.LayersSize(l.MediaType, l.Content); ok {
		v["size"] = size
	}
	if l.End != nil {
		v["end_ts"], v["expiration"] = l.End.Unix(), formatDate(*l.End)
	}
	return v
}

type changeTagRequest struct {
	Expiration     json.RawMessage `json:"expiration"`
	ManifestDigest json.RawMessage `json:"manifest_digest"`
}

// changeTag serves PUT …/tag/{tag}: the expiration, then the target, each
// only when its key is present (spec §6.2). 201 "Updated".
func (h *repoTags) changeTag(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, err := h.writable(r, c)
	if err != nil {
		return err
	}
	var req changeTagRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	tag := r.PathValue("tag")
	if err := tags.ValidTagName(tag); err != nil {
		return err
	}
	var expiration *float64
	if req.Expiration != nil && string(req.Expiration) != "null" {
		var n float64
		if err := json.Unmarshal(req.Expiration, &n); err != nil {
			return wharf.Errorf(wharf.Invalid, "expiration must be a number of seconds since the epoch, or null")
		}
		expiration = &n
	}
	var digest *string
	if req.ManifestDigest != nil && string(req.ManifestDigest) != "null" {
		var s string
		if err := json.Unmarshal(req.ManifestDigest, &s); err != nil {
			return wharf.Errorf(wharf.Invalid, "manifest_digest must be a string")
		}
		digest = &s
	}
	if req.Expiration != nil {
		if err := h.tags.SetExpiration(r.Context(), c, repo, tag, expiration); err != nil {
			return err
		}
	}
	if digest != nil {
		if err := h.tags.Move(r.Context(), c, repo, tag, *digest); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusCreated, "Updated")
	return nil
}

// deleteTag serves DELETE …/tag/{tag}: the tag goes to the time machine. 204.
func (h *repoTags) deleteTag(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, err := h.writable(r, c)
	if err != nil {
		return err
	}
	if err := h.tags.Delete(r.Context(), c, repo, r.PathValue("tag")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type restoreTagRequest struct {
	ManifestDigest *string `json:"manifest_digest"`
}

// restoreTag serves POST …/tag/{tag}/restore: the tag points at a
// manifest from the time machine again. 200 {}.
func (h *repoTags) restoreTag(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, err := h.writable(r, c)
	if err != nil {
		return err
	}
	var req restoreTagRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	tag := r.PathValue("tag")
	if err := tags.ValidTagName(tag); err != nil {
		return err
	}
	if req.ManifestDigest == nil || *req.ManifestDigest == "" {
		return wharf.Errorf(wharf.Invalid, "Missing manifest_digest")
	}
	if err := h.tags.Restore(r.Context(), c, repo, tag, *req.ManifestDigest); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{})
	return nil
}

// manifest loads the path's repository (readable, or writable when write)
// and its alive manifest {manifestref}.
func (h *repoTags) manifest(r *http.Request, c *wharf.Caller, write bool) (*wharf.Repository, *wharf.Manifest, error) {
	load := h.readable
	if write {
		load = h.writable
	}
	repo, err := load(r, c)
	if err != nil {
		return nil, nil, err
	}
	m, err := h.tags.Manifest(r.Context(), repo, r.PathValue("manifestref"))
	return repo, m, err
}

// getManifest serves GET …/manifest/{manifestref} (spec §6.5).
func (h *repoTags) getManifest(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	_, m, err := h.manifest(r, c, false)
	if err != nil {
		return err
	}
	v := map[string]any{"digest": m.Digest, "is_manifest_list": tags.IsList(m.MediaType), "manifest_data": string(m.Content),
		"config_media_type": nil, "layers_compressed_size": 0, "layers": nil}
	if !tags.IsList(m.MediaType) {
		var parsed struct {
			Config struct {
				MediaType string `json:"mediaType"`
			} `json:"config"`
			Layers []struct {
				Digest string   `json:"digest"`
				Size   int64    `json:"size"`
				URLs   []string `json:"urls"`
			} `json:"layers"`
		}
		if err := json.Unmarshal(m.Content, &parsed); err != nil {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		layers := make([]map[string]any, 0, len(parsed.Layers))
		var total int64
		for i, l := range parsed.Layers {
			total += l.Size
			layers = append(layers, map[string]any{"index": i, "compressed_size": l.Size, "is_remote": len(l.URLs) > 0,
				"urls": nilIfEmpty(l.URLs), "command": nil, "comment": nil, "author": nil, "blob_digest": l.Digest,
				"created_datetime": nil})
		}
		v["config_media_type"], v["layers_compressed_size"], v["layers"] = parsed.Config.MediaType, total, layers
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func nilIfEmpty(s []string) any {
	if len(s) == 0 {
		return nil
	}
	return s
}

func labelView(l wharf.Label) map[string]any {
	return map[string]any{"id": l.ID, "key": l.Key, "value": l.Value, "source_type": l.SourceType, "media_type": l.MediaType}
}

// listLabels serves GET …/manifest/{manifestref}/labels?filter=<prefix>.
func (h *repoTags) listLabels(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	_, m, err := h.manifest(r, c, false)
	if err != nil {
		return err
	}
	labels, err := h.tags.Labels(r.Context(), m, r.URL.Query().Get("filter"))
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(labels))
	for _, l := range labels {
		views = append(views, labelView(l))
	}
	writeJSON(w, http.StatusOK, map[string]any{"labels": views})
	return nil
}

type addLabelRequest struct {
	Key       *string         `json:"key"`
	Value     *string         `json:"value"`
	MediaType json.RawMessage `json:"media_type"`
}

// addLabel serves POST …/manifest/{manifestref}/labels. 201 {"label": …}.
func (h *repoTags) addLabel(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, err := h.writable(r, c)
	if err != nil {
		return err
	}
	var req addLabelRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := required(req.Key, "key"); err != nil {
		return err
	}
	if err := required(req.Value, "value"); err != nil {
		return err
	}
	if req.MediaType == nil {
		return wharf.Errorf(wharf.Invalid, "'media_type' is a required property")
	}
	var mediaType *string
	if string(req.MediaType) != "null" {
		var s string
		if err := json.Unmarshal(req.MediaType, &s); err != nil {
			return wharf.Errorf(wharf.Invalid, "Media type is invalid please use a valid media type: text/plain, application/json")
		}
		mediaType = &s
	}
	m, err := h.tags.Manifest(r.Context(), repo, r.PathValue("manifestref"))
	if err != nil {
		return err
	}
	l, err := h.tags.AddLabel(r.Context(), c, repo, m, *req.Key, *req.Value, mediaType)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/repository/"+repo.Namespace+"/"+repo.Name+"/manifest/"+m.Digest+"/labels/"+l.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"label": labelView(l)})
	return nil
}

// getLabel serves GET …/manifest/{manifestref}/labels/{labelid}.
func (h *repoTags) getLabel(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	_, m, err := h.manifest(r, c, false)
	if err != nil {
		return err
	}
	l, err := h.tags.Label(r.Context(), m, r.PathValue("labelid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, labelView(l))
	return nil
}

// deleteLabel serves DELETE …/manifest/{manifestref}/labels/{labelid}. 204.
func (h *repoTags) deleteLabel(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, m, err := h.manifest(r, c, true)
	if err != nil {
		return err
	}
	if err := h.tags.DeleteLabel(r.Context(), c, repo, m, r.PathValue("labelid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
