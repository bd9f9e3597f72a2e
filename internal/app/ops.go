package app

import (
	"context"
	"net/http"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/health"
	"github.com/wharf-registry/wharf/internal/metrics"
)

// opsRoutes are the endpoints for operators and orchestrators, served
// ahead of both faces: Quay's health checks, Kubernetes probes and, unless
// it has a listener of its own, /metrics.
func (a *App) opsRoutes(separateMetrics bool) map[string]http.Handler {
	checker := health.New(health.Options{DB: a.Store, Leases: a.Store.Leases, Blobs: a.Blobs, Log: a.Log,
		Auth: func(ctx context.Context) error {
			_, err := a.Keys.Current(ctx)
			return err
		},
		ReadOnly: a.Config.RegistryState == "readonly"})
	routes := checker.Routes()
	if !separateMetrics {
		routes["/metrics"] = a.Metrics.Handler()
	}
	return routes
}

// metricSources are what a scrape reads from the store: the pool's
// statistics, and the build queue when builds are on.
func metricSources(cfg *config.Config, store *db.DB) metrics.Sources {
	src := metrics.Sources{DBStats: store.Stats}
	if cfg.FeatureBuildSupport {
		src.QueuedBuilds = store.Builds.QueuedBuilds
	}
	return src
}
