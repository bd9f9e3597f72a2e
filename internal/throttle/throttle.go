// Package throttle slows down password guessing. It counts failed logins per
// account and per client address and makes the next attempt wait, with an
// exponential backoff in the spirit of Quay's (which records failed attempts
// per user and doubles the wait): a few failures are free, then each further
// failure doubles the wait up to a cap.
//
// The numbers (Default):
//
//	                 free failures   first wait   cap      forgotten after
//	per account      5               1 s          15 min   24 h without a failure, or a success
//	per address      20              1 s          15 min   1 h without a failure
//
// After n failures in a row, n at least the free allowance, the next attempt
// must wait first·2^(n−free) after the last failure, at most the cap. For an
// account: the first 5 attempts are free, the 6th waits 1 s, the 7th 2 s, …,
// the 15th 512 s, and from the 16th on each waits 15 minutes, so a patient
// attacker gets about 100 guesses a day at one account. The per-address rule
// catches the other attack, a few common passwords sprayed over many
// accounts from one address. Unknown names are counted like existing ones,
// so being throttled tells nothing about whether an account exists. A
// success clears the account (its owner is not kept waiting by an
// attacker's past failures) but not the address, which an attacker holding
// one valid account could otherwise reset between guesses.
//
// Check refuses without looking at the password, so a throttled attempt
// costs no bcrypt work. An admitted attempt is in flight until Fail,
// Succeed or Release ends it. A key without failures may have Burst
// attempts in flight that do not count (16 per account, 64 per address:
// clients push in parallel, each asking for a token); past that, and at
// once for a key that has failed, attempts in flight count as failures, so
// parallel guesses cannot all slip in during the ~70 ms a bcrypt check
// takes: a clean account admits at most Free+Burst guesses at once, one
// that has failed only one at a time past its allowance.
//
// Memory is bounded: at most Policy.Keys accounts and Policy.Keys addresses
// are tracked (about 150 bytes each, so ~15 MB at Default's 50,000 when an
// attacker fills both); past that, the least recently active key is
// forgotten. Keys are stored as 64-bit keyed hashes, so long names cost
// nothing. An attacker would need 50,000 failures from fresh names, which the
// address rule itself spreads over thousands of addresses, to make a
// throttled account be forgotten.
//
// Each process throttles on its own: several wharf processes behind a load
// balancer multiply the allowance by their number. The address is the TCP
// peer; behind a reverse proxy every caller shares the proxy's address, and
// the address rule becomes a limit on all failed logins together.
package throttle

import (
	"container/list"
	"hash/maphash"
	"sync"
	"time"
)

// Rule is how one kind of key (account or address) is throttled.
type Rule struct {
	// Free is how many failures in a row cost no wait.
	Free int
	// First is the wait after the first failure past Free; each further
	// failure doubles it, up to Max.
	First, Max time.Duration
	// Forget is how long after its last failure a key's count is dropped.
	Forget time.Duration
	// Burst is how many attempts may be in flight at once on a key without
	// failures before they count against Free.
	Burst int
}

// Policy is the rule for accounts, the rule for client addresses, and how
// many of each are tracked at most.
type Policy struct {
	Account, Address Rule
	Keys             int
}

// Default is the policy wharf serves with; the package doc explains it.
var Default = Policy{
	Account: Rule{Free: 5, First: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour, Burst: 16},
	Address: Rule{Free: 20, First: time.Second, Max: 15 * time.Minute, Forget: time.Hour, Burst: 64},
	Keys:    50000,
}

// inFlightTimeout is how long an admitted attempt that was never ended
// (a panic between Check and Fail) still counts: a password check takes
// well under a second.
const inFlightTimeout = time.Minute

// Limiter decides whether a login attempt may be checked now. It is safe
// for concurrent use.
type Limiter struct {
	policy    Policy
	now       func() time.Time
	seed      maphash.Seed
	mu        sync.Mutex
	accounts  *table
	addresses *table
}

// New returns a Limiter applying p, reading the time from now.
func New(p Policy, now func() time.Time) *Limiter {
	return &Limiter{policy: p, now: now, seed: maphash.MakeSeed(),
		accounts: newTable(p.Keys), addresses: newTable(p.Keys)}
}

// Check reports whether an attempt to log in to account from addr may be
// checked now; if not, retryAfter says how long to wait. account is "" for
// credentials that name no guessable account (robot and OAuth tokens are
// long random secrets): only the address counts for them. When ok, the
// attempt is in flight and the caller must end it with exactly one of Fail,
// Succeed or Release.
func (l *Limiter) Check(account, addr string) (retryAfter time.Duration, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range l.keys(account, addr) {
		if w := k.rule.wait(k.table.get(k.hash), now); w > retryAfter {
			retryAfter = w
		}
	}
	if retryAfter > 0 {
		return retryAfter, false
	}
	for _, k := range l.keys(account, addr) {
		e := k.table.put(k.hash)
		e.settle(k.rule, now)
		e.inFlight++
		e.admitted = now
	}
	return 0, true
}

// Fail ends an attempt whose credentials were wrong.
func (l *Limiter) Fail(account, addr string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range l.keys(account, addr) {
		e := k.table.put(k.hash)
		e.settle(k.rule, now)
		e.end()
		e.failures++
		e.lastFailure = now
	}
}

// Succeed ends an attempt whose credentials were right: the account's
// failures are cleared, the address's are kept.
func (l *Limiter) Succeed(account, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if account != "" {
		l.accounts.remove(l.hash(account))
	}
	l.addresses.end(l.hash(addr))
}

// Release ends an attempt that reached no verdict (a store fault): it
// counts neither way.
func (l *Limiter) Release(account, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range l.keys(account, addr) {
		k.table.end(k.hash)
	}
}

// key is one throttled key of an attempt with its table and rule.
type key struct {
	table *table
	rule  Rule
	hash  uint64
}

func (l *Limiter) keys(account, addr string) []key {
	ks := []key{{l.addresses, l.policy.Address, l.hash(addr)}}
	if account != "" {
		ks = append(ks, key{l.accounts, l.policy.Account, l.hash(account)})
	}
	return ks
}

func (l *Limiter) hash(s string) uint64 { return maphash.String(l.seed, s) }

// entry is what is known of one key.
type entry struct {
	hash        uint64
	failures    int
	lastFailure time.Time
	inFlight    int
	admitted    time.Time // when the latest in-flight attempt was admitted
}

// settle drops what has timed out: failures past the rule's Forget and
// in-flight attempts past inFlightTimeout.
func (e *entry) settle(r Rule, now time.Time) {
	if e.failures > 0 && now.Sub(e.lastFailure) >= r.Forget {
		e.failures = 0
	}
	if e.inFlight > 0 && now.Sub(e.admitted) >= inFlightTimeout {
		e.inFlight = 0
	}
}

func (e *entry) end() {
	if e.inFlight > 0 {
		e.inFlight--
	}
}

// wait is how long a new attempt on e must wait at now (nil e: none).
func (r Rule) wait(e *entry, now time.Time) time.Duration {
	if e == nil {
		return 0
	}
	settled := *e
	settled.settle(r, now)
	inFlight := settled.inFlight
	if settled.failures == 0 {
		inFlight = max(0, inFlight-r.Burst)
	}
	n := settled.failures + inFlight
	if n < r.Free {
		return 0
	}
	if settled.inFlight > 0 {
		// Past the allowance another check is under way: were it to fail
		// now, this is how long the next attempt would wait.
		return r.delay(n)
	}
	return max(settled.lastFailure.Add(r.delay(n)).Sub(now), 0)
}

// delay is the wait after n failures (n ≥ Free): First, doubled once for
// each failure past Free, at most Max.
func (r Rule) delay(n int) time.Duration {
	d := r.First
	for i := r.Free; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

// table is a bounded map of entries in least-recently-touched order.
type table struct {
	max   int
	byKey map[uint64]*list.Element
	order *list.List // of *entry, most recently touched first
}

func newTable(keys int) *table {
	return &table{max: max(keys, 1), byKey: map[uint64]*list.Element{}, order: list.New()}
}

func (t *table) get(h uint64) *entry {
	if el, ok := t.byKey[h]; ok {
		return el.Value.(*entry)
	}
	return nil
}

// put returns h's entry, created if need be, as the most recently touched;
// a new entry past max pushes out the least recently touched one.
func (t *table) put(h uint64) *entry {
	if el, ok := t.byKey[h]; ok {
		t.order.MoveToFront(el)
		return el.Value.(*entry)
	}
	if t.order.Len() >= t.max {
		t.removeElement(t.order.Back())
	}
	e := &entry{hash: h}
	t.byKey[h] = t.order.PushFront(e)
	return e
}

// end ends one in-flight attempt of h and drops the entry once it holds
// nothing.
func (t *table) end(h uint64) {
	el, ok := t.byKey[h]
	if !ok {
		return
	}
	e := el.Value.(*entry)
	e.end()
	if e.failures == 0 && e.inFlight == 0 {
		t.removeElement(el)
	}
}

func (t *table) remove(h uint64) {
	if el, ok := t.byKey[h]; ok {
		t.removeElement(el)
	}
}

func (t *table) removeElement(el *list.Element) {
	delete(t.byKey, el.Value.(*entry).hash)
	t.order.Remove(el)
}
