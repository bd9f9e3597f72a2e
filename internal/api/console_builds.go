package api

import (
	"context"
	"net/http"
	"time"

	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// consoleBuilds serves the console's builds page: every repository's
// builds, recent or unfinished, a page at a time.
type consoleBuilds struct {
	store consoleBuildStore
	now   func() time.Time
}

// consoleBuildStore lists builds across repositories.
type consoleBuildStore interface {
	ConsoleBuilds(ctx context.Context, active bool, offset, limit int) ([]*wharf.Build, int64, error)
}

// consoleBuildView is a build as the console lists it.
type consoleBuildView struct {
	ID          string            `json:"id"`
	Phase       string            `json:"phase"`
	Error       *string           `json:"error"`
	Started     string            `json:"started"`
	DisplayName string            `json:"display_name"`
	Repository  map[string]string `json:"repository"`
	Tags        []string          `json:"tags"`
	ManualUser  *string           `json:"manual_user"`
	Cancellable bool              `json:"cancellable"`
}

// listBuilds serves GET /api/v1/console/builds: state=active (unfinished,
// the default) or all, newest first, with offset and limit.
func (h *consoleBuilds) listBuilds(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	page, err := accountSearch(r)
	if err != nil {
		return err
	}
	state := r.URL.Query().Get("state")
	if state != "" && state != "active" && state != "all" {
		return wharf.Errorf(wharf.Invalid, "state must be active or all")
	}
	builds, total, err := h.store.ConsoleBuilds(r.Context(), state != "all", page.Offset, page.Limit)
	if err != nil {
		return err
	}
	views := make([]consoleBuildView, len(builds))
	for i, b := range builds {
		phase, errMsg := build.Status(b, h.now())
		tags := b.Job.DockerTags
		if tags == nil {
			tags = []string{}
		}
		views[i] = consoleBuildView{ID: b.UUID, Phase: phase, Error: ptrOrNil(errMsg), Started: b.Started.UTC().Format(time.RFC3339),
			DisplayName: b.DisplayName, Repository: map[string]string{"namespace": b.Repository.Namespace, "name": b.Repository.Name},
			Tags: tags, ManualUser: b.Job.ManualUser, Cancellable: wharf.CancellablePhase(phase)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "offset": page.Offset, "limit": page.Limit, "builds": views})
	return nil
}
