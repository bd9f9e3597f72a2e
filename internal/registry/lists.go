package registry

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// maxPageSize caps n on the tag list and the catalog.
const maxPageSize = 1000

// pageParams reads n (default and cap maxPageSize) and last.
func pageParams(r *http.Request) (int, string, error) {
	q := r.URL.Query()
	n := maxPageSize
	if raw := q.Get("n"); raw != "" {
		v, err := strconv.Atoi(raw)
		if err != nil || v < 0 {
			return 0, "", ociError(errPaginationInvalid, "invalid number of results requested")
		}
		n = min(v, maxPageSize)
	}
	return n, q.Get("last"), nil
}

// nextLink sets the Link header to the next page when there is one.
func nextLink(w http.ResponseWriter, path string, n int, items []string) []string {
	if len(items) <= n {
		return items
	}
	items = items[:n]
	q := url.Values{"n": {strconv.Itoa(n)}, "last": {items[n-1]}}
	w.Header().Set("Link", `<`+path+`?`+q.Encode()+`>; rel="next"`)
	return items
}

// listTags serves GET /v2/<name>/tags/list with n/last paging.
func (s *Server) listTags(w http.ResponseWriter, r *http.Request, req *request) error {
	repo, err := s.authorize(r.Context(), req, "pull")
	if err != nil {
		return err
	}
	if repo == nil {
		return ociError(errNameUnknown, "repository name not known to registry")
	}
	n, last, err := pageParams(r)
	if err != nil {
		return err
	}
	tags := []string{}
	if n > 0 {
		if tags, err = s.Store.ListTags(r.Context(), repo.ID, last, n); err != nil {
			return err
		}
		tags = nextLink(w, r.URL.Path, n, tags)
	}
	if tags == nil {
		tags = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"name": req.route.name(), "tags": tags})
}

// referrers serves GET /v2/<name>/referrers/<digest>: an image index of the
// manifests whose subject is digest, optionally filtered by artifactType.
func (s *Server) referrers(w http.ResponseWriter, r *http.Request, req *request) error {
	repo, err := s.authorize(r.Context(), req, "pull")
	if err != nil {
		return err
	}
	d, err := ParseDigest(req.route.ref)
	if err != nil {
		return err
	}
	artifactType := r.URL.Query().Get("artifactType")
	var found []*wharf.Manifest
	if repo != nil {
		if found, err = s.Store.Referrers(r.Context(), repo.ID, d.String(), artifactType); err != nil {
			return err
		}
	}
	list := make([]descriptor, 0, len(found))
	for _, m := range found {
		list = append(list, descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: m.Size,
			ArtifactType: m.ArtifactType, Annotations: m.Annotations})
	}
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Header().Set("Content-Type", mediaOCIIndex)
	return json.NewEncoder(w).Encode(map[string]any{"schemaVersion": 2, "mediaType": mediaOCIIndex, "manifests": list})
}

// catalog serves GET /v2/_catalog to superusers (token scope registry:catalog:*).
func (s *Server) catalog(w http.ResponseWriter, r *http.Request, req *request) error {
	if req.claims == nil {
		return ociError(errUnauthorized, "authentication required")
	}
	if !req.claims.Allows("registry", "catalog", "*") {
		if ok, err := s.holderInspects(r.Context(), req.claims); err != nil {
			return err
		} else if ok {
			return ociError(errUnauthorized, "token does not grant registry:catalog:*")
		}
		return ociError(errDenied, "the catalog is for superusers")
	}
	n, last, err := pageParams(r)
	if err != nil {
		return err
	}
	repos := []string{}
	if n > 0 {
		if repos, err = s.Store.Catalog(r.Context(), last, n); err != nil {
			return err
		}
		repos = nextLink(w, r.URL.Path, n, repos)
	}
	if repos == nil {
		repos = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"repositories": repos})
}
