package db

import (
	"context"
	"sync"
	"time"
)

const (
	// bgQuiet is how long no request must have written before background
	// work writes; bgMaxWait is how long it gives way at most.
	bgQuiet   = 10 * time.Millisecond
	bgMaxWait = 200 * time.Millisecond
)

// requestPace lets background work (wharf.Background: jobs, the blob
// collector) write in the gaps between one process's requests' writes.
//
// A push writes several times, a millisecond or two apart; a collector
// step landing between them makes the push wait for it, on SQLite's one
// write lock or for PostgreSQL's CPU and disk, and a collector running flat
// out lands in nearly every gap (BenchmarkPushWhileCollecting: pushes at 2
// to 7 times their idle latency on SQLite). So background work writes only
// when no request has been writing for bgQuiet, or once it has waited
// bgMaxWait: requests slow it, never stop it, and it runs flat out when
// they stop. Its writes bring its file deletes with them, which compete
// with pushes for the filesystem's journal: pacing the writes paces those.
type requestPace struct {
	mu     sync.Mutex
	active int       // requests writing or waiting to
	last   time.Time // when one last stopped
}

// begin and end bracket a request's write, its wait for the lock included.
func (p *requestPace) begin() {
	p.mu.Lock()
	p.active++
	p.mu.Unlock()
}

func (p *requestPace) end() {
	p.mu.Lock()
	p.active--
	p.last = time.Now()
	p.mu.Unlock()
}

// awaitQuiet holds background work that came at since back until no
// request has written for bgQuiet, or until bgMaxWait has passed since;
// false if ctx ends first.
func (p *requestPace) awaitQuiet(ctx context.Context, since time.Time) bool {
	for {
		p.mu.Lock()
		wait := bgQuiet - time.Since(p.last)
		if p.active > 0 {
			wait = bgQuiet
		}
		p.mu.Unlock()
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
