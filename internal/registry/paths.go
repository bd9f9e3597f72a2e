package registry

import (
	"regexp"
	"strings"
)

// routeKind is what a /v2 path addresses.
type routeKind int

const (
	routeBase routeKind = iota
	routeCatalog
	routeBlob
	routeUploadStart
	routeUpload
	routeManifest
	routeTags
	routeReferrers
)

// routeNames name the route kinds in request logs and metrics.
var routeNames = [...]string{
	routeBase:        "base",
	routeCatalog:     "catalog",
	routeBlob:        "blob",
	routeUploadStart: "upload",
	routeUpload:      "upload",
	routeManifest:    "manifest",
	routeTags:        "tags",
	routeReferrers:   "referrers",
}

func (k routeKind) String() string { return routeNames[k] }

// route is a parsed /v2 path.
type route struct {
	kind      routeKind
	namespace string // first component of the repository name
	repo      string // the rest of the name (may contain '/')
	ref       string // digest, tag or upload id, per kind
}

// name returns the full repository name.
func (r route) name() string { return r.namespace + "/" + r.repo }

var componentPattern = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)

// maxNameLength bounds a repository name, as the distribution spec suggests.
const maxNameLength = 255

// parsePath parses the path of a /v2 request. Repository names contain
// '/', so the path is read from its end: the last segments say what is
// addressed and everything before them is the name. Names must have a
// namespace and at least one more component, each matching the spec's
// grammar — which also rules out "..", "." and empty segments.
func parsePath(path string) (route, error) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return route{}, ociError(errNameInvalid, "not a registry path")
	}
	switch rest {
	case "":
		return route{kind: routeBase}, nil
	case "_catalog":
		return route{kind: routeCatalog}, nil
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	var r route
	var nameSegs []string
	switch {
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads" && segs[n-1] == "":
		r.kind, nameSegs = routeUploadStart, segs[:n-3]
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads":
		r.kind, r.ref, nameSegs = routeUpload, segs[n-1], segs[:n-3]
	case n >= 3 && segs[n-2] == "blobs" && segs[n-1] == "uploads":
		r.kind, nameSegs = routeUploadStart, segs[:n-2]
	case n >= 3 && segs[n-2] == "blobs":
		r.kind, r.ref, nameSegs = routeBlob, segs[n-1], segs[:n-2]
	case n >= 3 && segs[n-2] == "manifests":
		r.kind, r.ref, nameSegs = routeManifest, segs[n-1], segs[:n-2]
	case n >= 3 && segs[n-2] == "tags" && segs[n-1] == "list":
		r.kind, nameSegs = routeTags, segs[:n-2]
	case n >= 3 && segs[n-2] == "referrers":
		r.kind, r.ref, nameSegs = routeReferrers, segs[n-1], segs[:n-2]
	default:
		return route{}, ociError(errNameInvalid, "unrecognised registry path")
	}
	if len(nameSegs) < 2 {
		return route{}, ociError(errNameInvalid, "repository name must be <namespace>/<repository>")
	}
	if len(strings.Join(nameSegs, "/")) > maxNameLength {
		return route{}, ociError(errNameInvalid, "repository name is longer than %d characters", maxNameLength)
	}
	for _, s := range nameSegs {
		if !componentPattern.MatchString(s) {
			return route{}, ociError(errNameInvalid, "invalid repository name component %q", truncate(s))
		}
	}
	if r.ref == "" && (r.kind == routeBlob || r.kind == routeManifest || r.kind == routeReferrers || r.kind == routeUpload) {
		return route{}, ociError(errNameInvalid, "missing reference")
	}
	r.namespace, r.repo = nameSegs[0], strings.Join(nameSegs[1:], "/")
	return r, nil
}

var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// validTag reports whether s is a valid tag name.
func validTag(s string) bool { return tagPattern.MatchString(s) }
