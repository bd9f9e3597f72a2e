package build

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// maxLogLine bounds one log entry's message; longer lines are cut.
const maxLogLine = 8 << 10

// logFlushInterval is how stale a running build's log may look to readers.
const logFlushInterval = 250 * time.Millisecond

// Log collects a running build's log entries and writes them to the
// database in batches, so readers on any process see them while the
// build runs without one write per line.
type Log struct {
	store  logStore
	id     int64
	worker string
	logger *slog.Logger

	mu      sync.Mutex // guards pending, kept and dropped
	pending []wharf.BuildLogEntry
	// kept counts the entries taken; past wharf.MaxBuildLogEntries lines
	// are dropped here, not buffered for the database to drop.
	kept, dropped int
	// flushing is held across taking and writing a batch, so a flush that
	// returns has written every line added before it: the worker flushes
	// before each phase change, and the ticker's flush must not be able to
	// hold lines back past it.
	flushing sync.Mutex
	stop     chan struct{}
	done     chan struct{}
}

// logStore is what a Log writes to (see WorkerStore.AppendBuildLogs).
type logStore interface {
	AppendBuildLogs(ctx context.Context, id int64, worker string, entries ...wharf.BuildLogEntry) error
}

func newLog(store logStore, id int64, worker string, logger *slog.Logger) *Log {
	l := &Log{store: store, id: id, worker: worker, logger: logger, stop: make(chan struct{}), done: make(chan struct{})}
	go l.flushLoop()
	return l
}

// Command logs a Dockerfile step ("Step 2/5 : COPY . /app").
func (l *Log) Command(msg string) {
	l.add(wharf.BuildLogEntry{Message: msg, Type: "command", Data: map[string]any{}})
}

// Output logs one line of build output.
func (l *Log) Output(msg string) { l.add(wharf.BuildLogEntry{Message: msg}) }

func (l *Log) add(e wharf.BuildLogEntry) {
	if len(e.Message) > maxLogLine {
		cut := maxLogLine
		for cut > 0 && !utf8.RuneStart(e.Message[cut]) {
			cut--
		}
		e.Message = e.Message[:cut] + " …"
	}
	e.Message = strings.ToValidUTF8(e.Message, "\uFFFD")
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kept >= wharf.MaxBuildLogEntries {
		l.dropped++
		return
	}
	l.kept++
	l.pending = append(l.pending, e)
}

func (l *Log) flushLoop() {
	defer close(l.done)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			l.flush()
			return
		case <-t.C:
			l.flush()
		}
	}
}

func (l *Log) flush() {
	l.flushing.Lock()
	defer l.flushing.Unlock()
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	err := l.store.AppendBuildLogs(context.Background(), l.id, l.worker, batch...)
	if err != nil && !wharf.IsCode(err, wharf.Conflict) { // Conflict: the build went on without this worker
		l.logger.Warn("write build log", slog.Int("entries", len(batch)), slog.Any("err", err))
	}
}

// Close writes what is pending and stops the writer.
func (l *Log) Close() {
	close(l.stop)
	<-l.done
	if l.dropped > 0 {
		l.logger.Warn("build log over its limit: lines dropped", slog.Int("dropped", l.dropped))
	}
}
