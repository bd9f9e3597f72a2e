package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/buildcontext"
	"github.com/wharf-registry/wharf/internal/dockerfile"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// WorkerStore is what a build worker needs from the database.
type WorkerStore interface {
	// ClaimBuild returns nil when no build waits.
	ClaimBuild(ctx context.Context, worker string, lease time.Duration) (*wharf.Build, error)
	// RenewBuildLease, SetBuildPhase and FinishBuild return Conflict when
	// the worker no longer holds the build.
	RenewBuildLease(ctx context.Context, uuid, worker string, lease time.Duration) error
	SetBuildPhase(ctx context.Context, uuid, worker, phase string) error
	FinishBuild(ctx context.Context, uuid, worker, phase, errMsg string, entries ...wharf.LogEntry) error
	// ReleaseBuild puts worker's build back in the queue without using up
	// a retry; Conflict when the worker no longer holds it.
	ReleaseBuild(ctx context.Context, uuid, worker string) error
	// AppendBuildLogs returns Conflict when worker no longer holds the build.
	AppendBuildLogs(ctx context.Context, id int64, worker string, entries ...wharf.BuildLogEntry) error
	// ExpireBuildLeases takes back every build whose worker's lease lapsed:
	// queued again while retries remain, else ended in internalerror with
	// its Build.EndEntry.
	ExpireBuildLeases(ctx context.Context) (requeued, expired int, err error)
}

// Job is one build as an executor sees it: an unpacked context, the
// Dockerfile in it, where to push, and hooks into the worker.
type Job struct {
	Build      *wharf.Build
	ContextDir string // absolute, inside ScratchDir
	Dockerfile string // absolute, inside ContextDir's archive root
	ScratchDir string // the executor's own space; removed after the build
	Registry   Registry
	Log        *Log
	// Phase moves the build to a later phase; an error (the build was
	// cancelled or taken away) means stop now. Executors call it with
	// PhaseBuilding once the base images are in, and with PhasePushing
	// right before the first push: after that, the build cannot be
	// cancelled any more.
	Phase func(phase string) error
}

// parseDockerfile reads the job's Dockerfile; a missing or malformed one
// is the build's fault (Invalid).
func (j *Job) parseDockerfile() (*dockerfile.Dockerfile, error) {
	f, err := os.Open(j.Dockerfile)
	if err != nil {
		return nil, wharf.Errorf(wharf.Invalid, "cannot read the Dockerfile: %v", err)
	}
	defer f.Close()
	df, err := dockerfile.Parse(f)
	if err != nil {
		return nil, wharf.Errorf(wharf.Invalid, "Dockerfile: %v", err)
	}
	return df, nil
}

// Executor runs one build: it builds the Dockerfile and pushes the image
// to every tag of the job.
type Executor interface {
	Name() string
	Run(ctx context.Context, job *Job) error
}

// Requesters re-judges the user a build acts for (access.Service).
type Requesters interface {
	// RequesterMayPush reports whether the build's requester may still
	// write to its repository.
	RequesterMayPush(ctx context.Context, b *wharf.Build) (bool, error)
}

// PhaseObserver is told how long builds spend in each phase (the
// process's metrics).
type PhaseObserver interface {
	BuildPhase(phase string, took time.Duration)
}

// Worker claims queued builds and runs them with an executor.
type Worker struct {
	Store WorkerStore
	// Requesters is asked at every phase change whether the build may go
	// on: it acts for its requester, whose rights may have gone since.
	Requesters Requesters
	Files      *Service
	Exec       Executor
	Tokens     *Tokens
	URLs       URLPolicy
	Registry   RegistryEndpoint
	// Name identifies this worker in leases; unique per process and slot.
	Name       string
	ScratchDir string
	Timeout    time.Duration
	MaxBytes   int64 // largest context, packed or unpacked
	Lease      time.Duration
	Poll       time.Duration
	Logger     *slog.Logger
	// Phases (may be nil) is told when each phase of a build ends.
	Phases PhaseObserver
}

// Run claims and runs builds until ctx is done.
func (w *Worker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		b, err := w.Store.ClaimBuild(ctx, w.Name, w.Lease)
		if err != nil && ctx.Err() == nil {
			w.Logger.Error("claim build", slog.Any("err", err))
		}
		if b == nil {
			select {
			case <-ctx.Done():
			case <-time.After(w.Poll):
			}
			continue
		}
		w.RunBuild(ctx, b)
	}
}

// errTaken is the cancel cause when the worker lost its build: cancelled
// through the API, or its lease lapsed and the build went elsewhere.
var errTaken = errors.New("the build was cancelled or taken over")

// RunBuild runs one claimed build to its end and records the outcome. It
// returns once the build is over (or the worker lost it).
func (w *Worker) RunBuild(parent context.Context, b *wharf.Build) {
	log := w.Logger.With(slog.String("build", b.UUID), slog.String("repository", b.Repository.Namespace+"/"+b.Repository.Name))
	log.Info("build started", slog.String("executor", w.Exec.Name()))
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	ctx, stop := context.WithTimeoutCause(ctx, w.Timeout, fmt.Errorf("the build took longer than BUILD_TIMEOUT (%s)", w.Timeout))
	defer stop()

	var hb sync.WaitGroup
	hb.Go(func() { w.heartbeat(ctx, b, cancel) })
	defer hb.Wait()
	defer cancel(nil)

	blog := newLog(w.Store, b.ID, w.Name, log)
	clock := &phaseClock{obs: w.Phases, phase: wharf.PhaseScheduled, since: time.Now()}
	defer clock.end()
	err := w.executeSafely(ctx, b, blog, cancel, clock)
	blog.Close()
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errTaken) || errors.Is(err, errTaken):
		// Cancelled or taken over: whoever holds the build now records its end.
		log.Info("build stopped", slog.Any("cause", cause))
		return
	case parent.Err() != nil && err != nil:
		// Shutting down: give the build back at once, without using up
		// one of its tries, rather than leave it until the lease lapses.
		if err := w.Store.ReleaseBuild(context.WithoutCancel(parent), b.UUID, w.Name); err != nil && !wharf.IsCode(err, wharf.Conflict) {
			log.Warn("giving back a build at shutdown", slog.Any("err", err))
		}
		log.Info("build given back at shutdown")
		return
	case err == nil:
		w.finish(parent, b, wharf.PhaseComplete, "", log)
	default:
		if ctx.Err() != nil && cause != nil {
			err = cause
		}
		w.finish(parent, b, wharf.PhaseError, w.clientMessage(err, log), log)
	}
}

// clientMessage is what the build's owner is told about err: the message
// of a build error (Dockerfile, context, registry refusals), without the
// worker's scratch paths; a fault of the server itself is logged and
// reported only as such.
func (w *Worker) clientMessage(err error, log *slog.Logger) string {
	var we *wharf.Error
	switch {
	case errors.As(err, &we) && we.Code == wharf.Internal:
		log.Error("build failed on a server fault", slog.Any("err", err))
		return "The build failed on an internal error of the build worker; the server logged the details"
	case errors.As(err, &we):
		return strings.ReplaceAll(we.Message, w.ScratchDir+string(filepath.Separator), "")
	}
	return strings.ReplaceAll(err.Error(), w.ScratchDir+string(filepath.Separator), "")
}

func (w *Worker) finish(ctx context.Context, b *wharf.Build, phase, errMsg string, log *slog.Logger) {
	entry := b.EndEntry(phase == wharf.PhaseComplete, errMsg)
	err := w.Store.FinishBuild(context.WithoutCancel(ctx), b.UUID, w.Name, phase, errMsg, entry)
	if err != nil {
		log.Warn("recording the end of a build", slog.Any("err", err))
		return
	}
	log.Info("build finished", slog.String("phase", phase), slog.String("error", errMsg))
}

// heartbeat renews the build's lease until ctx ends; losing the lease
// (a cancel, or a lapse another worker acted on) stops the build.
func (w *Worker) heartbeat(ctx context.Context, b *wharf.Build, cancel context.CancelCauseFunc) {
	t := time.NewTicker(w.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := w.Store.RenewBuildLease(ctx, b.UUID, w.Name, w.Lease)
		if wharf.IsCode(err, wharf.Conflict) {
			cancel(errTaken)
			return
		}
		if err != nil && ctx.Err() == nil {
			w.Logger.Warn("renew build lease", slog.String("build", b.UUID), slog.Any("err", err))
		}
	}
}

// executeSafely is execute, with a panic (a bug met by hostile input)
// turned into the build's failure instead of the process's end.
func (w *Worker) executeSafely(ctx context.Context, b *wharf.Build, blog *Log, cancel context.CancelCauseFunc, clock *phaseClock) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = wharf.Wrap(fmt.Errorf("panic: %v\n%s", p, debug.Stack()), "run build "+b.UUID)
		}
	}()
	return w.execute(ctx, b, blog, cancel, clock)
}

// execute unpacks the context and hands the build to the executor.
func (w *Worker) execute(ctx context.Context, b *wharf.Build, blog *Log, cancel context.CancelCauseFunc, clock *phaseClock) error {
	phase := func(p string) error {
		blog.flush() // the phase entry goes after the lines logged before it
		if err := w.rejudge(ctx, b); err != nil {
			return err
		}
		err := w.Store.SetBuildPhase(ctx, b.UUID, w.Name, p)
		if wharf.IsCode(err, wharf.Conflict) {
			cancel(errTaken) // stop now, not at the next heartbeat
			return errTaken
		}
		if err == nil {
			clock.next(p)
		}
		return err
	}
	if err := phase(wharf.PhaseUnpacking); err != nil {
		return err
	}
	scratch, err := os.MkdirTemp(w.ScratchDir, "build-")
	if err != nil {
		return wharf.Wrap(err, "create build scratch directory")
	}
	defer os.RemoveAll(scratch)
	root := filepath.Join(scratch, "context")
	if err := os.Mkdir(root, 0o700); err != nil {
		return wharf.Wrap(err, "create build context directory")
	}
	if err := w.unpack(ctx, b, root, blog); err != nil {
		return err
	}
	contextDir, dockerfile, err := buildcontext.ResolveDockerfile(root, b.Job.Context, b.Job.BuildSubdir)
	if err != nil {
		return err
	}
	if err := phase(wharf.PhasePulling); err != nil {
		return err
	}
	token, err := w.Tokens.Issue(ctx, b.UUID, w.Name, w.Timeout+w.Lease)
	if err != nil {
		return err
	}
	job := &Job{Build: b, ContextDir: contextDir, Dockerfile: dockerfile, ScratchDir: filepath.Join(scratch, "work"),
		Registry: w.Registry.For(b, token), Log: blog, Phase: phase}
	if err := os.Mkdir(job.ScratchDir, 0o700); err != nil {
		return wharf.Wrap(err, "create build work directory")
	}
	return w.Exec.Run(ctx, job)
}

// rejudge stops b when its requester may no longer push to its
// repository: disabled, deleted, or without write access any more.
func (w *Worker) rejudge(ctx context.Context, b *wharf.Build) error {
	may, err := w.Requesters.RequesterMayPush(ctx, b)
	if err != nil || may {
		return err
	}
	who := "the user who requested it"
	if b.Job.ManualUser != nil {
		who = *b.Job.ManualUser
	}
	return wharf.Errorf(wharf.Forbidden, "The build was stopped: %s may no longer push to %s/%s (the account was disabled or deleted, or lost write access)",
		who, b.Repository.Namespace, b.Repository.Name)
}

// unpack fetches the build's context (uploaded file or archive URL) and
// unpacks it under root, refusing anything that would escape it.
func (w *Worker) unpack(ctx context.Context, b *wharf.Build, root string, blog *Log) error {
	var src io.ReadCloser
	if b.ResourceKey != "" {
		f, err := w.Files.UserFile(ctx, b.ResourceKey)
		if err != nil {
			return wharf.Errorf(wharf.Invalid, "The build context file %s is gone", b.ResourceKey)
		}
		if src, err = w.Files.OpenFile(ctx, f); err != nil {
			return err
		}
	} else {
		url := ""
		if b.Job.ArchiveURL != nil {
			url = *b.Job.ArchiveURL
		}
		blog.Output("Fetching " + url)
		resp, err := w.fetch(ctx, url)
		if err != nil {
			return err
		}
		src = resp
	}
	defer src.Close()
	lim := buildcontext.DefaultLimits()
	lim.MaxBytes, lim.MaxCompressedBytes = w.MaxBytes, w.MaxBytes
	format, err := buildcontext.Extract(ctx, src, root, lim)
	if err != nil {
		return err
	}
	blog.Output(fmt.Sprintf("Unpacked the build context (%s)", format))
	return nil
}

// fetch downloads an archive URL through the outbound policy's client.
func (w *Worker) fetch(ctx context.Context, url string) (io.ReadCloser, error) {
	if _, err := w.URLs.Check(ctx, url); err != nil {
		return nil, err
	}
	req, err := newGet(ctx, url)
	if err != nil {
		return nil, err
	}
	resp, err := w.URLs.Client(w.Timeout).Do(req)
	if err != nil {
		var we *wharf.Error
		if errors.As(err, &we) {
			return nil, we
		}
		return nil, wharf.Errorf(wharf.Invalid, "Could not fetch the archive URL: %v", err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil, wharf.Errorf(wharf.Invalid, "Could not fetch the archive URL: the server answered %s", resp.Status)
	}
	return resp.Body, nil
}

// Reap takes back builds whose worker stopped renewing its lease (see
// WorkerStore.ExpireBuildLeases); it is a periodic job.
func Reap(ctx context.Context, store WorkerStore, logger *slog.Logger) error {
	requeued, expired, err := store.ExpireBuildLeases(ctx)
	if requeued+expired > 0 {
		logger.Info("took back builds of unresponsive workers", slog.Int("requeued", requeued), slog.Int("expired", expired))
	}
	return err
}

// phaseClock times the phases of one build on this worker: a claimed
// build starts in build-scheduled, each phase change ends the phase before
// it, and the build's end (whatever it is) ends the last.
type phaseClock struct {
	obs   PhaseObserver
	phase string
	since time.Time
}

func (c *phaseClock) next(phase string) {
	c.end()
	c.phase, c.since = phase, time.Now()
}

func (c *phaseClock) end() {
	if c.obs != nil {
		c.obs.BuildPhase(c.phase, time.Since(c.since))
	}
}
