package api_test

// Login throttling at /api/v1/signin and /api/v1/signin/verify: the
// brute-force and enumeration attacks of the report, replayed against the
// real router. The throttle's clock is frozen (testEnv.clock); the tests
// move it past each wait instead of sleeping.

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/identity"
)

// signinAttempt is one browser-style sign-in: a CSRF token, then the form.
func (e *testEnv) signinAttempt(user, pass string) *response {
	e.t.Helper()
	c := e.anonymous()
	r := c.do("GET", "/csrf_token", nil)
	mustStatus(e.t, r, http.StatusOK)
	c.csrf = r.JSON(e.t)["csrf_token"].(string)
	return c.do("POST", "/api/v1/signin", map[string]any{"username": user, "password": pass})
}

// mustThrottle fails the test unless r is Quay's error JSON for 429 with
// Retry-After: wait (seconds).
func mustThrottle(t *testing.T, what string, r *response, wait int) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("%s: status %d, want 429; body %s", what, r.Status, r.Body)
	}
	if got := r.Header.Get("Retry-After"); got != strconv.Itoa(wait) {
		t.Fatalf("%s: Retry-After %q, want %d", what, got, wait)
	}
	body := r.JSON(t)
	if body["error_type"] != "too_many_requests" || body["status"] != float64(http.StatusTooManyRequests) {
		t.Fatalf("%s: body %s, want error_type too_many_requests and status 429", what, r.Body)
	}
	if r.Header.Get("X-Next-CSRF-Token") != "" || len(r.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("%s: a throttled signin started a session", what)
	}
}

func TestSigninThrottle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		// Each case counts failures from scratch: a fresh wharf of its own.
		fresh := func(t *testing.T) (*testEnv, string) {
			e := newEnv(t, dbtest.Open(t, store.Dialect()), nil)
			return e, e.createUser(e.bootstrap(), "alice")
		}

		t.Run("30 wrong passwords, then the right one, waits for the throttle", func(t *testing.T) {
			t.Parallel()
			e, pass := fresh(t)
			var waits []string
			for range 30 {
				r := e.signinAttempt("alice", "wrong-password")
				if r.Status == http.StatusTooManyRequests {
					// A patient attacker waits as told, then guesses again.
					waits = append(waits, r.Header.Get("Retry-After"))
					secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
					e.clock.Advance(time.Duration(secs) * time.Second)
					r = e.signinAttempt("alice", "wrong-password")
				}
				mustStatus(t, r, http.StatusForbidden)
			}
			want := []string{"1", "2", "4", "8", "16", "32", "64", "128", "256", "512"}
			for len(want) < 25 {
				want = append(want, "900")
			}
			if diff := cmp.Diff(want, waits); diff != "" {
				t.Errorf("Retry-After of the guesses after the five free ones (-want +got):\n%s", diff)
			}
			mustThrottle(t, "the right password right after", e.signinAttempt("alice", pass), 900)
			e.clock.Advance(899 * time.Second)
			mustThrottle(t, "the right password a second early", e.signinAttempt("alice", pass), 1)
			e.clock.Advance(time.Second)
			mustStatus(t, e.signinAttempt("alice", pass), http.StatusOK)
		})

		t.Run("an address spraying many names is throttled", func(t *testing.T) {
			t.Parallel()
			e, pass := fresh(t)
			for i := range 20 {
				name := fmt.Sprint("user", i) // known and unknown names alike
				if i == 0 {
					name = "alice"
				}
				mustStatus(t, e.signinAttempt(name, "Summer2026!"), http.StatusForbidden)
			}
			mustThrottle(t, "alice's right password", e.signinAttempt("alice", pass), 1)
			e.clock.Advance(time.Second)
			mustStatus(t, e.signinAttempt("alice", pass), http.StatusOK)
		})

		t.Run("a success clears the account", func(t *testing.T) {
			t.Parallel()
			e, pass := fresh(t)
			for range 5 {
				mustStatus(t, e.signinAttempt("alice", "wrong-password"), http.StatusForbidden)
			}
			mustThrottle(t, "sixth guess", e.signinAttempt("alice", "wrong-password"), 1)
			e.clock.Advance(time.Second)
			mustStatus(t, e.signinAttempt("alice", pass), http.StatusOK)
			for range 5 {
				mustStatus(t, e.signinAttempt("alice", "wrong-password"), http.StatusForbidden)
			}
			mustThrottle(t, "sixth guess after a success", e.signinAttempt("alice", "wrong-password"), 1)
		})

		t.Run("/signin/verify is throttled like signin", func(t *testing.T) {
			t.Parallel()
			e, pass := fresh(t)
			session := e.login("alice", pass)
			for range 5 {
				mustStatus(t, session.do("POST", "/api/v1/signin/verify", map[string]any{"password": "wrong-password"}), http.StatusForbidden)
			}
			mustThrottle(t, "verify with the right password", session.do("POST", "/api/v1/signin/verify", map[string]any{"password": pass}), 1)
			mustThrottle(t, "signin with the right password", e.signinAttempt("alice", pass), 1)
			e.clock.Advance(time.Second)
			mustStatus(t, session.do("POST", "/api/v1/signin/verify", map[string]any{"password": pass}), http.StatusOK)
		})
	})
}

// TestSigninCost counts bcrypt comparisons: a refused password costs one
// whether or not the name is a user, and a throttled attempt none.
// identity.PasswordChecks counts the whole process's comparisons, so this
// test must not run in parallel with others.
func TestSigninCost(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		e.createUser(admin, "alice")
		mustStatus(t, admin.do("POST", "/api/v1/organization/", map[string]any{"name": "acme", "email": "acme@example.com"}), http.StatusCreated)
		for _, tc := range []struct {
			name, user string
			status     int
			checks     uint64
		}{
			{"known user, wrong password", "alice", http.StatusForbidden, 1},
			{"unknown user", "nobody", http.StatusForbidden, 1},
			{"organization", "acme", http.StatusForbidden, 1},
			// Four more failures make five for "nobody"; the sixth attempt
			// is refused before any comparison.
			{"unknown user again", "nobody", http.StatusForbidden, 1},
			{"unknown user again", "nobody", http.StatusForbidden, 1},
			{"unknown user again", "nobody", http.StatusForbidden, 1},
			{"unknown user again", "nobody", http.StatusForbidden, 1},
			{"throttled", "nobody", http.StatusTooManyRequests, 0},
		} {
			c := e.anonymous()
			r := c.do("GET", "/csrf_token", nil)
			mustStatus(t, r, http.StatusOK)
			c.csrf = r.JSON(t)["csrf_token"].(string)
			before := identity.PasswordChecks()
			r = c.do("POST", "/api/v1/signin", map[string]any{"username": tc.user, "password": "wrong-password"})
			if n := identity.PasswordChecks() - before; r.Status != tc.status || n != tc.checks {
				t.Errorf("%s: %d after %d bcrypt comparisons, want %d after %d", tc.name, r.Status, n, tc.status, tc.checks)
			}
		}
	})
}

// BenchmarkFailedSignin measures a refused sign-in of a known user and of
// an unknown one in the same run and reports their ratio, which should be
// close to 1: both pay one bcrypt comparison. The throttle's clock jumps a
// day before each attempt, so that no attempt is throttled.
func BenchmarkFailedSignin(b *testing.B) {
	for _, d := range dbtest.Engines(b) {
		b.Run(string(d), func(b *testing.B) {
			e := newEnv(b, dbtest.Open(b, d), nil)
			e.createUser(e.bootstrap(), "alice")
			c := e.anonymous()
			r := c.do("GET", "/csrf_token", nil)
			mustStatus(b, r, http.StatusOK)
			c.csrf = r.JSON(b)["csrf_token"].(string)
			attempt := func(user string) time.Duration {
				e.clock.Advance(25 * time.Hour)
				start := time.Now()
				r := c.do("POST", "/api/v1/signin", map[string]any{"username": user, "password": "wrong-password"})
				elapsed := time.Since(start)
				mustStatus(b, r, http.StatusForbidden)
				return elapsed
			}
			var known, unknown time.Duration
			b.ResetTimer()
			for range b.N {
				known += attempt("alice")
				unknown += attempt("nobody")
			}
			n := float64(b.N)
			b.ReportMetric(float64(known.Microseconds())/1000/n, "known-ms/op")
			b.ReportMetric(float64(unknown.Microseconds())/1000/n, "unknown-ms/op")
			b.ReportMetric(float64(unknown)/float64(known), "unknown/known")
		})
	}
}
