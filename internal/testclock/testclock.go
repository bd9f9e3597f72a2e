// Package testclock is a clock for tests that moves only when told to, so
// tests can pass a wait (a login throttle's, say) without sleeping.
package testclock

import (
	"sync"
	"time"
)

// Clock is a settable clock; the zero value is not usable, use New.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock standing at start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
