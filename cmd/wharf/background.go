package main

import (
	"slices"
	"sync"
	"time"
)

// workShutdownGrace is how long a stopping server waits for its background
// work (jobs, the application's loops, build workers) to notice that it
// was cancelled and return.
const workShutdownGrace = 3 * time.Second

// backgroundWork runs named goroutines and tells, on a bounded wait, which
// of them have not returned.
type backgroundWork struct {
	mu      sync.Mutex
	running map[string]int
	wg      sync.WaitGroup
}

func newBackgroundWork() *backgroundWork {
	return &backgroundWork{running: map[string]int{}}
}

// Go runs f under name.
func (b *backgroundWork) Go(name string, f func()) {
	b.mu.Lock()
	b.running[name]++
	b.mu.Unlock()
	b.wg.Go(func() {
		defer func() {
			b.mu.Lock()
			if b.running[name]--; b.running[name] == 0 {
				delete(b.running, name)
			}
			b.mu.Unlock()
		}()
		f()
	})
}

// Wait waits until every goroutine returned or grace passed, and returns
// the names of those still running, sorted (none when all returned).
func (b *backgroundWork) Wait(grace time.Duration) []string {
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var still []string
	for name := range b.running {
		still = append(still, name)
	}
	slices.Sort(still)
	return still
}
