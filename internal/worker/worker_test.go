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
		if runs.Load() < 1 {
			t.Fatal("the job never ran")
		}
		// The lease is released after a run: the next tick of any process runs it.
		r := worker.NewRunner(store.Leases, "late", log, nil, job)
		if !r.RunOnce(context.Background(), job) {
			t.Fatal("lease not released after the run")
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
