package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/repository"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Builds: Quay's build endpoints (endpoints/api/build.py) and the three
// superuser build views (spec §2.22–2.24). On the repository endpoints
// callers act by their repository permissions, except that global
// read-only superusers read every repository's builds and logs, as in
// Quay; full superusers would need FEATURE_SUPERUSERS_FULL_ACCESS there
// (which wharf does not have) and use the superuser views instead.

// builds serves image builds, the uploads they start from (filedrop and
// the signed /userfiles URLs) and the superuser build views.
type builds struct {
	builds       *build.Service
	access       *access.Service
	repositories *repository.Service // pull robots
	store        buildStore
	policy       identity.Policy
	site         site
	now          func() time.Time
	// secretKey keys the signatures of /userfiles URLs.
	secretKey string
}

// buildStore is what the build handlers read directly: a pull robot's
// namespace.
type buildStore interface {
	AccountByID(ctx context.Context, id int64) (*wharf.Account, error)
}

// buildAccess is what the caller may do with {namespace}/{repository}'s
// builds: its repository permissions, widened for superusers.
func (h *builds) buildAccess(r *http.Request, c *wharf.Caller) (*wharf.Repository, access.Rights, error) {
	d, err := h.access.Repository(r.Context(), c, r.PathValue("namespace"), r.PathValue("repository"))
	if err != nil {
		return nil, d.Rights, err
	}
	if d.Repository == nil || !(d.Read || h.readonlySuperuser(c)) {
		return nil, d.Rights, errNotFound
	}
	return d.Repository, d.Rights, nil
}

// readonlySuperuser reports whether the caller reads builds as a global
// read-only superuser; OAuth tokens need super:user for it, as on every
// superuser endpoint.
func (h *builds) readonlySuperuser(c *wharf.Caller) bool {
	return readsAsReadonlySuperuser(h.policy, c)
}

// repoBuild loads {build_uuid} of the path's repository.
func (h *builds) repoBuild(r *http.Request, repo *wharf.Repository) (*wharf.Build, error) {
	b, err := h.builds.Build(r.Context(), r.PathValue("build_uuid"))
	if err != nil {
		return nil, err
	}
	if b.Repository.ID != repo.ID {
		return nil, errNotFound
	}
	return b, nil
}

// buildView is Quay's build_status_view: is_writer and archive_url depend
// on the caller's own repository permissions, not on superuser powers.
func (h *builds) buildView(r *http.Request, b *wharf.Build, p access.Rights) map[string]any {
	phase, errMsg := build.Status(b, h.now())
	var pullRobot any
	if b.PullRobot != "" {
		pullRobot = map[string]any{"name": b.PullRobot, "kind": "user", "is_robot": true}
	}
	var triggerMeta any
	if p.Read {
		triggerMeta = b.Job.TriggerMetadata
	}
	tags := b.Job.DockerTags
	if tags == nil {
		tags = []string{}
	}
	v := map[string]any{
		"id": b.UUID, "phase": phase, "started": formatDate(b.Started), "display_name": b.DisplayName,
		"status": map[string]any{}, "subdirectory": b.Job.BuildSubdir, "dockerfile_path": b.Job.BuildSubdir,
		"context": b.Job.Context, "tags": tags, "manual_user": b.Job.ManualUser, "is_writer": p.Write,
		"trigger": nil, "trigger_metadata": triggerMeta, "resource_key": nullable(b.ResourceKey),
		"pull_robot": pullRobot, "repository": map[string]any{"namespace": b.Repository.Namespace, "name": b.Repository.Name},
		"error": nullable(errMsg),
	}
	if p.Write {
		switch {
		case b.ResourceKey != "":
			v["archive_url"] = h.userFileURL(r, http.MethodGet, b.ResourceKey)
		case b.Job.ArchiveURL != nil:
			v["archive_url"] = *b.Job.ArchiveURL
		}
	}
	return v
}

// listBuilds serves GET /api/v1/repository/{ns}/{repo}/build/: the newest
// `limit` builds (default 5, at most 100), started at or after `since`
// (Unix seconds).
func (h *builds) listBuilds(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, p, err := h.buildAccess(r, c)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 5, 1, 100)
	if err != nil {
		return err
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil || sec < 0 || sec > 1<<40 {
			return wharf.Errorf(wharf.Invalid, "since must be a Unix time in seconds")
		}
		since = time.Unix(sec, 0)
	}
	recent, err := h.builds.List(r.Context(), repo, limit, since)
	if err != nil {
		return err
	}
	views := make([]map[string]any, 0, len(recent))
	for _, b := range recent {
		views = append(views, h.buildView(r, b, p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"builds": views})
	return nil
}

// intParam reads an integer query parameter in [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, wharf.Errorf(wharf.Invalid, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

type buildRequestBody struct {
	FileID         *string   `json:"file_id"`
	ArchiveURL     *string   `json:"archive_url"`
	Subdirectory   *string   `json:"subdirectory"`
	DockerfilePath *string   `json:"dockerfile_path"`
	Context        *string   `json:"context"`
	PullRobot      *string   `json:"pull_robot"`
	DockerTags     *[]string `json:"docker_tags"`
}

// requestBuild serves POST /api/v1/repository/{ns}/{repo}/build/: 201 with
// the build view and a Location of its status.
func (h *builds) requestBuild(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, p, err := h.buildAccess(r, c)
	if err != nil {
		return err
	}
	if !p.Write {
		return wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	var body buildRequestBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	req := build.Request{FileID: body.FileID, ArchiveURL: body.ArchiveURL, Subdirectory: body.Subdirectory,
		DockerfilePath: body.DockerfilePath, Context: body.Context}
	if body.DockerTags != nil {
		req.DockerTags = *body.DockerTags
		if req.DockerTags == nil {
			req.DockerTags = []string{}
		}
	}
	if body.PullRobot != nil && *body.PullRobot != "" {
		if req.PullRobot, err = h.pullRobot(r, c, *body.PullRobot); err != nil {
			return err
		}
	}
	// A context already built elsewhere may only be reused by someone who
	// may write where it was built (Quay's rule).
	if body.FileID != nil && *body.FileID != "" && build.ValidUUID(*body.FileID) {
		prev, err := h.builds.RepositoryOfFile(r.Context(), *body.FileID)
		if err != nil {
			return err
		}
		if prev != nil && prev.ID != repo.ID {
			pp, err := h.access.Repository(r.Context(), c.Unscoped(), prev.Namespace, prev.Name)
			if err != nil {
				return err
			}
			if !pp.Write {
				return wharf.Errorf(wharf.Forbidden, "Unauthorized")
			}
		}
	}
	b, err := h.builds.Start(r.Context(), c, repo, req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.site.baseURL(r)+"/api/v1/repository/"+repo.Namespace+"/"+repo.Name+"/build/"+b.UUID+"/status")
	writeJSON(w, http.StatusCreated, h.buildView(r, b, p))
	return nil
}

// pullRobot checks a build's pull robot: it must exist (404) and the
// caller must administer its namespace (403), as in Quay.
func (h *builds) pullRobot(r *http.Request, c *wharf.Caller, name string) (*wharf.Robot, error) {
	robot, err := h.repositories.RobotByFullName(r.Context(), name)
	if err != nil {
		return nil, err
	}
	ns, err := h.store.AccountByID(r.Context(), robot.NamespaceID)
	if err != nil {
		return nil, err
	}
	p, err := h.access.Repository(r.Context(), c.Unscoped(), ns.Name, "")
	if err != nil {
		return nil, err
	}
	// Lending a robot's credentials is organization administration: a
	// token needs org:admin for it, as in Quay.
	if !p.Admin || (c.Account != nil && !c.HasScope(wharf.OrgAdmin)) {
		return nil, wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	return robot, nil
}

// getBuild serves GET …/build/{uuid} and …/build/{uuid}/status: the same view.
func (h *builds) getBuild(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, p, err := h.buildAccess(r, c)
	if err != nil {
		return err
	}
	b, err := h.repoBuild(r, repo)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.buildView(r, b, p))
	return nil
}

// cancelBuild serves DELETE …/build/{uuid}: 201 "Okay", or 400 once the
// build pushes or is over.
func (h *builds) cancelBuild(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, p, err := h.buildAccess(r, c)
	if err != nil {
		return err
	}
	if !p.Admin {
		return wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	b, err := h.repoBuild(r, repo)
	if err != nil {
		return err
	}
	if err := h.builds.Cancel(r.Context(), c, b); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, "Okay")
	return nil
}

// getBuildLogs serves GET …/build/{uuid}/logs: for writers and read-only
// superusers.
func (h *builds) getBuildLogs(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	repo, p, err := h.buildAccess(r, c)
	if err != nil {
		return err
	}
	if !p.Write && !h.readonlySuperuser(c) {
		if c.Account == nil {
			return wharf.Errorf(wharf.Unauthenticated, "Requires authentication")
		}
		return wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	b, err := h.repoBuild(r, repo)
	if err != nil {
		return err
	}
	return h.writeBuildLogs(w, r, b)
}

func (h *builds) writeBuildLogs(w http.ResponseWriter, r *http.Request, b *wharf.Build) error {
	start, err := intParam(r, "start", 0, 0, wharf.MaxBuildLogEntries)
	if err != nil {
		return err
	}
	total, entries, err := h.builds.Logs(r.Context(), b, start)
	if err != nil {
		return err
	}
	lines := make([]map[string]any, len(entries))
	for i, e := range entries {
		v := map[string]any{"message": e.Message}
		if e.Type != "" {
			data := e.Data
			if data == nil {
				data = map[string]any{}
			}
			v["type"], v["data"] = e.Type, data
		}
		lines[i] = v
	}
	writeJSON(w, http.StatusOK, map[string]any{"start": start, "total": total, "logs": lines})
	return nil
}

// superuserBuild serves GET /api/v1/superuser/{build_uuid}/{status,build,logs}
// (spec §2.22–2.24) for a build of any namespace. An unknown build is 400
// for status and logs, 404 for build, as in Quay.
func (h *builds) superuserBuild(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	view := r.PathValue("view")
	if view != "status" && view != "build" && view != "logs" {
		return errNotFound
	}
	uuid := r.PathValue("build_uuid")
	b, err := h.builds.Build(r.Context(), uuid)
	if wharf.IsCode(err, wharf.NotFound) && view != "build" {
		return wharf.Errorf(invalidResponse, "Unable to locate a build by id: %s", uuid)
	}
	if err != nil {
		return err
	}
	if view == "logs" {
		return h.writeBuildLogs(w, r, b)
	}
	// is_writer and archive_url follow the caller's own permissions on the
	// build's repository, clipped by its token's scopes as on the
	// repository endpoints: super:user alone shows no signed archive URL.
	d, err := h.access.Repository(r.Context(), c, b.Repository.Namespace, b.Repository.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.buildView(r, b, d.Rights))
	return nil
}

// superuserBuildLogArchive serves GET /api/v1/superuser/{build_uuid}/logs/archive
// (spec §3.8). Quay archives a finished build's log to storage and streams
// it here; wharf keeps every build's log in the database, served whole by
// …/logs, so there is never an archive: 400 "Archived logs not available",
// Quay's answer for a build without one.
func (h *builds) superuserBuildLogArchive(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	uuid := r.PathValue("build_uuid")
	if _, err := h.builds.Build(r.Context(), uuid); err != nil {
		if wharf.IsCode(err, wharf.NotFound) {
			return wharf.Errorf(invalidResponse, "Unable to locate a build by id: %s", uuid)
		}
		return err
	}
	return wharf.Errorf(invalidResponse, "Archived logs not available")
}

// createFileDrop serves POST /api/v1/filedrop/: a file id and the URL to
// PUT the file to (valid for an hour).
func (h *builds) createFileDrop(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	var body struct {
		MimeType *string `json:"mimeType"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := required(body.MimeType, "mimeType"); err != nil {
		return err
	}
	f, err := h.builds.PrepareFile(r.Context(), c.Account, *body.MimeType)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"url": h.userFileURL(r, http.MethodPut, f.UUID), "file_id": f.UUID})
	return nil
}

// userFileTTL is how long a signed user-file URL works.
const userFileTTL = time.Hour

// userFileURL signs method on user file uuid until now+userFileTTL.
func (h *builds) userFileURL(r *http.Request, method, uuid string) string {
	expires := strconv.FormatInt(h.now().Add(userFileTTL).Unix(), 10)
	return h.site.baseURL(r) + "/userfiles/" + uuid + "?expires=" + expires + "&signature=" + h.userFileSignature(method, uuid, expires)
}

func (h *builds) userFileSignature(method, uuid, expires string) string {
	mac := hmac.New(sha256.New, []byte("userfiles:"+h.secretKey))
	io.WriteString(mac, method+"\n"+uuid+"\n"+expires)
	return hex.EncodeToString(mac.Sum(nil))
}

// checkUserFileURL verifies a signed user-file URL; a bad or stale one is 403.
func (h *builds) checkUserFileURL(r *http.Request, method, uuid string) error {
	q := r.URL.Query()
	expires, sig := q.Get("expires"), q.Get("signature")
	exp, err := strconv.ParseInt(expires, 10, 64)
	want := h.userFileSignature(method, uuid, expires)
	if err != nil || !hmac.Equal([]byte(sig), []byte(want)) || h.now().Unix() > exp {
		return wharf.Errorf(wharf.Forbidden, "The file URL is invalid or has expired")
	}
	return nil
}

// putUserFile serves PUT /userfiles/{file_id}: the upload behind a
// filedrop URL. The signature is the credential.
func (h *builds) putUserFile(w http.ResponseWriter, r *http.Request) error {
	uuid := r.PathValue("file_id")
	if err := h.checkUserFileURL(r, http.MethodPut, uuid); err != nil {
		return err
	}
	if _, err := h.builds.ReceiveFile(r.Context(), uuid, r.Body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getUserFile serves GET /userfiles/{file_id}: a build's archive_url, as
// an opaque download.
func (h *builds) getUserFile(w http.ResponseWriter, r *http.Request) error {
	uuid := r.PathValue("file_id")
	if err := h.checkUserFileURL(r, http.MethodGet, uuid); err != nil {
		return err
	}
	f, err := h.builds.UserFile(r.Context(), uuid)
	if err != nil {
		return err
	}
	rc, err := h.builds.OpenFile(r.Context(), f)
	if err != nil {
		return err
	}
	defer rc.Close()
	// The uploader chose the MIME type: serving it as given would let an
	// HTML "context" run script on this origin, where sessions live.
	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Disposition", `attachment; filename="`+f.UUID+`"`)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	hdr.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	// The headers promise the whole file: a copy that fails midway can
	// only cut the body short, not change the answer.
	io.Copy(w, rc)
	return nil
}
