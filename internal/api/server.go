// Package api serves Quay's /api/v1 JSON API (and the few browser-flow
// routes its clients use: /csrf_token, /oauth/authorizeapp). routes.go lists
// every endpoint with the access it requires; each handler returns an error
// that WriteError turns into Quay's error JSON.
//
// Handlers belong to one type per resource (sessions, users, orgs,
// repositories, quotas, serviceKeys, builds, logs, logExports, messages,
// appTokens),
// each holding only the
// services it calls and declaring the store reads it makes; Server keeps
// what every request shares.
//
// Every request passes the same checks, in this order (wharf's order, see
// the contract README): authenticate → CSRF for cookie sessions on mutating
// calls → access (401 without credentials, 403 without permission or scope)
// → fresh login for sessions → the handler, which validates its input.
package api

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/autoprune"
	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/logexport"
	"github.com/wharf-registry/wharf/internal/message"
	"github.com/wharf-registry/wharf/internal/pagetoken"
	"github.com/wharf-registry/wharf/internal/quota"
	"github.com/wharf-registry/wharf/internal/repository"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/tags"
	"github.com/wharf-registry/wharf/internal/tenancy"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is the read side the API queries directly (lists and lookups);
// writes go through the domain services. Each resource declares the part
// it reads.
type Store interface {
	sessionStore
	userStore
	orgStore
	accountLister
	quotaSummaryStore
	repositoryStore
	quotaStore
	buildStore
	logStore
	tenancyStore
	consoleStore
	consoleBuildStore
}

// Options are the settings the API reads, taken from the configuration by
// package app: the API never sees the whole configuration.
type Options struct {
	// ServerHostname and PreferredURLScheme make the externally visible
	// base URL; without a hostname the request's Host is used.
	ServerHostname     string
	PreferredURLScheme string
	// Features that add or remove endpoints, as Quay's FEATURE_* keys do.
	FeatureUserInitialize  bool
	FeatureSuperUsers      bool
	FeatureQuotaManagement bool
	FeatureEditQuota       bool
	FeatureAnonymousAccess bool
	// FreshLoginTimeout is how old a session's password check may be for
	// calls that need a fresh login.
	FreshLoginTimeout time.Duration
	// BootstrapSecret, when set, must accompany /api/v1/user/initialize.
	BootstrapSecret string
	// DefaultSystemRejectQuotaBytes limits namespaces without a quota (0 = none).
	DefaultSystemRejectQuotaBytes int64
	// ConfigDump returns the configuration with secrets masked: the keys
	// wharf knows and those it ignored. nil turns the dump off
	// (FEATURE_SUPERUSER_CONFIG_DUMP false).
	ConfigDump func() (known, unknown map[string]any)
}

// Deps are everything the API needs; New does no I/O with them.
type Deps struct {
	Options      Options
	Store        Store
	Identity     *identity.Service
	Applications *identity.Applications
	Repositories *repository.Service
	Auth         *auth.Service
	Access       *access.Service
	Pages        *pagetoken.Sealer
	Logger       *slog.Logger
	Now          func() time.Time
	// SecretKey keys the encrypted_password values Quay returns and the
	// signatures of /userfiles URLs.
	SecretKey string
	// ServiceKeys serves the superuser service-key endpoints and the key
	// server; nil leaves both unregistered.
	ServiceKeys *servicekey.Service
	// Quotas serves the namespace quota endpoints (superuser, organization
	// and the user's own); nil leaves them unregistered.
	Quotas *quota.Service
	// Builds serves the build and filedrop endpoints and the superuser
	// build views; nil (FEATURE_BUILD_SUPPORT off) leaves them unregistered.
	Builds *build.Service
	// Tags serves tag history, the time machine, manifests and labels.
	Tags *tags.Service
	// AutoPrune serves the auto-prune policy endpoints; nil
	// (FEATURE_AUTO_PRUNE off) leaves them unregistered.
	AutoPrune *autoprune.Service
	// Messages serves the global messages.
	Messages *message.Service
	// AppTokens serves the caller's app-specific tokens; nil
	// (FEATURE_APP_SPECIFIC_TOKENS off) leaves them unregistered.
	AppTokens *identity.AppTokens
	// Tenancy changes teams, grants, default permissions and repository states.
	Tenancy *tenancy.Service
	// LogExports serves the log export endpoints and the exported files;
	// nil (FEATURE_LOG_EXPORT off) leaves them unregistered.
	LogExports *logexport.Service
}

// Server is the /api/v1 handler: the mux and the request plumbing every
// endpoint shares (access rules, CORS, the error body). The handlers
// themselves belong to one resource type each (see resources).
type Server struct {
	mux    *http.ServeMux
	auth   *auth.Service
	policy identity.Policy
	site   site
	log    *slog.Logger
	now    func() time.Time
	// anonymousAccess is FEATURE_ANONYMOUS_ACCESS: publicRead endpoints
	// need no credentials.
	anonymousAccess bool
	// freshLoginTimeout is how old a session's password check may be for
	// calls that need a fresh login.
	freshLoginTimeout time.Duration
	// superUsers is FEATURE_SUPER_USERS: the discovery document offers
	// the super:user scope only then, as Quay's does.
	superUsers bool
	// surface records every route handle registered, in order: the
	// discovery document is generated from it.
	surface []route
}

// MaxBodyBytes bounds every API request body; larger bodies get 413.
const MaxBodyBytes = 1 << 20

// New returns the API handler.
func New(d Deps) *Server {
	o := d.Options
	s := &Server{mux: http.NewServeMux(), auth: d.Auth, policy: d.Identity.Policy(),
		site: site{scheme: o.PreferredURLScheme, hostname: o.ServerHostname}, log: d.Logger, now: d.Now,
		anonymousAccess: o.FeatureAnonymousAccess, freshLoginTimeout: o.FreshLoginTimeout, superUsers: o.FeatureSuperUsers}
	s.routes(o, newResources(d, s.policy, s.site))
	return s
}

// resources are the API's handlers, one value per resource, each holding
// only what its handlers use.
type resources struct {
	sessions      *sessions
	users         *users
	orgs          *orgs
	repositories  *repositories
	quotas        *quotas      // nil: no quota service
	serviceKeys   *serviceKeys // nil: no service-key service
	builds        *builds      // nil: FEATURE_BUILD_SUPPORT off
	logs          *logs
	nsLogs        *namespaceLogs
	messages      *messages
	appTokens     *appTokens // nil: FEATURE_APP_SPECIFIC_TOKENS off
	console       *consoleAPI
	consoleLogs   *consoleLogs
	consoleBuilds *consoleBuilds // nil: FEATURE_BUILD_SUPPORT off
	tags          *repoTags
	autoPrune     *autoPrune // nil: FEATURE_AUTO_PRUNE off
	teams         *teams
	logExports    *logExports // nil: FEATURE_LOG_EXPORT off
}

// newResources hands each resource the dependencies it uses.
func newResources(d Deps, policy identity.Policy, site site) resources {
	o := d.Options
	views := &accountViews{store: d.Store, policy: policy,
		showQuotas:         o.FeatureQuotaManagement && o.FeatureEditQuota,
		defaultRejectBytes: o.DefaultSystemRejectQuotaBytes}
	accounts := accountPages{store: d.Store, pages: d.Pages}
	h := resources{
		sessions: &sessions{auth: d.Auth, identity: d.Identity, applications: d.Applications, store: d.Store,
			site: site, now: d.Now, secretKey: d.SecretKey, bootstrapSecret: o.BootstrapSecret},
		users: &users{identity: d.Identity, store: d.Store, views: views, accounts: accounts,
			policy: policy, secretKey: d.SecretKey},
		orgs: &orgs{identity: d.Identity, applications: d.Applications, repositories: d.Repositories,
			store: d.Store, views: views, accounts: accounts, policy: policy},
		repositories: &repositories{access: d.Access, repositories: d.Repositories, store: d.Store, tags: d.Tags, now: d.Now},
		logs:         &logs{store: d.Store, pages: d.Pages, now: d.Now, configDump: o.ConfigDump},
		console: &consoleAPI{auth: d.Auth, identity: d.Identity, views: views, store: d.Store, policy: policy, messages: d.Messages,
			features: consoleFeatures{SuperUsers: o.FeatureSuperUsers, Quota: o.FeatureQuotaManagement && o.FeatureEditQuota,
				Builds: d.Builds != nil, UserInitialize: o.FeatureUserInitialize, ConfigDump: o.ConfigDump != nil,
				AppTokens: d.AppTokens != nil}},
		consoleLogs: &consoleLogs{store: d.Store, pages: d.Pages, now: d.Now},
		messages:    &messages{messages: d.Messages},
	}
	h.nsLogs = &namespaceLogs{logs: h.logs, identity: d.Identity, access: d.Access, policy: policy, store: d.Store}
	if d.LogExports != nil {
		h.logExports = &logExports{nsLogs: h.nsLogs, exports: d.LogExports}
	}
	if d.AppTokens != nil {
		h.appTokens = &appTokens{tokens: d.AppTokens}
	}
	h.tags = &repoTags{repos: h.repositories, tags: d.Tags}
	if d.AutoPrune != nil {
		h.autoPrune = &autoPrune{orgs: h.orgs, repos: h.repositories, policies: d.AutoPrune}
	}
	h.teams = &teams{orgs: h.orgs, tenancy: d.Tenancy, access: d.Access, repositories: h.repositories,
		robots: d.Repositories, store: d.Store, policy: policy, pages: d.Pages}
	if d.Quotas != nil {
		h.quotas = &quotas{quotas: d.Quotas, identity: d.Identity, store: d.Store, policy: policy,
			defaultRejectBytes: o.DefaultSystemRejectQuotaBytes}
	}
	if d.ServiceKeys != nil {
		h.serviceKeys = &serviceKeys{serviceKeys: d.ServiceKeys, views: views, site: site, now: d.Now}
	}
	if d.Builds != nil {
		h.builds = &builds{builds: d.Builds, access: d.Access, repositories: d.Repositories, store: d.Store,
			policy: policy, site: site, now: d.Now, secretKey: d.SecretKey}
		h.consoleBuilds = &consoleBuilds{store: d.Store, now: d.Now}
	}
	return h
}

// ServeHTTP serves r by the route it matches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// requirement is what a caller must be to use an endpoint.
type requirement int

const (
	anyone        requirement = iota // no credentials needed
	publicRead                       // anyone while FEATURE_ANONYMOUS_ACCESS is on, else signed-in users
	signedIn                         // any enabled user
	anySuperuser                     // superuser or global read-only superuser
	fullSuperuser                    // superuser with write rights
)

// rule is the access an endpoint requires.
type rule struct {
	need  requirement
	scope wharf.Scope // required of OAuth tokens; "" = none
	fresh bool        // sessions must have logged in within FRESH_LOGIN_TIMEOUT
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error

type method struct {
	rule    rule
	handler handlerFunc
	// op names the operation in the discovery document (its operationId):
	// Quay's name for it, or wharf's where Quay has none.
	op string
}

// route is one registered path pattern and its methods.
type route struct {
	pattern string
	methods map[string]method
}

// handle registers path with one handler per HTTP method. Unlisted methods
// get 405 with the error JSON; OPTIONS is answered for CORS.
func (s *Server) handle(path string, methods map[string]method) {
	s.surface = append(s.surface, route{pattern: path, methods: methods})
	allowed := []string{http.MethodOptions}
	for m := range methods {
		allowed = append(allowed, m)
		if m == http.MethodGet {
			allowed = append(allowed, http.MethodHead)
		}
	}
	slices.Sort(allowed)
	allow := strings.Join(allowed, ", ")
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		setCORS(w)
		if r.Method == http.MethodOptions {
			w.Header().Set("Allow", allow)
			w.WriteHeader(http.StatusOK)
			return
		}
		name := r.Method
		if name == http.MethodHead {
			name = http.MethodGet
		}
		m, ok := methods[name]
		if !ok {
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{
				"message": "The method is not allowed for the requested URL.", "status": 405,
				"error_type": "method_not_allowed", "title": "method_not_allowed",
				"detail": "The method is not allowed for the requested URL.", "error_message": "The method is not allowed for the requested URL.",
				"type": s.site.baseURL(r) + "/api/v1/error/method_not_allowed"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		c, err := s.admit(r, m.rule)
		if err == nil {
			err = m.handler(w, r, c)
		}
		if err != nil {
			s.WriteError(w, r, err)
		}
	})
}

// handleSigned registers pattern (method included) for a handler whose
// credential is a signed or unguessable URL, which the handler checks
// itself: no
// authentication, access rule or body limit, only CORS and the one error
// body.
func (s *Server) handleSigned(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		setCORS(w)
		if err := h(w, r); err != nil {
			s.WriteError(w, r, err)
		}
	})
}

// redirectSlash answers a path declared with a trailing slash, requested
// without it, as Quay does: 308 to the slashed URL (method and body kept).
func (s *Server) redirectSlash(path string) {
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		setCORS(w)
		target := s.site.baseURL(r) + r.URL.Path + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		// No body: every /api/v1 body is empty or JSON, redirects included.
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}

// admit runs authentication, CSRF, access and fresh-login checks.
func (s *Server) admit(r *http.Request, rl rule) (*wharf.Caller, error) {
	c, err := s.auth.Authenticate(r)
	if err != nil {
		return nil, err
	}
	requestlog.FromContext(r.Context()).SetWharfCaller(c)
	mutating := r.Method != http.MethodGet && r.Method != http.MethodHead
	if mutating && c.Session != nil && !s.auth.CheckCSRF(r, c) {
		return nil, wharf.Errorf(wharf.Forbidden, "CSRF token was invalid or missing.")
	}
	signedIn := c.Account != nil
	if rl.need == anyone || (rl.need == publicRead && (signedIn || s.anonymousAccess)) {
		return c, nil
	}
	if !signedIn {
		if rl.need == publicRead {
			return nil, wharf.Errorf(wharf.Unauthenticated, "Anonymous access is not allowed")
		}
		return nil, wharf.Errorf(wharf.Unauthenticated, "Requires authentication")
	}
	allowed := true
	switch rl.need {
	case anySuperuser:
		allowed = s.policy.CanInspect(c.Account) && c.HasScope(wharf.SuperUser)
	case fullSuperuser:
		allowed = s.policy.CanAdminister(c.Account) && c.HasScope(wharf.SuperUser)
	}
	if rl.scope != "" && !c.HasScope(rl.scope) {
		allowed = false
	}
	if !allowed {
		return nil, wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	if rl.fresh && c.Session != nil && s.now().Sub(c.Session.LoginAt) > s.freshLoginTimeout {
		return nil, wharf.Errorf(wharf.FreshLoginRequired, "Requires fresh login")
	}
	return c, nil
}

func setCORS(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "DELETE, GET, HEAD, OPTIONS, POST, PUT")
	h.Set("Access-Control-Allow-Headers", "AUTHORIZATION, CONTENT-TYPE, X-REQUESTED-WITH")
	h.Set("Access-Control-Max-Age", "21600")
}

// site is where clients reach the server: the scheme and host of the URLs
// it hands out (redirects, file URLs, error types, token audiences).
type site struct {
	scheme   string // PREFERRED_URL_SCHEME
	hostname string // SERVER_HOSTNAME; "" = the request's Host
}

// baseURL is the externally visible scheme://host of the server.
func (s site) baseURL(r *http.Request) string {
	host := s.hostname
	if host == "" {
		host = r.Host
	}
	return s.scheme + "://" + host
}
