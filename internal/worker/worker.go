// Package worker runs wharf's background jobs. Every job is a plain
// function run on an interval; before each run the runner takes a lease on
// the job's row in the database, so that when several wharf processes share
// one database exactly one of them runs each job at a time.
//
//	tick ──► AcquireLease(job, me, ttl) ──no──► wait for next tick
//	              │yes
//	              ▼
//	         job.Run(ctx) ──► observe, FinishRun: record the run, keep the lease
//	                          until the job is next due ──► wait for next tick
//
// The lease outlives the run: its holder keeps it until the job is due
// again (an interval after the run started) and half an interval more, so
// that the holder's own next tick renews it. However many processes share
// the database, each job runs once per interval between them, not once per
// process, and stays with one process while that process keeps its rhythm;
// another takes it over half an interval after a holder stopped. A run
// cut short by shutdown gives the lease back at once. The lease row keeps
// the record of the job's runs: how many, the last one's holder, times
// and error.
//
// Jobs must be idempotent: a lease can expire under a slow run, and a
// crashed process's lease lapses after its TTL, so a run may repeat work.
package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Leaser grants exclusive, expiring leases on job names and records the
// runs made under them.
type Leaser interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// FinishRun records holder's run of job name, which took took and
	// failed with runErr ("" = it succeeded), and keeps holder's lease for
	// hold more. Conflict when holder no longer holds the lease.
	FinishRun(ctx context.Context, name, holder string, took, hold time.Duration, runErr string) error
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Job is one kind of background work.
type Job struct {
	Name     string
	Interval time.Duration
	// Lease is how long one run may take before another process may start
	// the job again.
	Lease time.Duration
	Run   func(ctx context.Context) error
}

// Observer is told of every run (the process's metrics).
type Observer interface {
	// JobRan reports a run this process made under the job's lease; err
	// is its failure, nil for a success.
	JobRan(job string, took time.Duration, err error)
}

// Runner runs jobs until its context ends.
type Runner struct {
	leaser Leaser
	holder string
	log    *slog.Logger
	obs    Observer
	jobs   []Job
}

// NewRunner returns a Runner; holder names this process in leases, obs
// (may be nil) is told of every run.
func NewRunner(leaser Leaser, holder string, log *slog.Logger, obs Observer, jobs ...Job) *Runner {
	return &Runner{leaser: leaser, holder: holder, log: log, obs: obs, jobs: jobs}
}

// Run runs every job on its interval (first run right away) and returns
// when ctx is done and every in-flight run has finished.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, job := range r.jobs {
		wg.Go(func() { r.loop(ctx, job) })
	}
	wg.Wait()
}

func (r *Runner) loop(ctx context.Context, job Job) {
	t := time.NewTicker(job.Interval)
	defer t.Stop()
	for {
		r.RunOnce(ctx, job)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce runs job if this process can take its lease, and reports whether it ran.
func (r *Runner) RunOnce(ctx context.Context, job Job) bool {
	start := time.Now()
	ok, err := r.leaser.AcquireLease(ctx, job.Name, r.holder, job.Lease)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("job lease failed", slog.String("job", job.Name), slog.Any("err", err))
		}
		return false
	}
	if !ok {
		return false
	}
	// Jobs give way to requests where they share a resource.
	runCtx, cancel := context.WithTimeout(wharf.Background(ctx), job.Lease)
	defer cancel()
	err = job.Run(runCtx)
	took := time.Since(start)
	if ctx.Err() != nil {
		// Stopped mid-run: neither a failure nor a run to time; another
		// process may run the job now.
		r.leaser.ReleaseLease(context.WithoutCancel(ctx), job.Name, r.holder)
		return true
	}
	if r.obs != nil {
		r.obs.JobRan(job.Name, took, err)
	}
	runErr := ""
	if err != nil {
		runErr = err.Error()
		r.log.Error("job failed", slog.String("job", job.Name), slog.Any("err", err), slog.Duration("took", took))
	} else {
		r.log.Debug("job ran", slog.String("job", job.Name), slog.Duration("took", took))
	}
	// Held until the job is due, and half an interval more: this process's
	// next tick, an interval after this one, finds the lease still its own.
	hold := job.Interval + job.Interval/2 - took
	if err := r.leaser.FinishRun(ctx, job.Name, r.holder, took, hold, runErr); err != nil {
		r.log.Warn("job run not recorded", slog.String("job", job.Name), slog.Any("err", err))
	}
	return true
}
