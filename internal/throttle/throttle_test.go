package throttle

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a test clock that moves only when told to.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// step is one move of a scenario against a Limiter under a test clock.
type step func(t *testing.T, l *Limiter, c *clock)

// fail makes n attempts on account from addr that are admitted and fail.
func fail(account, addr string, n int) step {
	return func(t *testing.T, l *Limiter, _ *clock) {
		t.Helper()
		for i := range n {
			if wait, ok := l.Check(account, addr); !ok {
				t.Fatalf("attempt %d on %q from %q refused (wait %v), want admitted", i+1, account, addr, wait)
			}
			l.Fail(account, addr)
		}
	}
}

// succeed makes one admitted attempt that succeeds.
func succeed(account, addr string) step {
	return func(t *testing.T, l *Limiter, _ *clock) {
		t.Helper()
		if wait, ok := l.Check(account, addr); !ok {
			t.Fatalf("attempt on %q from %q refused (wait %v), want admitted", account, addr, wait)
		}
		l.Succeed(account, addr)
	}
}

// refused checks that an attempt is refused with the given wait.
func refused(account, addr string, want time.Duration) step {
	return func(t *testing.T, l *Limiter, _ *clock) {
		t.Helper()
		if wait, ok := l.Check(account, addr); ok || wait != want {
			t.Fatalf("Check(%q, %q) = %v, %v; want refused with %v", account, addr, wait, ok, want)
		}
	}
}

// parallel admits n attempts and leaves them all in flight.
func parallel(account, addr string, n int) step {
	return func(t *testing.T, l *Limiter, c *clock) {
		t.Helper()
		for range n {
			admitted(account, addr)(t, l, c)
		}
	}
}

// admitted checks that an attempt is admitted and leaves it in flight.
func admitted(account, addr string) step {
	return func(t *testing.T, l *Limiter, _ *clock) {
		t.Helper()
		if wait, ok := l.Check(account, addr); !ok {
			t.Fatalf("Check(%q, %q) refused with %v, want admitted", account, addr, wait)
		}
	}
}

func release(account, addr string) step {
	return func(_ *testing.T, l *Limiter, _ *clock) { l.Release(account, addr) }
}

func advance(d time.Duration) step {
	return func(_ *testing.T, _ *Limiter, c *clock) { c.Advance(d) }
}

// spray fails once on each of n accounts named prefix0, prefix1, … from addr.
func spray(prefix, addr string, n int) step {
	return func(t *testing.T, l *Limiter, c *clock) {
		t.Helper()
		for i := range n {
			fail(fmt.Sprint(prefix, i), addr, 1)(t, l, c)
		}
	}
}

func TestLimiter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"five failures are free, the sixth attempt waits a second", []step{
			fail("alice", "10.0.0.1", 5),
			refused("alice", "10.0.0.1", time.Second),
			refused("alice", "10.0.0.2", time.Second), // the account is throttled wherever the guesses come from
			advance(999 * time.Millisecond),
			refused("alice", "10.0.0.1", time.Millisecond),
			advance(time.Millisecond),
			fail("alice", "10.0.0.1", 1),
			refused("alice", "10.0.0.1", 2*time.Second),
		}},
		{"unknown accounts are throttled like known ones", []step{
			fail("no-such-user", "10.0.0.1", 5),
			refused("no-such-user", "10.0.0.1", time.Second),
		}},
		{"the wait is capped at 15 minutes", []step{
			fail("alice", "10.0.0.1", 5),
			func(t *testing.T, l *Limiter, c *clock) {
				for range 25 {
					wait, ok := l.Check("alice", "10.0.0.1")
					if ok {
						t.Fatal("admitted right after a failure past the allowance")
					}
					c.Advance(wait)
					fail("alice", "10.0.0.1", 1)(t, l, c)
				}
			},
			refused("alice", "10.0.0.1", 15*time.Minute),
		}},
		{"other accounts are not slowed by one account's failures", []step{
			fail("alice", "10.0.0.1", 5),
			refused("alice", "10.0.0.1", time.Second),
			succeed("bob", "10.0.0.1"),
		}},
		{"a success clears the account", []step{
			fail("alice", "10.0.0.1", 5),
			advance(time.Second),
			succeed("alice", "10.0.0.1"),
			fail("alice", "10.0.0.1", 5),
			refused("alice", "10.0.0.1", time.Second),
		}},
		{"an address spraying many accounts is throttled", []step{
			spray("user", "10.0.0.1", 20),
			refused("someone-else", "10.0.0.1", time.Second),
			succeed("someone-else", "10.0.0.2"),
		}},
		{"a success does not clear the address", []step{
			spray("user", "10.0.0.1", 19),
			succeed("mallory", "10.0.0.1"),
			fail("user0", "10.0.0.1", 1),
			refused("mallory", "10.0.0.1", time.Second),
		}},
		{"token logins count for the address only", []step{
			fail("", "10.0.0.1", 20),
			refused("", "10.0.0.1", time.Second),
			refused("alice", "10.0.0.1", time.Second),
			succeed("", "10.0.0.2"),
		}},
		{"account failures are forgotten after a day", []step{
			fail("alice", "10.0.0.1", 5),
			advance(24*time.Hour - time.Second),
			fail("alice", "10.0.0.1", 1),
			refused("alice", "10.0.0.1", 2*time.Second),
			advance(24 * time.Hour),
			fail("alice", "10.0.0.1", 5),
			refused("alice", "10.0.0.1", time.Second),
		}},
		{"address failures are forgotten after an hour", []step{
			spray("user", "10.0.0.1", 20),
			advance(time.Hour),
			spray("other", "10.0.0.1", 20),
			refused("x", "10.0.0.1", time.Second),
		}},
		{"past the allowance one attempt at a time is in flight", []step{
			fail("alice", "10.0.0.1", 4),
			admitted("alice", "10.0.0.1"),
			refused("alice", "10.0.0.2", time.Second),
			release("alice", "10.0.0.1"),
			admitted("alice", "10.0.0.2"),
		}},
		{"parallel attempts past the burst use up the free allowance", []step{
			parallel("alice", "10.0.0.1", 16+5),
			refused("alice", "10.0.0.1", time.Second),
		}},
		{"an attempt never ended stops counting after a minute", []step{
			fail("alice", "10.0.0.1", 4),
			admitted("alice", "10.0.0.1"),
			advance(59 * time.Second),
			refused("alice", "10.0.0.1", time.Second),
			advance(time.Second),
			admitted("alice", "10.0.0.1"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := New(Default, c.Now)
			for _, s := range tc.steps {
				s(t, l, c)
			}
		})
	}
}

// TestPatientAttacker replays the report (30 wrong passwords, each sent as
// soon as allowed, then the right one) and checks the waits it met.
func TestPatientAttacker(t *testing.T) {
	c := newClock()
	l := New(Default, c.Now)
	var waits []time.Duration
	for range 30 {
		wait, ok := l.Check("alice", "10.0.0.1")
		if !ok {
			waits = append(waits, wait)
			c.Advance(wait)
			if wait, ok := l.Check("alice", "10.0.0.1"); !ok {
				t.Fatalf("refused after waiting as told: %v", wait)
			}
		}
		l.Fail("alice", "10.0.0.1")
	}
	s := time.Second
	want := []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 128 * s, 256 * s, 512 * s}
	for len(want) < 25 {
		want = append(want, 15*time.Minute)
	}
	if diff := cmp.Diff(want, waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if wait, ok := l.Check("alice", "10.0.0.1"); ok || wait != 15*time.Minute {
		t.Fatalf("the right password after 30 failures: Check = %v, %v; want refused for 15m", wait, ok)
	}
}

// TestBoundedMemory cycles far more names and addresses than the limiter
// tracks: the tables stay at their bound, and successes leave nothing.
func TestBoundedMemory(t *testing.T) {
	for _, tc := range []struct {
		name    string
		attempt func(l *Limiter, i int)
		want    int // entries in each table afterwards
	}{
		{"failures from fresh names and addresses", func(l *Limiter, i int) {
			account, addr := fmt.Sprint("user", i), fmt.Sprint("10.", i/65536, ".", i/256%256, ".", i%256)
			if _, ok := l.Check(account, addr); ok {
				l.Fail(account, addr)
			}
		}, 100},
		{"successes", func(l *Limiter, i int) {
			account, addr := fmt.Sprint("user", i), fmt.Sprint("10.0.", i/256%256, ".", i%256)
			if _, ok := l.Check(account, addr); ok {
				l.Succeed(account, addr)
			}
		}, 0},
		{"store faults", func(l *Limiter, i int) {
			account := fmt.Sprint("user", i)
			if _, ok := l.Check(account, "10.0.0.1"); ok {
				l.Release(account, "10.0.0.1")
			}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			p := Default
			p.Keys = 100
			l := New(p, c.Now)
			for i := range 100000 {
				tc.attempt(l, i)
			}
			for _, tb := range []*table{l.accounts, l.addresses} {
				if len(tb.byKey) != tc.want || tb.order.Len() != tc.want {
					t.Errorf("table holds %d keys (%d in order), want %d", len(tb.byKey), tb.order.Len(), tc.want)
				}
			}
		})
	}

	t.Run("the least recently active key goes first", func(t *testing.T) {
		c := newClock()
		p := Default
		p.Keys = 10
		l := New(p, c.Now)
		fail("alice", "10.0.0.1", 5)(t, l, c)
		for i := range 9 {
			fail(fmt.Sprint("user", i), fmt.Sprint("10.0.1.", i), 1)(t, l, c)
		}
		refused("alice", "10.0.2.1", time.Second)(t, l, c)
		fail("one-more", "10.0.1.9", 1)(t, l, c)
		if _, ok := l.Check("alice", "10.0.2.1"); !ok {
			t.Error("alice is still tracked after the table overflowed; want her forgotten as the least recently active")
		}
	})
}

// TestConcurrentChecks lets many goroutines race for one account: no more
// than its burst and free allowance may be admitted before any of them ends.
func TestConcurrentChecks(t *testing.T) {
	c := newClock()
	l := New(Default, c.Now)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		granted int
	)
	for i := range 100 {
		wg.Go(func() {
			if _, ok := l.Check("alice", fmt.Sprint("10.0.0.", i)); ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if want := Default.Account.Burst + Default.Account.Free; granted != want {
		t.Errorf("%d attempts admitted at once, want %d", granted, want)
	}
}
