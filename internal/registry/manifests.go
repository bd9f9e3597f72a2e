package registry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// lookupManifest finds reference (a digest or a tag) in repo.
func (s *Server) lookupManifest(ctx context.Context, repo *wharf.Repository, reference string) (*wharf.Manifest, error) {
	var m *wharf.Manifest
	var err error
	if strings.Contains(reference, ":") {
		d, derr := ParseDigest(reference)
		if derr != nil {
			return nil, derr
		}
		m, err = s.Store.ManifestByDigest(ctx, repo.ID, d.String())
	} else if validTag(reference) {
		m, err = s.Store.ManifestByTag(ctx, repo.ID, reference)
	} else {
		return nil, ociError(errManifestUnknown, "%q is neither a digest nor a tag", truncate(reference))
	}
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, ociError(errManifestUnknown, "manifest unknown to registry")
	}
	return m, err
}

// getManifest serves GET and HEAD of a manifest by tag or digest.
func (s *Server) getManifest(w http.ResponseWriter, r *http.Request, req *request) error {
	repo, err := s.authorize(r.Context(), req, "pull")
	if err != nil {
		return err
	}
	if repo == nil {
		return ociError(errNameUnknown, "repository name not known to registry")
	}
	m, err := s.lookupManifest(r.Context(), repo, req.route.ref)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", m.MediaType)
	h.Set("Docker-Content-Digest", m.Digest)
	h.Set("Etag", `"`+m.Digest+`"`)
	h.Set("Content-Length", strconv.Itoa(len(m.Content)))
	if r.Method == http.MethodHead {
		return nil
	}
	w.Write(m.Content)
	meta := map[string]any{"repo": repo.Name, "namespace": repo.Namespace, "manifest_digest": m.Digest}
	if !isDigest(req.route.ref) {
		meta["tag"] = req.route.ref
	}
	s.pulls.add(s.actor(req).RepositoryEntry("pull_repo", repo, meta))
	return nil
}

func isDigest(ref string) bool { _, err := ParseDigest(ref); return err == nil }

// putManifest serves PUT of a manifest by tag or digest. Everything it
// references must already be in the repository; the tag is created or
// moved in the same transaction that stores the manifest.
func (s *Server) putManifest(w http.ResponseWriter, r *http.Request, req *request) error {
	ctx := r.Context()
	repo, err := s.authorize(ctx, req, "push")
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifestBytes+1))
	if err != nil {
		return ociError(errManifestInvalid, "could not read the manifest: %v", err)
	}
	if len(body) > maxManifestBytes {
		return ociError(errTooLarge, "manifest is larger than %d bytes", maxManifestBytes)
	}
	ref, tag := req.route.ref, ""
	algorithm := "sha256"
	if d, err := ParseDigest(ref); err == nil {
		algorithm = d.Algorithm()
	} else if validTag(ref) {
		tag = ref
	} else {
		return ociError(errTagInvalid, "invalid tag %q", truncate(ref))
	}
	digest := digestOf(algorithm, body)
	if tag == "" && digest.String() != ref {
		return ociError(errDigestInvalid, "manifest has digest %s, not %s", digest, truncate(ref))
	}
	p, err := parseManifest(r.Header.Get("Content-Type"), body)
	if err != nil {
		return err
	}
	if repo == nil && len(p.blobs)+len(p.children) > 0 {
		// Nothing can be linked to a repository that does not exist yet:
		// refuse before creating it, so the refusal leaves nothing behind.
		what := "blob"
		ref := ""
		if len(p.blobs) > 0 {
			ref = p.blobs[0].String()
		} else {
			what, ref = "manifest", p.children[0].String()
		}
		return ociError(errManifestBlobUnkown, "%s %s is not in the repository", what, ref)
	}
	if repo, err = s.ensureRepository(ctx, req, repo); err != nil {
		return err
	}
	m := &wharf.Manifest{RepositoryID: repo.ID, Digest: digest.String(), MediaType: p.mediaType, ArtifactType: p.artifactType,
		SubjectDigest: string(p.subject), Annotations: p.annotations, Size: int64(len(body)), Content: bytes.Clone(body)}
	for _, b := range p.blobs {
		m.Blobs = append(m.Blobs, b.String())
	}
	for _, c := range p.children {
		m.Children = append(m.Children, c.String())
	}
	err = s.Store.PutManifest(ctx, wharf.ManifestPush{Manifest: m, Repository: repo, Tag: tag, Caller: s.actor(req)})
	if wharf.IsCode(err, wharf.NotFound) {
		return ociError(errManifestBlobUnkown, "%s", wharf.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Location", "/v2/"+req.route.name()+"/manifests/"+m.Digest)
	h.Set("Docker-Content-Digest", m.Digest)
	if p.subject != "" {
		h.Set("OCI-Subject", p.subject.String())
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// deleteManifest serves DELETE by digest (the manifest and its tags go) or
// by tag (only the tag goes).
func (s *Server) deleteManifest(w http.ResponseWriter, r *http.Request, req *request) error {
	ctx := r.Context()
	repo, err := s.authorize(ctx, req, "push")
	if err != nil {
		return err
	}
	if repo == nil {
		return ociError(errNameUnknown, "repository name not known to registry")
	}
	actor := s.actor(req)
	ref := req.route.ref
	if strings.Contains(ref, ":") {
		d, derr := ParseDigest(ref)
		if derr != nil {
			return derr
		}
		err = s.Store.DeleteManifest(ctx, wharf.ManifestDeletion{Repository: repo, Digest: d.String(), Caller: actor})
	} else if validTag(ref) {
		err = s.Store.DeleteTag(ctx, repo.ID, ref, actor.RepositoryEntry("delete_tag", repo, map[string]any{"tag": ref, "repo": repo.Name,
			"namespace": repo.Namespace}))
	} else {
		return ociError(errManifestUnknown, "%q is neither a digest nor a tag", truncate(ref))
	}
	if wharf.IsCode(err, wharf.NotFound) {
		return ociError(errManifestUnknown, "manifest unknown to registry")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
