package auth

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// EpochStore is where credential epochs are kept (package db).
type EpochStore interface {
	// Epochs returns the current epoch of each subject that has one.
	Epochs(ctx context.Context, subjects []string) (map[string]int64, error)
	// EpochChanges returns the subjects changed after since (0: within the
	// last window) and the store's clock now, both in microseconds.
	EpochChanges(ctx context.Context, since, window int64) ([]wharf.EpochChange, int64, error)
}

// Revocations makes registry tokens revocable at no per-request cost.
//
// A registry token records the epoch of every subject its grants rest on:
// the holder's account, a robot's namespace, each granted repository and
// its namespace. Whatever takes rights away (deleting, disabling or
// renaming an account; deleting a repository or making it private) moves
// the subject's epoch in the same transaction as the change. Every process
// polls the changes of the last token lifetime every PollInterval into a
// map, and Valid refuses a token whose recorded epoch is older than the
// map's. The map holds only subjects changed within one token lifetime, so
// its size follows the rate of revocations, not the number of accounts,
// and a lookup is a map read: no database query per request.
//
// Bound: a change made through any process stops its tokens everywhere
// within PollInterval plus one poll's duration (documented as 5 seconds
// with the default 2-second interval).
type Revocations struct {
	store    EpochStore
	window   time.Duration // a token's longest lifetime
	interval time.Duration
	log      *slog.Logger

	mu     sync.RWMutex
	epochs map[string]wharf.EpochChange
	since  int64 // microseconds: the next poll's lower bound
	primed bool
}

// DefaultPollInterval is how often Revocations polls by default.
const DefaultPollInterval = 2 * time.Second

// revocationOverlap re-reads changes this far back on every poll, so a
// change whose transaction committed after a later-stamped one was seen
// is never missed.
const revocationOverlap = time.Minute

// NewRevocations returns Revocations over store for tokens living at most
// window, polled every interval.
func NewRevocations(store EpochStore, window, interval time.Duration, log *slog.Logger) *Revocations {
	return &Revocations{store: store, window: window, interval: interval, log: log, epochs: map[string]wharf.EpochChange{}}
}

// Run polls until ctx ends.
func (r *Revocations) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		if err := r.Poll(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("poll credential epochs", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll reads the changes since the last poll into the map.
func (r *Revocations) Poll(ctx context.Context) error {
	r.mu.RLock()
	since := r.since
	r.mu.RUnlock()
	changes, now, err := r.store.EpochChanges(ctx, since, r.window.Microseconds())
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range changes {
		if old, ok := r.epochs[c.Subject]; !ok || c.Epoch > old.Epoch {
			r.epochs[c.Subject] = c
		}
	}
	for s, c := range r.epochs {
		if c.ChangedAt < now-r.window.Microseconds()-revocationOverlap.Microseconds() {
			delete(r.epochs, s)
		}
	}
	r.since, r.primed = now-revocationOverlap.Microseconds(), true
	return nil
}

// Stamp returns the current epochs of subjects, to record in a token;
// a subject never changed has epoch 0.
func (r *Revocations) Stamp(ctx context.Context, subjects []string) (map[string]int64, error) {
	epochs, err := r.store.Epochs(ctx, subjects)
	if err != nil {
		return nil, err
	}
	for _, s := range subjects {
		if _, ok := epochs[s]; !ok {
			epochs[s] = 0
		}
	}
	return epochs, nil
}

// Valid reports whether a token stamped with epochs is still valid. Before
// the first poll has succeeded it polls itself: nothing is valid on trust.
func (r *Revocations) Valid(ctx context.Context, epochs map[string]int64) (bool, error) {
	r.mu.RLock()
	primed := r.primed
	r.mu.RUnlock()
	if !primed {
		if err := r.Poll(ctx); err != nil {
			return false, err
		}
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for s, e := range epochs {
		// A token stamped after a change this process has not polled yet
		// carries a newer epoch: it is valid (epochs only grow).
		if c, ok := r.epochs[s]; ok && e < c.Epoch {
			return false, nil
		}
	}
	return true, nil
}

// Epoch returns the newest epoch of subject this process has polled, 0
// when it has seen no change of it within a token lifetime: a cache entry
// that recorded it is stale once it differs.
func (r *Revocations) Epoch(subject string) int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.epochs[subject].Epoch
}
