package api

import (
	"net/http"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// The registry-size endpoints (spec §2.25, §2.26). POST only queues a
// calculation; the "registry-size" background job (one runner at a time,
// under a database lease) sums every stored blob once and records when it
// finished. Neither takes a namespace, whatever Red Hat's reference says.

// getRegistrySize serves GET /api/v1/superuser/registrysize/: the size as
// of the last completed run, last_ran in epoch milliseconds (null before
// the first run), and whether a run is queued or running.
func (h *logs) getRegistrySize(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	rs, err := h.store.RegistrySizeState(r.Context())
	if err != nil {
		return err
	}
	var lastRan any
	if rs.Completed != nil {
		lastRan = rs.Completed.UnixMilli()
	}
	writeJSON(w, http.StatusOK, map[string]any{"size_bytes": rs.Bytes, "last_ran": lastRan,
		"queued": rs.Queued, "running": rs.Running})
	return nil
}

// queueRegistrySize serves POST /api/v1/superuser/registrysize/: 201 when
// this call queued a calculation, 202 when one was already queued or
// running; the body is the JSON string "". Any request body is ignored.
func (h *logs) queueRegistrySize(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	queued, err := h.store.QueueRegistrySize(r.Context())
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	if queued {
		status = http.StatusCreated
	}
	writeJSON(w, status, "")
	return nil
}
