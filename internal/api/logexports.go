package api

import (
	"io"
	"net/http"
	"strconv"

	"github.com/wharf-registry/wharf/internal/logexport"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// logExports serves Quay's log exports (spec §7.5): POST …/exportlogs
// queues the export of a namespace's or a repository's logs, for the
// callers who may read them (but read-only superusers export only whole
// organizations, as in Quay), and GET /exportedlogs/{file_id} serves the
// file the export job wrote.
type logExports struct {
	nsLogs  *namespaceLogs
	exports *logexport.Service
}

// exportLogsBody is Quay's ExportLogs schema: both fields optional.
type exportLogsBody struct {
	CallbackURL   *string `json:"callback_url"`
	CallbackEmail *string `json:"callback_email"`
}

// exportOrgLogs serves POST /api/v1/organization/{orgname}/exportlogs.
func (h *logExports) exportOrgLogs(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.nsLogs.logsOrg(r, c)
	if err != nil {
		return err
	}
	return h.queue(w, r, c, logexport.Request{Namespace: org})
}

// exportUserLogs serves POST /api/v1/user/exportlogs: the caller's own namespace.
func (h *logExports) exportUserLogs(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	return h.queue(w, r, c, logexport.Request{Namespace: c.Account})
}

// exportRepoLogs serves POST /api/v1/repository/{namespace}/{repository}/exportlogs,
// for the repository's administrators (tokens need repo:admin); a
// repository the caller cannot see is 404, one it may not administer 403.
func (h *logExports) exportRepoLogs(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	d, err := administered(r, c, h.nsLogs.access, false)
	if err != nil {
		return err
	}
	return h.queue(w, r, c, logexport.Request{Namespace: d.Namespace, Repository: d.Repository})
}

// queue reads the body and the window of an allowed request and queues
// the export.
func (h *logExports) queue(w http.ResponseWriter, r *http.Request, c *wharf.Caller, req logexport.Request) error {
	var body exportLogsBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.CallbackURL != nil {
		req.CallbackURL = *body.CallbackURL
	}
	if body.CallbackEmail != nil {
		req.CallbackEmail = *body.CallbackEmail
	}
	q := r.URL.Query()
	req.StartTime, req.EndTime = q.Get("starttime"), q.Get("endtime")
	id, err := h.exports.Queue(r.Context(), c, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"export_id": id})
	return nil
}

// getExportedLogs serves GET /exportedlogs/{file_id}, Quay's download of
// an exported file. As in Quay, the unguessable name is the credential.
func (h *logExports) getExportedLogs(w http.ResponseWriter, r *http.Request) error {
	rc, size, err := h.exports.Open(r.Context(), r.PathValue("file_id"))
	if err != nil {
		return err
	}
	defer rc.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.FormatInt(size, 10))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	// The headers promise the whole file: a copy that fails midway can
	// only cut the body short.
	io.Copy(w, rc)
	return nil
}
