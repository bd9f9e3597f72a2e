package registry_test

// Login throttling at /v2/auth: the brute-force and enumeration attacks of
// the report, replayed against the real router. The throttle's clock is
// frozen (env.clock); the tests move it past each wait instead of sleeping.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/identity"
)

const throttleScope = "repository:alice/app:pull"

// mustThrottle fails the test unless r is 429 TOOMANYREQUESTS with no token
// and Retry-After: wait (seconds).
func mustThrottle(t *testing.T, what string, r *response, wait int) {
	t.Helper()
	mustErr(t, what, r, http.StatusTooManyRequests, "TOOMANYREQUESTS")
	if got := r.Header.Get("Retry-After"); got != strconv.Itoa(wait) {
		t.Fatalf("%s: Retry-After %q, want %d", what, got, wait)
	}
	if strings.Contains(string(r.Body), `"token"`) {
		t.Fatalf("%s: a throttled login got a token: %s", what, r.Body)
	}
}

// signin logs in at /api/v1/signin the way a browser does (CSRF token
// from /csrf_token, then the form) and returns the answer.
func (e *env) signin(t *testing.T, user, pass string) *response {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(e.srv.URL + "/csrf_token")
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		CSRF string `json:"csrf_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/signin", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", tok.CSRF)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		// Each case counts failures from scratch: a fresh wharf of its own.
		fresh := func(t *testing.T) (*env, string) {
			e := newEnv(t, dbtest.Open(t, store.Dialect()))
			return e, e.createUser("alice")
		}

		t.Run("30 wrong passwords, then the right one, waits for the throttle", func(t *testing.T) {
			t.Parallel()
			e, pass := fresh(t)
			var waits []string
			for i := range 30 {
				r := e.as("alice", "wrong-password").login(throttleScope)
				if r.Status == http.StatusTooManyRequests {
					// A patient attacker waits as told, then guesses again.
					mustErr(t, "throttled guess", r, http.StatusTooManyRequests, "TOOMANYREQUESTS")
					waits = append(waits, r.Header.Get("Retry-After"))
					secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
					e.clock.Advance(time.Duration(secs) * time.Second)
					r = e.as("alice", "wrong-password").login(throttleScope)
				}
				mustErr(t, fmt.Sprintf("wrong password #%d", i+1), r, http.StatusUnauthorized, "UNAUTHORIZED")
			}
			want := []string{"1", "2", "4", "8", "16", "32", "64", "128", "256", "512"}
			for len(want) < 25 {
				want = append(want, "900")
			}
			if diff := cmp.Diff(want, waits); diff != "" {
				t.Errorf("Retry-After of the guesses after the five free ones (-want +got):\n%s", diff)
			}
			mustThrottle(t, "the right password right after", e.as("alice", pass).login(throttleScope), 900)
			e.clock.Advance(899 * time.Second)
			mustThrottle(t, "the right password a second early", e.as("alice", pass).login(throttleScope), 1)
			e.clock.Advance(time.Second)
			must(t, "the right password once the wait is over", e.as("alice", pass).login(throttleScope), http.StatusOK)
		})

		t.Run("an address spraying many names is throttled, whatever the credential", func(t *testing.T) {
			t.Parallel()
			e, pass := fresh(t)
			e.createOrg("acme")
			robot := e.createRobot("acme", "ci")
			for i := range 20 {
				name := fmt.Sprint("user", i) // known and unknown names alike
				if i == 0 {
					name = "alice"
				}
				mustErr(t, "spray "+name, e.as(name, "Summer2026!").login(throttleScope), http.StatusUnauthorized, "UNAUTHORIZED")
			}
			mustThrottle(t, "alice's right password", e.as("alice", pass).login(throttleScope), 1)
			mustThrottle(t, "the robot's right token", e.as("acme+ci", robot).login(throttleScope), 1)
			mustThrottle(t, "an OAuth token", e.as("$oauthtoken", e.admin).login(throttleScope), 1)
			e.clock.Advance(time.Second)
			must(t, "alice after the wait", e.as("alice", pass).login(throttleScope), http.StatusOK)
			must(t, "the robot after the wait", e.as("acme+ci", robot).login(throttleScope), http.StatusOK)
		})

		t.Run("robot and OAuth tokens cannot be locked out by name", func(t *testing.T) {
			t.Parallel()
			e, _ := fresh(t)
			e.createOrg("acme")
			robot := e.createRobot("acme", "ci")
			// 8 + 8 wrong tokens: past the per-account allowance (5),
			// within the address's (20).
			for range 8 {
				mustErr(t, "wrong robot token", e.as("acme+ci", "WRONG").login(throttleScope), http.StatusUnauthorized, "UNAUTHORIZED")
				mustErr(t, "wrong OAuth token", e.as("$oauthtoken", "not-a-token").login(throttleScope), http.StatusUnauthorized, "UNAUTHORIZED")
			}
			must(t, "the robot's right token", e.as("acme+ci", robot).login(throttleScope), http.StatusOK)
			must(t, "a right OAuth token", e.as("$oauthtoken", e.admin).login(throttleScope), http.StatusOK)
		})

		t.Run("a success clears the account", func(t *testing.T) {
			t.Parallel()
			e, pass := fresh(t)
			for range 5 {
				mustErr(t, "wrong password", e.as("alice", "wrong-password").login(throttleScope), http.StatusUnauthorized, "UNAUTHORIZED")
			}
			mustThrottle(t, "sixth guess", e.as("alice", pass).login(throttleScope), 1)
			e.clock.Advance(time.Second)
			must(t, "the right password", e.as("alice", pass).login(throttleScope), http.StatusOK)
			for range 5 {
				mustErr(t, "wrong password after a success", e.as("alice", "wrong-password").login(throttleScope), http.StatusUnauthorized, "UNAUTHORIZED")
			}
			mustThrottle(t, "sixth guess after a success", e.as("alice", "wrong-password").login(throttleScope), 1)
		})

		t.Run("/v2/auth and /api/v1/signin count the same failures", func(t *testing.T) {
			t.Parallel()
			e, pass := fresh(t)
			for range 5 {
				mustErr(t, "wrong password", e.as("alice", "wrong-password").login(throttleScope), http.StatusUnauthorized, "UNAUTHORIZED")
			}
			r := e.signin(t, "alice", pass)
			if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" {
				t.Fatalf("signin after 5 failures at /v2/auth: %d Retry-After %q, want 429 after 1; body %s", r.Status, r.Header.Get("Retry-After"), r.Body)
			}
		})
	})
}

// TestFailedLoginCost counts bcrypt comparisons: a refused password costs
// one whether or not the name is a user, and a throttled attempt none.
// identity.PasswordChecks counts the whole process's comparisons, so this
// test must not run in parallel with others.
func TestFailedLoginCost(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		e.createUser("alice")
		e.createOrg("acme")
		e.createRobot("acme", "ci")
		for _, tc := range []struct {
			name, user, pass string
			status           int
			checks           uint64
		}{
			{"known user, wrong password", "alice", "wrong-password", http.StatusUnauthorized, 1},
			{"unknown user", "nobody", "wrong-password", http.StatusUnauthorized, 1},
			{"organization", "acme", "wrong-password", http.StatusUnauthorized, 1},
			// Robot and OAuth tokens are compared in constant time, no bcrypt.
			{"wrong robot token", "acme+ci", "WRONG", http.StatusUnauthorized, 0},
			{"unknown robot", "acme+nobody", "WRONG", http.StatusUnauthorized, 0},
			{"wrong OAuth token", "$oauthtoken", "not-a-token", http.StatusUnauthorized, 0},
			// Four more failures make five for "nobody"; the sixth attempt
			// is refused before any comparison.
			{"unknown user again", "nobody", "wrong-password", http.StatusUnauthorized, 1},
			{"unknown user again", "nobody", "wrong-password", http.StatusUnauthorized, 1},
			{"unknown user again", "nobody", "wrong-password", http.StatusUnauthorized, 1},
			{"unknown user again", "nobody", "wrong-password", http.StatusUnauthorized, 1},
			{"throttled", "nobody", "wrong-password", http.StatusTooManyRequests, 0},
		} {
			before := identity.PasswordChecks()
			r := e.as(tc.user, tc.pass).login(throttleScope)
			if n := identity.PasswordChecks() - before; r.Status != tc.status || n != tc.checks {
				t.Errorf("%s: %d after %d bcrypt comparisons, want %d after %d", tc.name, r.Status, n, tc.status, tc.checks)
			}
		}
	})
}
