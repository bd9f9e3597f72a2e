package db

import (
	"context"
	"database/sql/driver"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// writeGate queues one process's SQLite writers: requests in arrival
// order, background work (wharf.Background: jobs, the blob collector) in
// the gaps between them.
//
// SQLite lets one connection write at a time. Without the gate, a writer
// that finds the lock taken polls for it (busy_timeout: sleeps of 1, 2, 5,
// 10, … 100 ms), and one that writes in a loop — the blob collector running
// flat out — takes the lock again at once after each commit, so a push that
// polls finds it taken again and again and sleeps ever longer
// (BenchmarkPushWhileCollecting: p99 2 to 3 times idle, in
// modernc.org/sqlite's busyHandler). Through the gate a waiting writer is
// handed the lock the moment the writer before it commits.
//
// Background work goes only when no request has written for bgQuiet (a
// push writes several times, with gaps of a millisecond or two between its
// writes, and the collector's step would land in them), or once it has
// waited bgMaxWait: requests slow it, never stop it, and it runs flat out
// when they stop. The collector's writes also bring its file deletes,
// which compete with pushes for the filesystem's journal; pacing the
// writes paces them too. Writers of other processes (wharf gc beside a
// server) still meet at busy_timeout.
//
// A transaction holds the gate from BEGIN to COMMIT or ROLLBACK, a
// statement outside one while it runs. A writer that waits longer than
// gateWait goes on without it, as without the gate: the gate only orders
// writers, it never refuses or deadlocks one (a goroutine holding a
// transaction that also wrote outside it waited on busy_timeout before).
type writeGate struct {
	mu     sync.Mutex
	held   bool
	fg, bg []*gateWaiter // in arrival order
	// fgHeld says a request holds the gate; lastFg is when one last left.
	fgHeld bool
	lastFg time.Time
}

type gateWaiter struct {
	ready chan struct{} // closed when the gate is handed over
	since time.Time
	bg    bool
}

const (
	// gateWait is how long a writer waits for the gate before going on to
	// SQLite's busy_timeout: as long as busy_timeout itself.
	gateWait = 10 * time.Second
	// bgQuiet is how long no request must have written before background
	// work writes; bgMaxWait is how long it gives way at most.
	bgQuiet   = 10 * time.Millisecond
	bgMaxWait = 200 * time.Millisecond
)

func newWriteGate() *writeGate { return &writeGate{} }

// enter waits for the gate; false when the writer goes on without it
// (ctx done, or gateWait passed).
func (g *writeGate) enter(ctx context.Context) bool {
	bg := wharf.InBackground(ctx)
	since := time.Now()
	if bg && !g.awaitQuiet(ctx, since) {
		return false
	}
	g.mu.Lock()
	if !g.held { // a free gate has no queue: leave hands it over
		g.take(bg)
		g.mu.Unlock()
		return true
	}
	w := &gateWaiter{ready: make(chan struct{}), since: since, bg: bg}
	if bg {
		g.bg = append(g.bg, w)
	} else {
		g.fg = append(g.fg, w)
	}
	g.mu.Unlock()
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case <-w.ready:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	g.mu.Lock()
	queued := false
	g.fg = slices.DeleteFunc(g.fg, func(x *gateWaiter) bool { queued = queued || x == w; return x == w })
	g.bg = slices.DeleteFunc(g.bg, func(x *gateWaiter) bool { queued = queued || x == w; return x == w })
	g.mu.Unlock()
	if !queued { // handed the gate while giving up: pass it on
		g.leave()
	}
	return false
}

// awaitQuiet holds a background writer back until no request holds or
// waits for the gate and none has left it for bgQuiet, or until bgMaxWait
// has passed since it came; false if ctx ends first.
func (g *writeGate) awaitQuiet(ctx context.Context, since time.Time) bool {
	for {
		g.mu.Lock()
		wait := bgQuiet - time.Since(g.lastFg)
		if g.fgHeld || len(g.fg) > 0 {
			wait = bgQuiet
		}
		g.mu.Unlock()
		if wait <= 0 || time.Since(since) >= bgMaxWait {
			return true
		}
		t := time.NewTimer(min(wait, bgMaxWait-time.Since(since)))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// take marks the gate held by a writer; g.mu is held.
func (g *writeGate) take(bg bool) {
	g.held, g.fgHeld = true, !bg
}

// leave hands the gate to the next writer: a background one that has
// waited bgMaxWait, else the first request, else the first background one.
func (g *writeGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fgHeld {
		g.lastFg = time.Now()
	}
	var next *gateWaiter
	switch {
	case len(g.bg) > 0 && (len(g.fg) == 0 || time.Since(g.bg[0].since) >= bgMaxWait):
		next, g.bg = g.bg[0], g.bg[1:]
	case len(g.fg) > 0:
		next, g.fg = g.fg[0], g.fg[1:]
	default:
		g.held, g.fgHeld = false, false
		return
	}
	g.take(next.bg)
	close(next.ready)
}

// writes reports whether a statement run outside a transaction takes the
// write lock (its text starts with a writing verb).
func writes(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	for _, verb := range []string{"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "PRAGMA", "VACUUM"} {
		if len(q) >= len(verb) && strings.EqualFold(q[:len(verb)], verb) {
			return true
		}
	}
	return false
}

// gatedTx is a transaction holding its connection's gate until it ends.
type gatedTx struct {
	driver.Tx
	c *cachingConn
}

func (t *gatedTx) Commit() error {
	defer t.c.leaveGate()
	return t.Tx.Commit()
}

func (t *gatedTx) Rollback() error {
	defer t.c.leaveGate()
	return t.Tx.Rollback()
}
