package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/app"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/registry"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/storage/s3"
	"github.com/wharf-registry/wharf/internal/worker"
)

const usage = `usage: wharf <command> [flags]

commands:
  serve        run the registry server, with BUILD_WORKERS build workers (see "wharf serve -h")
  worker       run build workers only, beside servers sharing the database and storage (see "wharf worker -h")
  check        verify that every blob the database uses is in storage (same flags as serve)
  version      print the version and the commit wharf was built from
  healthcheck  exit 0 when the server answers --url below 500 (the container image's HEALTHCHECK)
`

// run is the whole program; main only supplies the process's context,
// arguments, environment and output streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "worker":
		return workOnly(ctx, args[1:], getenv, stdout, stderr)
	case "check":
		return check(ctx, args[1:], getenv, stdout, stderr)
	case "gc":
		return collect(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		return printVersion(stdout)
	case "healthcheck":
		return healthcheck(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// serveOptions are the command-line flags of "wharf serve".
type serveOptions struct {
	dataDir     string
	addr        string
	configFile  string
	logFormat   string
	debugAddr   string
	metricsAddr string
}

func parseServeFlags(args []string, stderr io.Writer) (serveOptions, error) {
	return parseFlags("wharf serve", args, stderr, nil)
}

// parseFlags parses serve's flags plus those extra registers (a command
// that takes serve's flags and its own).
func parseFlags(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (serveOptions, error) {
	var o serveOptions
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	if extra != nil {
		extra(fs)
	}
	fs.SetOutput(stderr)
	fs.StringVar(&o.dataDir, "data", "./wharf-data", "directory for the SQLite database, blobs and generated secrets")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&o.configFile, "config", "", "Quay-compatible config.yaml (optional)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.debugAddr, "debug-addr", "", "if set, serve Go's pprof profiles on this (private) address")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "if set, serve /metrics only on this address (Quay's port is 9091), not on --addr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return o, fmt.Errorf("--log-format must be text or json, not %q", o.logFormat)
	}
	return o, nil
}

// instance is what serve and check share: configuration, store and blobs.
type instance struct {
	opts  serveOptions
	log   *slog.Logger
	out   *requestlog.Output
	cfg   *config.Config
	store *db.DB
	blobs storage.Driver
}

// open loads the configuration and opens the store of record and blob storage.
func open(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) (*instance, error) {
	opts, err := parseServeFlags(args, stderr)
	if err != nil {
		return nil, err
	}
	return openWith(ctx, opts, getenv, stderr)
}

// openWith is open with the flags already parsed.
func openWith(ctx context.Context, opts serveOptions, getenv func(string) string, stderr io.Writer) (*instance, error) {
	out := requestlog.NewOutput(stderr, opts.logFormat == "json")
	log := slog.New(out)
	cfg, err := config.Load(opts.configFile, getenv)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if len(cfg.Unknown) > 0 {
		log.Info("configuration keys wharf does not use were ignored", slog.Any("keys", cfg.Unknown))
	}
	if err := privateDir(opts.dataDir, log); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if cfg.SecretKey == "" {
		if cfg.SecretKey, err = storedSecret(filepath.Join(opts.dataDir, "secret_key")); err != nil {
			return nil, err
		}
	}
	dbURI := cfg.DBURI
	if dbURI == "" {
		dbURI = filepath.Join(opts.dataDir, "wharf.db")
	}
	store, err := db.Open(ctx, dbURI, db.WithSecretKey(cfg.SecretKey))
	if err != nil {
		return nil, err
	}
	blobs, err := openStorage(ctx, cfg, opts.dataDir, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &instance{opts: opts, log: log, out: out, cfg: cfg, store: store, blobs: blobs}, nil
}

// check runs the storage consistency check and fails when it finds problems.
func check(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	in, err := open(ctx, args, getenv, stderr)
	if err != nil {
		return err
	}
	defer in.store.Close()
	problems := 0
	n, err := registry.Check(ctx, in.store.Registry, in.blobs, func(p string) {
		problems++
		fmt.Fprintln(stdout, "problem:", p)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checked %d blobs: %d problems\n", n, problems)
	if problems > 0 {
		return fmt.Errorf("%d consistency problems", problems)
	}
	return nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	in, err := open(ctx, args, getenv, stderr)
	if err != nil {
		return err
	}
	defer in.store.Close()
	opts, log, cfg, store := in.opts, in.log, in.cfg, in.store
	executor, err := app.BuildExecutor(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return err
	}
	if cfg.ServerHostname == "" {
		cfg.ServerHostname = ln.Addr().String()
	}
	var appOpts []app.Option
	var metricsLn net.Listener
	if opts.metricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", opts.metricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer metricsLn.Close()
		appOpts = append(appOpts, app.WithSeparateMetrics())
	}
	a, err := app.New(cfg, store, in.blobs, in.out, appOpts...)
	if err != nil {
		ln.Close()
		return err
	}
	buildRegistry, err := registryURL(cfg, ln.Addr())
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(in.out, slog.LevelWarn),
	}
	holder := holderName()
	runner := worker.NewRunner(store.Leases, holder, log, a.Metrics, a.Jobs()...)
	workCtx, stopWork := context.WithCancel(ctx)
	work := newBackgroundWork()
	work.Go("jobs", func() { runner.Run(workCtx) })
	work.Go("application", func() { a.Run(workCtx) })
	work.Go("build workers", func() {
		if err := a.RunBuildWorkers(workCtx, executor, buildRegistry, opts.dataDir, holder); err != nil {
			log.Error("build workers cannot start", slog.Any("err", err))
		}
	})

	if opts.debugAddr != "" {
		go serveDebug(ctx, opts.debugAddr, log)
	}
	metricsNote := ""
	if metricsLn != nil {
		go serveMetrics(ctx, metricsLn, a.Metrics.Handler(), log)
		metricsNote = fmt.Sprintf(", metrics on http://%s/metrics", metricsLn.Addr())
	}
	fmt.Fprintf(stdout, "wharf listening on http://%s (data in %s, database %s%s)\n", ln.Addr(), opts.dataDir, store.Dialect(), metricsNote)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = srv.Shutdown(shutdownCtx)
		cancel()
	}
	stopWork()
	if still := work.Wait(workShutdownGrace); len(still) > 0 {
		// What a lease guards (a job run, a build) is taken over by
		// another process once the lease lapses; waiting longer would only
		// keep an orchestrator's restart waiting.
		log.Warn("shutdown: background work still running; exiting without it", slog.Any("work", still))
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// serveDebug serves net/http/pprof on addr until ctx ends. It is a separate
// listener so that profiles are never reachable on the public address.
func serveDebug(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("debug server failed", slog.Any("err", err))
	}
}

// openStorage opens the preferred DISTRIBUTED_STORAGE_CONFIG location.
func openStorage(ctx context.Context, cfg *config.Config, dataDir string, log *slog.Logger) (storage.Driver, error) {
	name := cfg.StoragePreference[0]
	loc := cfg.Storage[name]
	switch loc.Driver {
	case "LocalStorage":
		path, _ := loc.Params["storage_path"].(string)
		if path == "" {
			path = filepath.Join(dataDir, "storage")
		}
		if err := privateDir(path, log); err != nil {
			return nil, fmt.Errorf("storage location %q: %w", name, err)
		}
		fsync, _ := loc.Params["fsync"].(bool)
		return filesystem.New(path, filesystem.Options{Fsync: fsync})
	case "S3Storage", "RadosGWStorage":
		s3cfg, err := s3.FromQuayParams(loc.Driver, loc.Params)
		if err != nil {
			return nil, fmt.Errorf("storage location %q: %w", name, err)
		}
		return s3.New(ctx, s3cfg)
	default:
		return nil, fmt.Errorf("storage location %q: driver %s is not available (LocalStorage, S3Storage and RadosGWStorage are)", name, loc.Driver)
	}
}

// storedSecret returns the secret kept in path, creating it on first start
// so that sessions and page tokens survive restarts without a built-in key.
func storedSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read secret key: %w", err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("store secret key: %w", err)
	}
	return secret, nil
}

// holderName identifies this process in job leases: host and pid say which
// process it is, the random part keeps a restarted pid from reusing a lease.
func holderName() string {
	host, _ := os.Hostname()
	raw := make([]byte, 4)
	rand.Read(raw)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(raw))
}
