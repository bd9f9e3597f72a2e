package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/outbound"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/worker"
)

// buildPoll is how often an idle build worker looks for queued builds.
const buildPoll = 2 * time.Second

// outboundPolicy is the one vetting of user-given URLs (build archive
// URLs, ADD URLs, remote FROM registries), with the admin's allow-lists.
func outboundPolicy(cfg *config.Config) *outbound.Policy {
	p := &outbound.Policy{AllowHosts: cfg.OutboundAllowedHosts}
	for _, cidr := range cfg.OutboundAllowedNetworks {
		p.AllowNetworks = append(p.AllowNetworks, netip.MustParsePrefix(cidr)) // validated by config
	}
	return p
}

func newBuildService(cfg *config.Config, store *db.DB, blobs storage.Driver) *build.Service {
	if !cfg.FeatureBuildSupport {
		return nil
	}
	return build.NewService(store, blobs, outboundPolicy(cfg), cfg.BuildContextMaxBytes, cfg.ServerHostname).
		LimitQueued(int(cfg.BuildMaxQueued))
}

// buildExecutor is the executor BUILD_EXECUTOR names, nil when this
// process runs no build workers. Buildah must be installed when it is
// chosen: a missing one stops start-up rather than failing every build.
func buildExecutor(cfg *config.Config) (build.Executor, error) {
	if !cfg.FeatureBuildSupport || cfg.BuildWorkers == 0 {
		return nil, nil
	}
	if cfg.BuildExecutor == "buildah" {
		e := build.Buildah{URLs: outboundPolicy(cfg)}
		if err := e.Available(); err != nil {
			return nil, fmt.Errorf("BUILD_EXECUTOR is buildah but buildah cannot be run: %w", err)
		}
		return e, nil
	}
	return build.Builtin{URLs: outboundPolicy(cfg), MaxBytes: cfg.BuildContextMaxBytes}, nil
}

// registryURL is where build workers reach the registry: BUILD_REGISTRY_URL,
// else this process's own listener (a wildcard address reached on loopback),
// else SERVER_HOSTNAME.
func registryURL(cfg *config.Config, listener net.Addr) (*url.URL, error) {
	raw := cfg.BuildRegistryURL
	switch {
	case raw != "":
	case listener != nil:
		host, port, err := net.SplitHostPort(listener.String())
		if err != nil {
			return nil, err
		}
		if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		raw = "http://" + net.JoinHostPort(host, port)
	case cfg.ServerHostname != "":
		raw = cfg.PreferredURLScheme + "://" + cfg.ServerHostname
	default:
		return nil, fmt.Errorf("set BUILD_REGISTRY_URL or SERVER_HOSTNAME so that build workers can reach the registry")
	}
	return url.Parse(raw)
}

// runBuildWorkers runs BUILD_WORKERS build workers with exec until ctx
// ends; a nil exec runs none.
func runBuildWorkers(ctx context.Context, cfg *config.Config, store *db.DB, builds *build.Service, exec build.Executor,
	keys auth.TokenKeys, reg *url.URL, dataDir string, log *slog.Logger) error {
	if exec == nil {
		return nil
	}
	scratch := filepath.Join(dataDir, "builds")
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return fmt.Errorf("create build scratch directory: %w", err)
	}
	sweepScratch(scratch, time.Now().Add(-cfg.BuildTimeout-cfg.BuildWorkerLease), log)
	tokens := build.NewTokens(keys, store, time.Now)
	name := holderName()
	log.Info("build workers started", slog.Int64("workers", cfg.BuildWorkers), slog.String("executor", exec.Name()),
		slog.String("registry", reg.String()))
	var wg sync.WaitGroup
	for i := range cfg.BuildWorkers {
		w := &build.Worker{Store: store, Files: builds, Exec: exec, Tokens: tokens, URLs: outboundPolicy(cfg),
			Registry: build.RegistryEndpoint{URL: reg, ServerHostname: cfg.ServerHostname},
			Name:     fmt.Sprintf("%s/%d", name, i), ScratchDir: scratch, Timeout: cfg.BuildTimeout,
			MaxBytes: cfg.BuildContextMaxBytes, Lease: cfg.BuildWorkerLease, Poll: buildPoll, Logger: log}
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

// buildReaper is the job that takes back builds of dead workers: workers
// renew their lease three times per BUILD_WORKER_LEASE, and the reaper
// looks twice per lease for ones that stopped.
func buildReaper(cfg *config.Config, store *db.DB, log *slog.Logger) worker.Job {
	return worker.Job{Name: "build-reaper", Interval: cfg.BuildWorkerLease / 2, Lease: time.Minute, Run: func(ctx context.Context) error {
		return build.Reap(ctx, store, log)
	}}
}

// workOnly is "wharf worker": build workers (and the reaper of dead
// workers' builds) without an HTTP listener, for scaling builds apart from
// serving. It takes serve's flags (--addr is unused) and reaches the
// registry at BUILD_REGISTRY_URL, else PREFERRED_URL_SCHEME://SERVER_HOSTNAME.
func workOnly(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	in, err := open(ctx, args, getenv, stderr)
	if err != nil {
		return err
	}
	defer in.store.Close()
	cfg, log := in.cfg, in.log
	exec, err := buildExecutor(cfg)
	if err != nil {
		return err
	}
	if exec == nil {
		return fmt.Errorf("builds are off (FEATURE_BUILD_SUPPORT false or BUILD_WORKERS 0): nothing to run")
	}
	keys, err := instanceKeys(cfg, in.store)
	if err != nil {
		return err
	}
	reg, err := registryURL(cfg, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wharf build worker pushing to %s (database %s)\n", reg, in.store.Dialect())
	runner := worker.NewRunner(in.store, holderName(), log, buildReaper(cfg, in.store, log))
	reapCtx, stopReaping := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { runner.Run(reapCtx) })
	err = runBuildWorkers(ctx, cfg, in.store, newBuildService(cfg, in.store, in.blobs), exec, keys, reg, in.opts.dataDir, log)
	stopReaping()
	wg.Wait()
	return err
}
