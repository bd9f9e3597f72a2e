package db

import (
	"context"
	"database/sql/driver"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointEvery is how often the checkpointer copies the SQLite WAL back
// into the database file, when something committed since it last did.
const checkpointEvery = 500 * time.Millisecond

// walCheckpointer copies committed pages from the WAL into the database
// file on a connection of its own, so that no writer pays for it.
//
// SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL
// past a thousand pages, with an fsync of the database file: the
// transaction that happens to cross the mark (often a push behind the
// blob collector, whose deletes write many pages) waits for the disk, and
// with it every writer queued at the write gate (BenchmarkPushWhileCollecting
// found half the collector's database time there). The store's connections
// turn the automatic checkpoint off (wal_autocheckpoint = 0) and this one
// runs PASSIVE checkpoints, which wait for no reader or writer.
type walCheckpointer struct {
	commits atomic.Int64 // bumped by every write that ends
	stop    chan struct{}
	stopped sync.Once
	done    sync.WaitGroup
}

// startCheckpointer opens its own connection with connect and
// checkpoints every checkpointEvery while anything committed, until stop.
func startCheckpointer(connect func(context.Context) (driver.Conn, error)) (*walCheckpointer, error) {
	conn, err := connect(context.Background())
	if err != nil {
		return nil, err
	}
	w := &walCheckpointer{stop: make(chan struct{})}
	w.done.Go(func() {
		defer conn.Close()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		seen := int64(0)
		for {
			select {
			case <-w.stop:
				w.checkpoint(conn) // leave little for the next start
				return
			case <-t.C:
			}
			if n := w.commits.Load(); n != seen {
				seen = n
				w.checkpoint(conn)
			}
		}
	})
	return w, nil
}

// checkpoint runs one passive checkpoint; a failure (the database busy or
// gone) is left to the next tick, as SQLite's own checkpoint would leave it.
func (w *walCheckpointer) checkpoint(conn driver.Conn) {
	if ex, ok := conn.(driver.ExecerContext); ok {
		ex.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`, nil)
	}
}

// committed records that a write ended.
func (w *walCheckpointer) committed() {
	if w != nil {
		w.commits.Add(1)
	}
}

// close stops the checkpointer after a last checkpoint; closing again
// does nothing.
func (w *walCheckpointer) close() {
	if w != nil {
		w.stopped.Do(func() { close(w.stop) })
		w.done.Wait()
	}
}
