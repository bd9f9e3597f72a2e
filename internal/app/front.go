package app

import (
	"net/http"
	"strings"

	"github.com/wharf-registry/wharf/internal/console"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// errorWriter is how a face reports an error in its own format: Quay's
// error JSON for the API, the OCI envelope for /v2.
type errorWriter interface {
	http.Handler
	WriteError(w http.ResponseWriter, r *http.Request, err error)
}

// front sends /v2 to the registry, build-status badges to badge, the web
// console's paths (console.Owns: "/", /static/ and its pages) to the
// console, and every other path to the API, after the rules the faces
// share. In read-only mode (REGISTRY_STATE readonly) every write on either
// face is refused with 503, in that face's format: only reads and logging
// in and out pass, as in Quay.
//
// The registry parses its own paths (names contain '/'), so they must not
// pass through ServeMux's path cleaning, which would redirect hostile
// "/v2/a/../b" paths instead of refusing them.
func front(reg, rest errorWriter, web, badge http.Handler, readOnly bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2" {
			r.URL.Path = "/v2/"
		}
		if _, _, ok := badgeRepository(r.URL.Path); ok {
			badge.ServeHTTP(w, r) // under the console's /repository/ pages, but no page
			return
		}
		if console.Owns(r.URL.Path) {
			// Pages and assets only: the console reads and writes through the API.
			web.ServeHTTP(w, r)
			return
		}
		face := rest
		if strings.HasPrefix(r.URL.Path, "/v2/") {
			face = reg
		}
		if readOnly && writes(r) {
			requestlog.FromContext(r.Context()).SetRoute("read_only") // refused before any route was matched
			face.WriteError(w, r, errReadOnly)
			return
		}
		face.ServeHTTP(w, r)
	})
}

var errReadOnly = wharf.Errorf(wharf.Unavailable,
	"System is currently read-only. Pulls will succeed but all write operations are currently suspended.")

// readOnlyAllowed are the mutating calls read-only mode still serves: they
// log callers in or out and change nothing else.
var readOnlyAllowed = map[string]bool{
	"/v2/auth":              true,
	"/api/v1/signin":        true,
	"/api/v1/signin/verify": true,
	"/api/v1/signout":       true,
}

// writes reports whether r would change state.
func writes(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return !readOnlyAllowed[r.URL.Path]
}
