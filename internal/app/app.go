// Package app assembles wharf: the one place where the configuration, the
// store and blob storage become the application core's services and the
// HTTP faces over them. cmd/wharf and every test harness call New, so what
// the tests serve is what runs.
//
//	cmd/wharf ─► app.New ─┬─► faces:  api (Quay /api/v1) · registry (/v2) · build workers · jobs
//	                      │            │ narrow interfaces of ▼
//	                      ├─► core:   auth (Login) · access (who may do what) · identity ·
//	                      │           repository · quota · build · servicekey · auditlog
//	                      │            │ small interfaces they declare ▼
//	                      └─► adapters: db (SQLite, PostgreSQL) · storage/filesystem · storage/s3
//
// Dependencies point down only: a face never imports db or config, and the
// core never imports a face.
package app

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/api"
	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/autoprune"
	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/console"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/message"
	"github.com/wharf-registry/wharf/internal/metrics"
	"github.com/wharf-registry/wharf/internal/pagetoken"
	"github.com/wharf-registry/wharf/internal/quota"
	"github.com/wharf-registry/wharf/internal/registry"
	"github.com/wharf-registry/wharf/internal/repository"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/metered"
	"github.com/wharf-registry/wharf/internal/tags"
	"github.com/wharf-registry/wharf/internal/tenancy"
	"github.com/wharf-registry/wharf/internal/throttle"
)

// Registry tokens live an hour; the instance key that signs them lives a
// week and is replaced when less than two hours remain, so a token is never
// outlived by its key (an in-flight push survives a rotation).
const (
	RegistryTokenLifetime = time.Hour
	instanceKeyLifetime   = 7 * 24 * time.Hour
	instanceKeyRotation   = 2 * time.Hour
	sessionLifetime       = 30 * 24 * time.Hour
	pageTokenLifetime     = 48 * time.Hour
)

// App is one assembled wharf process.
type App struct {
	// Handler serves every HTTP path: /v2 by the registry, the rest by the
	// API, both behind the shared front (read-only mode, request limits),
	// and the health endpoints and /metrics ahead of them; each request
	// is logged and counted.
	Handler  http.Handler
	Registry *registry.Server
	// Metrics is the process's instrumentation; Metrics.Handler serves
	// it (on Handler's /metrics too, unless WithSeparateMetrics).
	Metrics *metrics.Metrics

	Config      *config.Config
	Store       *db.DB
	Blobs       storage.Driver
	Log         *slog.Logger
	Keys        *servicekey.InstanceKeys
	ServiceKeys *servicekey.Service
	Auth        *auth.Service
	Access      *access.Service
	// RegistryAccess is Access as the /v2 face uses it: repositories read
	// through the repository cache.
	RegistryAccess *access.Service
	// Revocations must Run for revoked registry tokens to stop working.
	Revocations *auth.Revocations
	// Builds is nil when FEATURE_BUILD_SUPPORT is off.
	Builds      *build.Service
	BuildTokens *build.Tokens
	// AutoPrune is nil when FEATURE_AUTO_PRUNE is off.
	AutoPrune *autoprune.Service
}

// Option adjusts what New assembles.
type Option func(*options)

type options struct {
	urls            build.URLPolicy
	throttle        *throttle.Limiter
	separateMetrics bool
}

// WithURLPolicy replaces the vetting of user-given URLs (OutboundPolicy),
// for tests whose URLs do not resolve.
func WithURLPolicy(p build.URLPolicy) Option { return func(o *options) { o.urls = p } }

// WithLoginThrottle replaces the login throttle (throttle.Default on the
// real clock), for tests that move its clock.
func WithLoginThrottle(l *throttle.Limiter) Option { return func(o *options) { o.throttle = l } }

// WithSeparateMetrics leaves /metrics out of Handler, for a process that
// serves Metrics.Handler on a listener of its own (--metrics-addr).
func WithSeparateMetrics() Option { return func(o *options) { o.separateMetrics = true } }

// New assembles wharf over store and blobs. cfg.ServerHostname must be set
// (run sets it from the listener when the configuration leaves it empty).
// New does no I/O. Every line the server logs goes to out.
func New(cfg *config.Config, store *db.DB, blobs storage.Driver, out *requestlog.Output, opts ...Option) (*App, error) {
	o := options{urls: OutboundPolicy(cfg), throttle: throttle.New(throttle.Default, time.Now)}
	for _, opt := range opts {
		opt(&o)
	}
	// Everything below logs with the request id and stores through the
	// timed driver.
	log := slog.New(requestlog.Handler{Handler: out})
	m := metrics.New(prometheus.NewRegistry(), metricSources(cfg, store))
	blobs = metered.New(blobs, m)
	a := &App{Config: cfg, Store: store, Blobs: blobs, Log: log, Metrics: m}
	policy := Policy(cfg)
	a.ServiceKeys = servicekey.New(store.ServiceKeys, servicekey.Options{})
	keys, err := a.ServiceKeys.InstanceKeys(auth.RegistryTokenIssuer, []byte(cfg.SecretKey), instanceKeyLifetime, instanceKeyRotation)
	if err != nil {
		return nil, err
	}
	a.Keys = keys
	authOpts := auth.Options{Secret: []byte(cfg.SecretKey), SessionTTL: sessionLifetime,
		SecureCookie: cfg.PreferredURLScheme == "https", Throttle: o.throttle, Logins: m, Now: time.Now}
	if cfg.FeatureBuildSupport {
		a.BuildTokens = build.NewTokens(keys, store.Builds, time.Now)
		authOpts.BuildTokens = a.BuildTokens
		a.Builds = build.NewService(store.Builds, blobs, o.urls, cfg.BuildContextMaxBytes, cfg.ServerHostname).
			LimitQueued(int(cfg.BuildMaxQueued))
	}
	a.Revocations = auth.NewRevocations(store.Accounts, RegistryTokenLifetime, auth.DefaultPollInterval, log)
	a.Auth = auth.New(loginStore{store.Accounts, newAccessTokenCache(store.Accounts, a.Revocations, store.Changes)}, authOpts)
	a.Access = access.New(repositoryStore{store.Accounts, store.Registry, store.Tenancy}, policy)
	if cfg.FeatureAutoPrune {
		a.AutoPrune = autoprune.NewService(store.Registry, log, time.Now)
	}

	pageKey := cfg.PageTokenKey
	if pageKey == "" {
		pageKey = "page-token:" + cfg.SecretKey
	}
	pages, err := pagetoken.New([]byte(pageKey), pageTokenLifetime, time.Now)
	if err != nil {
		return nil, err
	}
	apiHandler := api.New(api.Deps{
		Options:      apiOptions(cfg),
		Store:        apiStore{store.Accounts, store.OAuth, store.Quotas, store.Usage, store.Logs, store.Tenancy, consoleBuilds{store.Builds}, collectionTotals{store.Collection}},
		Identity:     identity.NewService(store.Accounts, policy),
		Applications: identity.NewApplications(store.OAuth),
		Repositories: repository.NewService(repositoryStore{store.Accounts, store.Registry, store.Tenancy}),
		Auth:         a.Auth,
		Access:       a.Access,
		Pages:        pages,
		Logger:       log,
		Now:          time.Now,
		SecretKey:    cfg.SecretKey,
		ServiceKeys:  a.ServiceKeys,
		Quotas:       quota.NewService(store.Quotas),
		Builds:       a.Builds,
		Tags:         tags.NewService(store.Registry, time.Now),
		AutoPrune:    a.AutoPrune,
		Messages:     message.New(store.Messages),
		AppTokens:    appTokens(cfg, store),
		Tenancy:      tenancy.New(repositoryStore{store.Accounts, store.Registry, store.Tenancy}),
		LogExports:   a.logExportService(),
	})
	// The /v2 face reads repositories through the cache, its access
	// decisions included, and their grants through another (the same rules
	// over the same data, two queries fewer per request).
	repos := newRepositoryCache(store.Registry, a.Revocations, store.Changes)
	grants := newGrantCache(store.Tenancy, a.Revocations, store.Changes, store.GrantChanges)
	a.RegistryAccess = access.New(cachedRepositories{repositoryStore{store.Accounts, store.Registry, store.Tenancy}, repos, grants}, policy)
	a.Registry = registry.New(registry.Deps{
		Store: registryStore{store.Accounts, store.Registry, store.Uploads, store.Logs, repos,
			newServedBlobCache(store.Registry, a.Revocations, linkOrEpochChanges(store))},
		Blobs: blobs, Auth: a.Auth, Access: a.RegistryAccess,
		Tokens: auth.NewRegistryTokens(keys, a.Revocations, cfg.ServerHostname, RegistryTokenLifetime, time.Now),
		Realm:  cfg.PreferredURLScheme + "://" + cfg.ServerHostname, Service: cfg.ServerHostname,
		DefaultRejectQuotaBytes: cfg.DefaultSystemRejectQuotaBytes,
		Logger:                  log, Now: time.Now, UploadsInFlight: m.UploadsInFlight,
		AuditLogins: cfg.ActionLogAuditLogins, AuditLoginFailures: cfg.ActionLogAuditLoginFailures,
	})
	web, err := console.New()
	if err != nil {
		return nil, err
	}
	a.Handler = observe(front(a.Registry, apiHandler, web, badge(badgeRepositories{repos, store.Builds}, apiHandler), cfg.RegistryState == "readonly"), a.opsRoutes(o.separateMetrics), m, out)
	return a, nil
}

// Run does the process's continuous work until ctx ends: flushing pull
// entries to the action log and polling credential epochs.
func (a *App) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { a.Registry.Run(ctx) })
	wg.Go(func() { a.Revocations.Run(ctx) })
	wg.Wait()
}

// appTokens is the app-token service, nil with FEATURE_APP_SPECIFIC_TOKENS off.
func appTokens(cfg *config.Config, store *db.DB) *identity.AppTokens {
	if !cfg.FeatureAppSpecificTokens {
		return nil
	}
	return identity.NewAppTokens(store.Accounts, cfg.AppSpecificTokenExpiration, time.Now)
}

// Policy is the identity policy of cfg: who is a superuser, mailing, tag
// expiration options.
func Policy(cfg *config.Config) identity.Policy {
	return identity.Policy{
		SuperusersEnabled:    cfg.FeatureSuperUsers,
		SuperUsers:           set(cfg.SuperUsers),
		ReadonlySuperUsers:   set(cfg.GlobalReadonlySuperUsers),
		Mailing:              cfg.FeatureMailing,
		TagExpirationOptions: cfg.TagExpirationOptions,
		DefaultTagExpiration: cfg.DefaultTagExpiration,
	}
}

func apiOptions(cfg *config.Config) api.Options {
	o := api.Options{
		ServerHostname:                cfg.ServerHostname,
		PreferredURLScheme:            cfg.PreferredURLScheme,
		FeatureUserInitialize:         cfg.FeatureUserInitialize,
		FeatureSuperUsers:             cfg.FeatureSuperUsers,
		FeatureQuotaManagement:        cfg.FeatureQuotaManagement,
		FeatureEditQuota:              cfg.FeatureEditQuota,
		FeatureAnonymousAccess:        cfg.FeatureAnonymousAccess,
		FreshLoginTimeout:             cfg.FreshLoginTimeout,
		BootstrapSecret:               cfg.BootstrapSecret,
		DefaultSystemRejectQuotaBytes: cfg.DefaultSystemRejectQuotaBytes,
	}
	if cfg.FeatureSuperuserConfigDump {
		o.ConfigDump = func() (known, unknown map[string]any) { return configDump(cfg) }
	}
	return o
}

// configDump splits the masked configuration into the keys wharf knows and
// those it ignored.
func configDump(cfg *config.Config) (known, unknown map[string]any) {
	known, unknown = map[string]any{}, map[string]any{}
	isUnknown := map[string]bool{}
	for _, k := range cfg.Unknown {
		isUnknown[k] = true
	}
	for k, v := range cfg.Redacted() {
		if isUnknown[k] {
			unknown[k] = v
		} else {
			known[k] = v
		}
	}
	return known, unknown
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
