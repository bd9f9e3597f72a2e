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

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is the metadata the registry reads and writes.
type Store interface {
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
	RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error)
	EnsureRepository(ctx context.Context, repo *wharf.Repository, creatorID int64, entries ...wharf.LogEntry) (bool, error)
	RepositoryBlobSize(ctx context.Context, repoID int64, digest string) (int64, error)
	// ServedBlobSize is RepositoryBlobSize for serving the blob (HEAD,
	// GET), which may answer from a cache within the revocation bound;
	// decisions that write read RepositoryBlobSize.
	ServedBlobSize(ctx context.Context, repoID int64, digest string) (int64, error)
	// LinkBlob returns QuotaExceeded when the blob would take its
	// namespace past its Reject limit.
	LinkBlob(ctx context.Context, l wharf.BlobLink) error
	UnlinkBlob(ctx context.Context, repoID int64, digest string) error
	// PinBlob protects blob digest from collection while upload uploadID
	// stores and links it; the ErrCollecting Conflict while a collector
	// removes it (see package blobgc).
	PinBlob(ctx context.Context, uploadID, digest string, size int64, staleBefore time.Time) error
	CreateUpload(ctx context.Context, u *wharf.Upload) error
	UploadByID(ctx context.Context, id string) (*wharf.Upload, error)
	ClaimUpload(ctx context.Context, u *wharf.Upload, until time.Time) (bool, error)
	// RenewUploadClaim moves the end of the claim on upload id from held
	// to until; false when the claim is no longer the one that ends at held.
	RenewUploadClaim(ctx context.Context, id string, held, until time.Time) (bool, error)
	ReleaseUpload(ctx context.Context, id string) error
	UpdateUpload(ctx context.Context, u *wharf.Upload) error
	DeleteUpload(ctx context.Context, id string) error
	// Reserve returns QuotaExceeded when n more bytes of upload id would
	// take its namespace past its Reject limit; limited is false for a
	// namespace without one (nothing reserved).
	Reserve(ctx context.Context, id string, n, defaultReject int64) (limited bool, err error)
	// CheckQuota returns QuotaExceeded when n more bytes cannot arrive in
	// namespace nsID now.
	CheckQuota(ctx context.Context, nsID, n, defaultReject int64) error
	PutManifest(ctx context.Context, put wharf.ManifestPush) error
	ManifestByDigest(ctx context.Context, repoID int64, digest string) (*wharf.Manifest, error)
	ManifestByTag(ctx context.Context, repoID int64, tag string) (*wharf.Manifest, error)
	DeleteManifest(ctx context.Context, d wharf.ManifestDeletion) error
	DeleteTag(ctx context.Context, repoID int64, tag string, entries ...wharf.LogEntry) error
	ListTags(ctx context.Context, repoID int64, last string, limit int) ([]string, error)
	Referrers(ctx context.Context, repoID int64, digest, artifactType string) ([]*wharf.Manifest, error)
	Catalog(ctx context.Context, last string, limit int) ([]string, error)
	RepositoriesWithBlob(ctx context.Context, digest string, limit int) ([]string, error)
	AppendLogs(ctx context.Context, entries ...wharf.LogEntry) error
	// AccountByID returns NotFound.
	AccountByID(ctx context.Context, id int64) (*wharf.Account, error)
}

// Logins turns credentials into callers (auth.Service).
type Logins interface {
	// Login returns Unauthenticated for a bad credential and Forbidden for
	// a disabled user's good password.
	Login(ctx context.Context, cr auth.Credential) (*wharf.Caller, error)
	// Holder returns the caller a registry token was issued to, as it is
	// now; nil when it may no longer act.
	Holder(ctx context.Context, claims *auth.RegistryClaims) (*wharf.Caller, error)
}

// Access decides what a caller may do (access.Service).
type Access interface {
	Repository(ctx context.Context, c *wharf.Caller, namespace, name string) (access.Decision, error)
	Catalog(c *wharf.Caller) bool
}

// Deps are the registry's collaborators.
type Deps struct {
	Store  Store
	Blobs  storage.Driver
	Tokens *auth.RegistryTokens
	Auth   Logins
	Access Access
	// Realm is the externally visible base URL (scheme://host) for challenges.
	Realm   string
	Service string
	// DefaultRejectQuotaBytes limits namespaces without a quota (0 = none).
	DefaultRejectQuotaBytes int64
	Logger                  *slog.Logger
	Now                     func() time.Time
	// UploadsInFlight (may be nil) counts the upload requests being served.
	UploadsInFlight Gauge
	// AuditLogins and AuditLoginFailures are ACTION_LOG_AUDIT_LOGINS and
	// ACTION_LOG_AUDIT_LOGIN_FAILURES: whether /v2/auth logs logins
	// (login_success) and refused credentials (login_failure).
	AuditLogins, AuditLoginFailures bool
}

// Gauge is a number that goes up and down (a Prometheus gauge).
type Gauge interface {
	Inc()
	Dec()
}

// Server is the /v2 handler.
type Server struct {
	Deps
	log   *slog.Logger
	pulls *pullLogger
}

// New returns the registry handler. Run must be running for pull logs to
// reach the action log.
func New(d Deps) *Server {
	return &Server{Deps: d, log: d.Logger, pulls: newPullLogger(d.Store, d.Logger)}
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
	rec := requestlog.FromContext(r.Context())
	if r.URL.Path == "/v2/auth" {
		rec.SetRoute("auth")
		s.serveToken(w, r)
		return
	}
	rt, err := parsePath(r.URL.Path)
	if err != nil {
		rec.SetRoute("invalid")
		s.WriteError(w, r, err)
		return
	}
	rec.SetRoute(rt.kind.String())
	req := &request{route: rt, ip: auth.ClientIP(r)}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "bearer") {
			s.WriteError(w, r, ociError(errUnauthorized, "authentication required: use a bearer token from %s/v2/auth", s.Realm))
			return
		}
		claims, err := s.Tokens.Verify(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, auth.ErrBadRegistryToken) {
			s.WriteError(w, r, ociError(errUnauthorized, "invalid or expired token"))
			return
		}
		if err != nil {
			s.WriteError(w, r, err)
			return
		}
		req.claims = claims
		rec.SetCaller(callerKind(claims), claims.Subject)
	} else {
		rec.SetCaller(requestlog.Anonymous, "")
	}
	if err := s.dispatch(w, r, req); err != nil {
		s.WriteError(w, r, err)
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
			defer s.uploading()()
			return s.startUpload(w, r, req)
		}
	case routeUpload:
		switch m {
		case http.MethodGet:
			return s.uploadStatus(w, r, req)
		case http.MethodPatch:
			defer s.uploading()()
			return s.patchUpload(w, r, req)
		case http.MethodPut:
			defer s.uploading()()
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

// uploading counts an upload request in flight until the returned
// function is called.
func (s *Server) uploading() (done func()) {
	if s.UploadsInFlight == nil {
		return func() {}
	}
	s.UploadsInFlight.Inc()
	return s.UploadsInFlight.Dec
}

// callerKind names the credential a registry token was earned with, for
// the request log.
func callerKind(claims *auth.RegistryClaims) string {
	switch {
	case claims.Build != "":
		return requestlog.Build
	case claims.Kind == string(wharf.KindRobot):
		return requestlog.Robot
	case claims.OAuth:
		return requestlog.OAuth
	case claims.Subject != "":
		return requestlog.User
	}
	return requestlog.Anonymous
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
