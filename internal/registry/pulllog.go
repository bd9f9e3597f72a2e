package registry

import (
	"context"
	"log/slog"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// pullLogger writes pull_repo entries in batches off the request path: a
// pull changes nothing, so its audit row need not share a transaction, and
// batching keeps a burst of pulls from becoming a burst of writes.
type pullLogger struct {
	store   Store
	log     *slog.Logger
	entries chan wharf.LogEntry
}

func newPullLogger(store Store, log *slog.Logger) *pullLogger {
	return &pullLogger{store: store, log: log, entries: make(chan wharf.LogEntry, 4096)}
}

// add queues an entry; when the queue is full the entry is dropped and
// counted in the log rather than slowing pulls down.
func (p *pullLogger) add(e wharf.LogEntry) {
	e.Time = time.Now()
	select {
	case p.entries <- e:
	default:
		p.log.Warn("pull log queue full; entry dropped", slog.String("kind", e.Kind))
	}
}

func (p *pullLogger) run(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	var batch []wharf.LogEntry
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := p.store.AppendLogs(context.WithoutCancel(ctx), batch...); err != nil {
			p.log.Error("writing pull logs failed", slog.Int("entries", len(batch)), slog.Any("err", err))
		}
		batch = batch[:0]
	}
	for {
		select {
		case e := <-p.entries:
			batch = append(batch, e)
			if len(batch) >= 500 {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case e := <-p.entries:
					batch = append(batch, e)
				default:
					flush()
					return
				}
			}
		}
	}
}
