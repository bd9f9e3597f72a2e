// Package registry serves the OCI Distribution API (/v2) above a blob
// storage driver and the store of record. The algorithm lives here once —
// digest verification, resumable uploads, content-addressed blobs, manifest
// references — and drivers only move bytes.
//
// A request is authorised by the registry bearer token (a JWT from
// /v2/auth, see auth.RegistryTokens) that names the repositories and
// actions it grants; anonymous callers may pull public repositories.
//
//	client ──GET /v2/──► 401 WWW-Authenticate: Bearer realm=…/v2/auth
//	client ──GET /v2/auth (Basic user:password | robot | $oauthtoken)──► {"token": JWT}
//	client ──/v2/<name>/… with Authorization: Bearer JWT──► handlers
package registry

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/repository"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/throttle"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is the metadata the registry reads and writes.
type Store interface {
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
	RobotByName(ctx context.Context, name string) (*wharf.Robot, error)
	RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error)
	EnsureRepository(ctx context.Context, repo *wharf.Repository, entries ...wharf.LogEntry) (bool, error)
	RepositoryBlobSize(ctx context.Context, repoID int64, digest string) (int64, error)
	BlobSize(ctx context.Context, digest string) (int64, error)
	LinkBlob(ctx context.Context, repoID int64, digest string, size int64) error
	UnlinkBlob(ctx context.Context, repoID int64, digest string) error
	CreateUpload(ctx context.Context, u *wharf.Upload) error
	UploadByID(ctx context.Context, id string) (*wharf.Upload, error)
	ClaimUpload(ctx context.Context, u *wharf.Upload, until time.Time) (bool, error)
	ReleaseUpload(ctx context.Context, id string) error
	UpdateUpload(ctx context.Context, u *wharf.Upload) error
	DeleteUpload(ctx context.Context, id string) error
	PutManifest(ctx context.Context, put db.ManifestPut) error
	RejectState(ctx context.Context, nsID, defaultReject int64) (usage, reject int64, err error)
	ManifestByDigest(ctx context.Context, repoID int64, digest string) (*wharf.Manifest, error)
	ManifestByTag(ctx context.Context, repoID int64, tag string) (*wharf.Manifest, error)
	DeleteManifest(ctx context.Context, repoID int64, digest string, logs func(tags []string) []wharf.LogEntry) error
	DeleteTag(ctx context.Context, repoID int64, tag string, entries ...wharf.LogEntry) error
	ListTags(ctx context.Context, repoID int64, last string, limit int) ([]string, error)
	Referrers(ctx context.Context, repoID int64, digest, artifactType string) ([]*wharf.Manifest, error)
	Catalog(ctx context.Context, last string, limit int) ([]string, error)
	RepositoriesWithBlob(ctx context.Context, digest string, limit int) ([]string, error)
	AppendLogs(ctx context.Context, entries ...wharf.LogEntry) error
}

// Deps are the registry's collaborators.
type Deps struct {
	Store        Store
	Repositories *repository.Service
	Blobs        storage.Driver
	Tokens       *auth.RegistryTokens
	Auth         *auth.Authenticator
	Policy       identity.Policy
	// Realm is the externally visible base URL (scheme://host) for challenges.
	Realm   string
	Service string
	// BuildTokens admits build workers ("$buildtoken" logins); nil = none.
	BuildTokens interface {
		// Verify returns Unauthenticated for a bad token or a finished build.
		Verify(ctx context.Context, token string) (*wharf.Build, error)
	}
	// Throttle slows down failed logins at /v2/auth; the API shares it,
	// so that both doors count the same failures.
	Throttle *throttle.Limiter
	// DefaultRejectQuotaBytes limits namespaces without a quota (0 = none).
	DefaultRejectQuotaBytes int64
	Logger                  *slog.Logger
	Now                     func() time.Time
}

// Server is the /v2 handler.
type Server struct {
	Deps
	log    *slog.Logger
	pulls  *pullLogger
	logins *loginCache
}

// New returns the registry handler. Run must be running for pull logs to
// reach the action log.
func New(d Deps) *Server {
	return &Server{Deps: d, log: d.Logger, pulls: newPullLogger(d.Store, d.Logger), logins: newLoginCache(5 * time.Minute)}
}

// Split sends /v2 to the registry reg and every other path to rest. The
// registry parses its own paths (names contain '/'), so they must not pass
// through ServeMux's path cleaning, which would redirect hostile
// "/v2/a/../b" paths instead of refusing them.
func Split(reg, rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2" {
			r.URL.Path = "/v2/"
		}
		if strings.HasPrefix(r.URL.Path, "/v2/") {
			reg.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

// Run flushes pull log entries until ctx ends.
func (s *Server) Run(ctx context.Context) { s.pulls.run(ctx) }

// request is one authorised /v2 call.
type request struct {
	route  route
	claims *auth.RegistryClaims // nil for anonymous calls
	ip     string
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if r.URL.Path == "/v2/auth" {
		s.serveToken(w, r)
		return
	}
	rt, err := parsePath(r.URL.Path)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := &request{route: rt, ip: clientIP(r)}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "bearer") {
			s.writeError(w, r, ociError(errUnauthorized, "authentication required: use a bearer token from %s/v2/auth", s.Realm))
			return
		}
		claims, err := s.Tokens.Verify(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, auth.ErrBadRegistryToken) {
			s.writeError(w, r, ociError(errUnauthorized, "invalid or expired token"))
			return
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		req.claims = claims
	}
	if err := s.dispatch(w, r, req); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, req *request) error {
	m := r.Method
	switch req.route.kind {
	case routeBase:
		if req.claims == nil {
			return ociError(errUnauthorized, "authentication required")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
		return nil
	case routeCatalog:
		return s.onlyGET(m, func() error { return s.catalog(w, r, req) })
	case routeBlob:
		switch m {
		case http.MethodGet, http.MethodHead:
			return s.getBlob(w, r, req)
		case http.MethodDelete:
			return s.deleteBlob(w, r, req)
		}
	case routeUploadStart:
		if m == http.MethodPost {
			return s.startUpload(w, r, req)
		}
	case routeUpload:
		switch m {
		case http.MethodGet:
			return s.uploadStatus(w, r, req)
		case http.MethodPatch:
			return s.patchUpload(w, r, req)
		case http.MethodPut:
			return s.finishUpload(w, r, req)
		case http.MethodDelete:
			return s.cancelUpload(w, r, req)
		}
	case routeManifest:
		switch m {
		case http.MethodGet, http.MethodHead:
			return s.getManifest(w, r, req)
		case http.MethodPut:
			return s.putManifest(w, r, req)
		case http.MethodDelete:
			return s.deleteManifest(w, r, req)
		}
	case routeTags:
		return s.onlyGET(m, func() error { return s.listTags(w, r, req) })
	case routeReferrers:
		return s.onlyGET(m, func() error { return s.referrers(w, r, req) })
	}
	return ociError(errUnsupported, "method %s is not supported here", m)
}

func (s *Server) onlyGET(method string, fn func() error) error {
	if method != http.MethodGet && method != http.MethodHead {
		return ociError(errUnsupported, "method %s is not supported here", method)
	}
	return fn()
}

// challenge sets the Bearer challenge that sends clients to /v2/auth.
func (s *Server) challenge(w http.ResponseWriter, r *http.Request, scope []string) {
	v := `Bearer realm="` + s.Realm + `/v2/auth",service="` + s.Service + `"`
	if rt, err := parsePath(r.URL.Path); err == nil && rt.kind != routeBase && rt.kind != routeCatalog {
		action := "pull"
		if r.Method != http.MethodGet && r.Method != http.MethodHead || rt.kind == routeUpload || rt.kind == routeUploadStart {
			action = "pull,push"
		}
		v += `,scope="repository:` + rt.name() + `:` + action + `"`
	} else if err == nil && rt.kind == routeCatalog {
		v += `,scope="registry:catalog:*"`
	}
	w.Header().Set("WWW-Authenticate", v)
}

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
