package worker_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/worker"
)

// Several runners sharing one database stand for several wharf processes:
// while a run holds the lease, no other process starts the job.
func TestOneProcessRunsAJobAtATime(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		var running, maxRunning, runs atomic.Int32
		job := worker.Job{Name: "exclusive", Interval: time.Hour, Lease: time.Minute, Run: func(ctx context.Context) error {
			n := running.Add(1)
			for {
				m := maxRunning.Load()
				if n <= m || maxRunning.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
			running.Add(-1)
			runs.Add(1)
			return nil
		}}
		var wg sync.WaitGroup
		for i := range 5 {
			r := worker.NewRunner(store.Leases, "proc"+string(rune('a'+i)), log, nil, job)
			wg.Go(func() { r.RunOnce(context.Background(), job) })
		}
		wg.Wait()
		if maxRunning.Load() != 1 {
			t.Fatalf("%d runs overlapped, want 1 at a time", maxRunning.Load())
		}
		if runs.Load() != 1 {
			t.Fatalf("the job ran %d times, want once: the lease is kept after a run until the job is due", runs.Load())
		}
	})
}

// After a run the holder keeps the lease until the job is due again, and
// half an interval more: its own next tick runs the job, another
// process's does not; once the holder has missed its turn, another takes
// the job over.
func TestLeaseKeptUntilTheJobIsDue(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		const interval = 400 * time.Millisecond
		job := worker.Job{Name: "due", Interval: interval, Lease: time.Minute, Run: func(context.Context) error { return nil }}
		holder, other := worker.NewRunner(store.Leases, "holder", log, nil, job), worker.NewRunner(store.Leases, "other", log, nil, job)
		ctx := context.Background()
		if !holder.RunOnce(ctx, job) {
			t.Fatal("the first run did not run")
		}
		if other.RunOnce(ctx, job) {
			t.Fatal("another process ran the job right after a run")
		}
		if !holder.RunOnce(ctx, job) {
			t.Fatal("the holder could not run the job again")
		}
		ran := time.Now()
		for !other.RunOnce(ctx, job) {
			if time.Since(ran) > 20*interval {
				t.Fatalf("another process could not take over the job %v after the holder's last run", time.Since(ran))
			}
			time.Sleep(interval / 10)
		}
		if took := time.Since(ran); took < interval {
			t.Errorf("another process took the job over %v after the holder's run, before it was due (%v)", took, interval)
		}
	})
}

// Three processes running one job for a while run it about once per
// interval between them, not three times per interval.
func TestJobRunsOncePerIntervalAcrossProcesses(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		const interval, window = 200 * time.Millisecond, 2 * time.Second
		var runs atomic.Int32
		job := worker.Job{Name: "shared", Interval: interval, Lease: time.Minute, Run: func(context.Context) error {
			runs.Add(1)
			return nil
		}}
		ctx, cancel := context.WithTimeout(context.Background(), window)
		defer cancel()
		var wg sync.WaitGroup
		for _, holder := range []string{"a", "b", "c"} {
			wg.Go(func() { worker.NewRunner(store.Leases, holder, log, nil, job).Run(ctx) })
		}
		wg.Wait()
		// Once per interval plus the first run is 11; three schedules of
		// their own would make 33. Takeovers under load add a few.
		if n := runs.Load(); n < 3 || n > 16 {
			t.Fatalf("the job ran %d times in %v at an interval of %v across three processes, want about %d", n, window, interval, window/interval+1)
		} else {
			t.Logf("%d runs in %v at an interval of %v across three processes", n, window, interval)
		}
	})
}

func TestRunStopsWithContext(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{}, 10)
		job := worker.Job{Name: "tick", Interval: 10 * time.Millisecond, Lease: time.Second, Run: func(context.Context) error {
			ran <- struct{}{}
			return nil
		}}
		done := make(chan struct{})
		go func() {
			worker.NewRunner(store.Leases, "p", slog.New(slog.NewTextHandler(io.Discard, nil)), nil, job).Run(ctx)
			close(done)
		}()
		<-ran
		<-ran
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("runner did not stop")
		}
	})
}

// runs records what a runner observed.
type runs struct {
	mu   sync.Mutex
	seen []string // "job ok" or "job failed"
}

func (r *runs) JobRan(job string, took time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	result := "ok"
	if err != nil {
		result = "failed"
	}
	r.seen = append(r.seen, job+" "+result)
}

// TestObserver: the observer hears of each run this process made, with
// its outcome; not of runs another process holds the lease for, nor of a
// run cut short by shutdown.
func TestObserver(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		log := slog.New(slog.DiscardHandler)
		ok := worker.Job{Name: "fine", Lease: time.Minute, Run: func(context.Context) error { return nil }}
		bad := worker.Job{Name: "broken", Lease: time.Minute, Run: func(context.Context) error { return errors.New("boom") }}
		shutdown := worker.Job{Name: "stopping", Lease: time.Minute, Run: func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}}
		obs := &runs{}
		r := worker.NewRunner(store.Leases, "me", log, obs)
		r.RunOnce(context.Background(), ok)
		r.RunOnce(context.Background(), bad)
		if _, err := store.Leases.AcquireLease(context.Background(), "held", "someone-else", time.Minute); err != nil {
			t.Fatal(err)
		}
		r.RunOnce(context.Background(), worker.Job{Name: "held", Lease: time.Minute, Run: ok.Run})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		r.RunOnce(ctx, shutdown)
		if want := []string{"fine ok", "broken failed"}; !slices.Equal(obs.seen, want) {
			t.Errorf("observed %q, want %q", obs.seen, want)
		}
	})
}
