package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/outbound"
	"github.com/wharf-registry/wharf/internal/worker"
)

// OutboundPolicy is the one vetting of user-given URLs (build archive
// URLs, ADD URLs, remote FROM registries), with the admin's allow-lists.
func OutboundPolicy(cfg *config.Config) *outbound.Policy {
	p := &outbound.Policy{AllowHosts: cfg.OutboundAllowedHosts}
	for _, cidr := range cfg.OutboundAllowedNetworks {
		p.AllowNetworks = append(p.AllowNetworks, netip.MustParsePrefix(cidr)) // validated by config
	}
	return p
}

// BuildExecutor is the executor BUILD_EXECUTOR names, nil when this
// process runs no build workers. Buildah must be installed when it is
// chosen: a missing one stops start-up rather than failing every build.
func BuildExecutor(cfg *config.Config) (build.Executor, error) {
	if !cfg.FeatureBuildSupport || cfg.BuildWorkers == 0 {
		return nil, nil
	}
	if cfg.BuildExecutor == "buildah" {
		e := build.Buildah{URLs: OutboundPolicy(cfg)}
		if err := e.Available(); err != nil {
			return nil, fmt.Errorf("BUILD_EXECUTOR is buildah but buildah cannot be run: %w", err)
		}
		return e, nil
	}
	return build.Builtin{URLs: OutboundPolicy(cfg), MaxBytes: cfg.BuildContextMaxBytes}, nil
}

// buildPoll is how often an idle build worker looks for queued builds.
const buildPoll = 2 * time.Second

// RunBuildWorkers runs BUILD_WORKERS build workers with exec until ctx
// ends; a nil exec runs none. Workers reach the registry at reg, keep
// scratch directories under dataDir, and name themselves after holder.
func (a *App) RunBuildWorkers(ctx context.Context, exec build.Executor, reg *url.URL, dataDir, holder string) error {
	if exec == nil {
		return nil
	}
	cfg, log := a.Config, a.Log
	scratch := filepath.Join(dataDir, "builds")
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return fmt.Errorf("create build scratch directory: %w", err)
	}
	sweepScratch(scratch, time.Now().Add(-cfg.BuildTimeout-cfg.BuildWorkerLease), log)
	log.Info("build workers started", slog.Int64("workers", cfg.BuildWorkers), slog.String("executor", exec.Name()),
		slog.String("registry", reg.String()))
	var wg sync.WaitGroup
	for i := range cfg.BuildWorkers {
		w := &build.Worker{Store: a.Store.Builds, Requesters: a.Access, Files: a.Builds, Exec: exec, Tokens: a.BuildTokens, URLs: OutboundPolicy(cfg),
			Registry: build.RegistryEndpoint{URL: reg, ServerHostname: cfg.ServerHostname},
			Name:     fmt.Sprintf("%s/%d", holder, i), ScratchDir: scratch, Timeout: cfg.BuildTimeout,
			MaxBytes: cfg.BuildContextMaxBytes, Lease: cfg.BuildWorkerLease, Poll: buildPoll, Logger: log, Phases: a.Metrics}
		wg.Go(func() { w.Run(ctx) })
	}
	wg.Wait()
	return nil
}

// sweepScratch removes build directories a crashed process left behind:
// those older than any build may run (other processes sharing the data
// directory may be building in newer ones).
func sweepScratch(dir string, before time.Time, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Warn("read build scratch directory", slog.Any("err", err))
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() || !info.ModTime().Before(before) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			log.Warn("remove a stale build directory", slog.String("dir", e.Name()), slog.Any("err", err))
		}
	}
}

// BuildReaper is the job that takes back builds of dead workers: workers
// renew their lease three times per BUILD_WORKER_LEASE, and the reaper
// looks twice per lease for ones that stopped.
func (a *App) BuildReaper() worker.Job {
	return worker.Job{Name: "build-reaper", Interval: a.Config.BuildWorkerLease / 2, Lease: time.Minute, Run: func(ctx context.Context) error {
		return build.Reap(ctx, a.Store.Builds, a.Log)
	}}
}
