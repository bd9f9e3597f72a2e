package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// badgeRoute is the build-status badge's path, as request logs name it.
const badgeRoute = "/repository/{namespace}/{repository}/status"

// badgeRepository splits a badge path, /repository/{namespace}/{name}/status
// (a name may hold '/'), into its namespace and name; ok is false for any
// other path.
func badgeRepository(path string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(path, "/repository/")
	if !found {
		return "", "", false
	}
	rest, found = strings.CutSuffix(rest, "/status")
	if !found {
		return "", "", false
	}
	namespace, name, found = strings.Cut(rest, "/")
	return namespace, name, found && namespace != "" && name != ""
}

// badgeStore is what the badge reads: the repository and its builds.
type badgeStore interface {
	RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error)
	ListBuilds(ctx context.Context, repositoryID int64, limit int, since time.Time) ([]*wharf.Build, error)
}

// badge serves Quay's build-status badge, an SVG image of the state of the
// repository's latest build (none, building, ready, failed, cancelled), for
// READMEs and dashboards: anonymous, shown for a private repository only
// with its badge token (?token=, the repository view's status_token); a
// repository the caller may not see is 404, as a missing one. Errors are
// the API's.
func badge(store badgeStore, errs errorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestlog.FromContext(r.Context()).SetRoute(badgeRoute)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed) // as ServeMux answers the API's routes
			return
		}
		namespace, name, _ := badgeRepository(r.URL.Path)
		repo, err := store.RepositoryByName(r.Context(), namespace, name)
		if err == nil && !access.Badge(repo, r.URL.Query().Get("token")) {
			err = wharf.Errorf(wharf.NotFound, "Not Found")
		}
		if err != nil {
			errs.WriteError(w, r, err)
			return
		}
		builds, err := store.ListBuilds(r.Context(), repo.ID, 1, time.Time{})
		if err != nil {
			errs.WriteError(w, r, err)
			return
		}
		status := "none"
		if len(builds) > 0 {
			status = badgeStatus(builds[0].Phase)
		}
		etag := `"` + status + `"`
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", etag)
		// Quay's ETag is the bare status; clients echo either form.
		if match := r.Header.Get("If-None-Match"); match == etag || match == status {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		fmt.Fprint(w, badgeImage(status))
	})
}

// badgeStatus names a build phase as the badge shows it.
func badgeStatus(phase string) string {
	switch phase {
	case wharf.PhaseComplete:
		return "ready"
	case wharf.PhaseError, wharf.PhaseInternalError:
		return "failed"
	case wharf.PhaseCancelled:
		return "cancelled"
	}
	return "building"
}

// badgeColors are the right half's colour per status.
var badgeColors = map[string]string{
	"none": "#9f9f9f", "building": "#007ec6", "ready": "#44a340", "failed": "#d9534f", "cancelled": "#9f9f9f",
}

// badgeImage draws "build | status". Status is one of badgeColors' keys:
// nothing a client sent reaches the image.
func badgeImage(status string) string {
	const left = 40
	width := 12 + 7*len(status)
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%[1]d" height="20" role="img" aria-label="build: %[3]s">`+
		`<title>build: %[3]s</title><rect width="%[2]d" height="20" fill="#555"/>`+
		`<rect x="%[2]d" width="%[4]d" height="20" fill="%[5]s"/>`+
		`<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">`+
		`<text x="6" y="14">build</text><text x="%[6]d" y="14">%[3]s</text></g></svg>`,
		left+width, left, status, width, badgeColors[status], left+6)
}
