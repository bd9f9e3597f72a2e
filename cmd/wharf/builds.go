package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"sync"

	"github.com/wharf-registry/wharf/internal/app"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/worker"
)

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

// workOnly is "wharf worker": build workers (and the reaper of dead
// workers' builds) without an HTTP listener but --metrics-addr's, for
// scaling builds apart from serving. It takes serve's flags (--addr is
// unused) and reaches the registry at BUILD_REGISTRY_URL, else
// PREFERRED_URL_SCHEME://SERVER_HOSTNAME.
func workOnly(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	in, err := open(ctx, args, getenv, stderr)
	if err != nil {
		return err
	}
	defer in.store.Close()
	cfg, log := in.cfg, in.log
	exec, err := app.BuildExecutor(cfg)
	if err != nil {
		return err
	}
	if exec == nil {
		return fmt.Errorf("builds are off (FEATURE_BUILD_SUPPORT false or BUILD_WORKERS 0): nothing to run")
	}
	a, err := app.New(cfg, in.store, in.blobs, in.out)
	if err != nil {
		return err
	}
	reg, err := registryURL(cfg, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wharf build worker pushing to %s (database %s)\n", reg, in.store.Dialect())
	if in.opts.metricsAddr != "" {
		ln, err := net.Listen("tcp", in.opts.metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		go serveMetrics(ctx, ln, a.Metrics.Handler(), log)
		fmt.Fprintf(stdout, "wharf build worker metrics on http://%s/metrics\n", ln.Addr())
	}
	holder := holderName()
	runner := worker.NewRunner(in.store.Leases, holder, log, a.Metrics, a.BuildReaper())
	reapCtx, stopReaping := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { runner.Run(reapCtx) })
	err = a.RunBuildWorkers(ctx, exec, reg, in.opts.dataDir, holder)
	stopReaping()
	wg.Wait()
	return err
}
