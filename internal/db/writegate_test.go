package db

import (
	"context"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestWriteGateOrder checks the gate's promises: a request waiting goes
// before background work that was waiting first; background work goes
// anyway once it has waited bgMaxWait; a writer that gives up while being
// handed the gate passes it on.
func TestWriteGateOrder(t *testing.T) {
	ctx := context.Background()
	bgCtx := wharf.Background(ctx)
	enterAsync := func(g *writeGate, ctx context.Context) <-chan time.Time {
		ch := make(chan time.Time, 1)
		go func() { g.enter(ctx); ch <- time.Now() }()
		return ch
	}
	t.Run("request before background", func(t *testing.T) {
		g := newWriteGate()
		g.enter(ctx)
		bg := enterAsync(g, bgCtx)
		time.Sleep(20 * time.Millisecond)
		fg := enterAsync(g, ctx)
		time.Sleep(20 * time.Millisecond)
		g.leave()
		fgAt := <-fg
		g.leave()
		bgAt := <-bg
		g.leave()
		if !fgAt.Before(bgAt) {
			t.Errorf("background entered at %v, before the request at %v", bgAt, fgAt)
		}
	})
	t.Run("background waits for quiet, at most bgMaxWait", func(t *testing.T) {
		g := newWriteGate()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { // a request writing every millisecond
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				g.enter(ctx)
				time.Sleep(time.Millisecond)
				g.leave()
			}
		}()
		time.Sleep(5 * time.Millisecond)
		start := time.Now()
		g.enter(bgCtx)
		waited := time.Since(start)
		g.leave()
		close(stop)
		<-done
		if waited < bgMaxWait/2 || waited > 5*bgMaxWait {
			t.Errorf("background waited %v among busy requests, want about %v", waited, bgMaxWait)
		}
		start = time.Now()
		time.Sleep(bgQuiet)
		g.enter(bgCtx)
		if waited := time.Since(start); waited > bgMaxWait/2 {
			t.Errorf("background waited %v on a quiet gate", waited)
		}
		g.leave()
	})
	t.Run("a writer that gives up passes the gate on", func(t *testing.T) {
		g := newWriteGate()
		g.enter(ctx)
		cctx, cancel := context.WithCancel(ctx)
		gaveUp := make(chan bool)
		go func() { gaveUp <- g.enter(cctx) }()
		time.Sleep(10 * time.Millisecond)
		cancel()
		if <-gaveUp {
			t.Fatal("a cancelled writer entered")
		}
		next := enterAsync(g, ctx)
		g.leave()
		select {
		case <-next:
		case <-time.After(time.Second):
			t.Fatal("the gate stayed shut after a writer gave up")
		}
	})
}
