package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/wharf-registry/wharf/internal/auditlog"
	"github.com/wharf-registry/wharf/internal/blobgc"
	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/registry"
	"github.com/wharf-registry/wharf/internal/worker"
)

// stagingPurger is implemented by drivers that keep private staging files
// (the filesystem driver) which a crash can leave behind.
type stagingPurger interface {
	PurgeStaging(ctx context.Context, cutoff time.Time) (int, error)
}

// expiredAppTokenGrace is how long an expired app token stays listed
// (Quay's EXPIRED_APP_SPECIFIC_TOKEN_GC default).
const expiredAppTokenGrace = 24 * time.Hour

// uploadMaxIdle is how long an upload may sit untouched before it expires.
const uploadMaxIdle = 24 * time.Hour

// reconcileUsage recomputes every namespace's usage from its manifests and
// logs the ones whose incremental accounting had drifted.
func reconcileUsage(ctx context.Context, store *db.Usage, log *slog.Logger) error {
	ids, err := store.NamespaceIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		before, after, err := store.ReconcileUsage(ctx, id)
		if err != nil {
			return err
		}
		if before != after {
			log.Warn("namespace usage repaired", slog.Int64("namespace_id", id), slog.Int64("was", before), slog.Int64("is", after))
		}
	}
	return nil
}

// Collector is the blob collector over the process's store and storage,
// with the configured graces, pacing itself so that pushes keep most of
// the process (see BenchmarkPushWhileCollecting).
func (a *App) Collector() *blobgc.Collector {
	return &blobgc.Collector{Store: a.Store.Collection, Blobs: a.Blobs, Log: a.Log, Obs: a.Metrics,
		Grace: a.Config.BlobCollectionGrace, LinkGrace: time.Duration(a.Config.PushTempTagExpirationSec) * time.Second,
		Workers: 8, PauseRatio: 1, Now: time.Now}
}

// collectionJobs are the blob collector's runs and its slow sweep, when
// FEATURE_GARBAGE_COLLECTION is on. A run that reclaimed bytes queues a
// registry size calculation, so the superuser view follows.
func (a *App) collectionJobs() []worker.Job {
	if !a.Config.FeatureGarbageCollection {
		return nil
	}
	gc := a.Collector()
	return []worker.Job{
		// A short lease: a collector that died mid-run holds the job up for
		// a minute at most, and a run outliving its lease is safe (see
		// package blobgc: collectors may overlap).
		{Name: "collect-blobs", Interval: time.Duration(a.Config.GarbageCollectionFrequency) * time.Second, Lease: time.Minute,
			Run: func(ctx context.Context) error {
				res, err := gc.Run(ctx)
				if res.Blobs > 0 {
					if _, qerr := a.Store.Usage.QueueRegistrySize(ctx); qerr != nil && err == nil {
						err = qerr
					}
				}
				return err
			}},
		{Name: "sweep-blobs", Interval: a.Config.BlobOrphanSweepInterval, Lease: time.Hour, Run: func(ctx context.Context) error {
			_, err := gc.Sweep(ctx)
			return err
		}},
	}
}

// autoPruneJobs applies the auto-prune policies, when FEATURE_AUTO_PRUNE is on.
func (a *App) autoPruneJobs() []worker.Job {
	if a.AutoPrune == nil {
		return nil
	}
	return []worker.Job{{Name: "autoprune", Interval: time.Duration(a.Config.AutoPruningPollPeriod) * time.Second, Lease: 10 * time.Minute,
		Run: func(ctx context.Context) error {
			_, err := a.AutoPrune.Run(ctx)
			return err
		}}}
}

// Jobs lists the background work every wharf process offers to run.
func (a *App) Jobs() []worker.Job {
	cfg, store, blobs, log := a.Config, a.Store, a.Blobs, a.Log
	archiver := &auditlog.Archiver{Store: store.Logs, Blobs: blobs, Threshold: cfg.ActionLogRotationThreshold, BatchSize: 1000, Now: time.Now}
	return append(append(append(a.collectionJobs(), a.autoPruneJobs()...), a.logExportJobs()...), []worker.Job{
		{Name: "expire-uploads", Interval: time.Hour, Lease: 30 * time.Minute, Run: func(ctx context.Context) error {
			if _, err := registry.ExpireUploads(ctx, store.Uploads, blobs, time.Now(), uploadMaxIdle); err != nil {
				return err
			}
			if p, ok := blobs.(stagingPurger); ok {
				_, err := p.PurgeStaging(ctx, time.Now().Add(-uploadMaxIdle))
				return err
			}
			return nil
		}},
		{Name: "action-log-rotation", Interval: time.Hour, Lease: 30 * time.Minute, Run: func(ctx context.Context) error {
			_, err := archiver.Run(ctx)
			return err
		}},
		{Name: "registry-size", Interval: 10 * time.Second, Lease: 10 * time.Minute, Run: func(ctx context.Context) error {
			_, err := store.Usage.CalculateRegistrySize(ctx)
			return err
		}},
		// Tags whose expiration passed end first: their manifests' time
		// machine window starts then.
		{Name: "collect-untagged-manifests", Interval: time.Minute, Lease: 10 * time.Minute, Run: func(ctx context.Context) error {
			for {
				n, err := store.Registry.ExpireTags(ctx, 500)
				if err != nil {
					return err
				}
				if n < 500 {
					break
				}
			}
			for {
				// A manifest pushed by digest keeps Quay's temporary tag this long.
				pushedBefore := time.Now().Add(-time.Duration(cfg.PushTempTagExpirationSec) * time.Second)
				n, err := store.Registry.CollectUntaggedManifests(ctx, 500, pushedBefore)
				if err != nil || n < 500 {
					return err
				}
			}
		}},
		{Name: "reconcile-usage", Interval: 24 * time.Hour, Lease: time.Hour, Run: func(ctx context.Context) error {
			return reconcileUsage(ctx, store.Usage, log)
		}},
		{Name: "expired-sessions", Interval: time.Hour, Lease: 5 * time.Minute, Run: func(ctx context.Context) error {
			_, err := store.Accounts.DeleteExpiredSessions(ctx)
			return err
		}},
		// App-specific tokens expired for longer than Quay's
		// EXPIRED_APP_SPECIFIC_TOKEN_GC (1d): listed as expired until then.
		{Name: "expired-app-tokens", Interval: time.Hour, Lease: 5 * time.Minute, Run: func(ctx context.Context) error {
			for {
				n, err := store.Accounts.DeleteExpiredAppTokens(ctx, time.Now().Add(-expiredAppTokenGrace), 500)
				if err != nil || n < 500 {
					return err
				}
			}
		}},
		a.BuildReaper(),
		// Build contexts uploaded but never built within a day.
		{Name: "collect-user-files", Interval: time.Hour, Lease: 30 * time.Minute, Run: func(ctx context.Context) error {
			_, err := build.CollectFiles(ctx, store.Builds, blobs, time.Now(), 24*time.Hour)
			return err
		}},
		// Service keys expired longer than EXPIRED_SERVICE_KEY_TTL_SEC, or left
		// unapproved longer than UNAPPROVED_SERVICE_KEY_TTL_SEC (Quay's defaults).
		{Name: "service-key-gc", Interval: time.Hour, Lease: 5 * time.Minute, Run: func(ctx context.Context) error {
			_, err := a.ServiceKeys.Collect(ctx)
			return err
		}},
	}...)
}
