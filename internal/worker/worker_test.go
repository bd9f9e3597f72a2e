package worker_test

import (
	"context"
	"io"
	"log/slog"
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
			r := worker.NewRunner(store.Leases, "proc"+string(rune('a'+i)), log, job)
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
		r := worker.NewRunner(store.Leases, "late", log, job)
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
			worker.NewRunner(store.Leases, "p", slog.New(slog.NewTextHandler(io.Discard, nil)), job).Run(ctx)
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
