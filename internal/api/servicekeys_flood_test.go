package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// The key server takes self-signed keys from anyone who holds an RSA key.
// Reported against the binary: one key self-signed 2,000 kids per service,
// each a row, a log entry and a line in the superuser's listing. These
// tests pin the documented caps on keys awaiting approval: 10 per client
// address, 50 per service.
const (
	capPerAddress = 10
	capPerService = 50
)

// submitFrom PUTs a key of service, self-signed by the shared RSA key under
// kid, as a client at addr (host:port) would: through the real router, with
// the peer address the server sees set to addr.
func (e *testEnv) submitFrom(t testing.TB, addr, service, kid string) *response {
	t.Helper()
	body, err := json.Marshal(publicJWK(&sharedRSAKey(t).PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("PUT", e.srv.URL+"/keys/services/"+service+"/keys/"+kid, bytes.NewReader(body))
	req.RemoteAddr = addr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+signJWT(t, sharedRSAKey(t), kid, serviceClaims(service, e.srv.URL)))
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	return &response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// floodStep is n submissions of fresh kids of service from one address,
// each answered status; or, with approve set, the superuser approving the
// oldest key from that address still awaiting approval.
type floodStep struct {
	from    string
	service string
	n       int
	status  int
	approve bool
}

// TestKeyServerCaps replays the flood and the cases around it: past a cap a
// submission is refused with 429 and Retry-After, and writes no row and no
// log entry.
func TestKeyServerCaps(t *testing.T) {
	const a, b, c, d, e6, f = "10.0.0.1:5000", "10.0.0.2:5000", "10.0.0.3:5000", "10.0.0.4:5000", "10.0.0.5:5000", "10.0.0.6:5000"
	const accepted, refused = http.StatusAccepted, http.StatusTooManyRequests
	tests := []struct {
		name  string
		steps []floodStep
	}{
		{"one RSA key self-signing many kids is refused after the cap", []floodStep{
			{from: a, service: "flood", n: capPerAddress, status: accepted},
			{from: a, service: "flood", n: 3 * capPerAddress, status: refused},
		}},
		{"a second address gets its own cap", []floodStep{
			{from: a, service: "svc", n: capPerAddress, status: accepted},
			{from: a, service: "svc", n: 1, status: refused},
			{from: b, service: "svc", n: capPerAddress, status: accepted},
			{from: b, service: "svc", n: 1, status: refused},
		}},
		{"the address cap spans services", []floodStep{
			{from: a, service: "one", n: capPerAddress - 4, status: accepted},
			{from: a, service: "two", n: 4, status: accepted},
			{from: a, service: "three", n: 1, status: refused},
		}},
		{"approving a key frees a slot", []floodStep{
			{from: a, service: "svc", n: capPerAddress, status: accepted},
			{from: a, service: "svc", n: 1, status: refused},
			{from: a, approve: true},
			{from: a, service: "svc", n: 1, status: accepted},
			{from: a, service: "svc", n: 1, status: refused},
		}},
		{"the service cap holds across addresses", []floodStep{
			{from: a, service: "svc", n: capPerAddress, status: accepted},
			{from: b, service: "svc", n: capPerAddress, status: accepted},
			{from: c, service: "svc", n: capPerAddress, status: accepted},
			{from: d, service: "svc", n: capPerAddress, status: accepted},
			{from: e6, service: "svc", n: capPerService - 4*capPerAddress, status: accepted},
			{from: f, service: "svc", n: 1, status: refused},
			{from: f, service: "other", n: 1, status: accepted},
		}},
		{"the addresses of one IPv6 /64 share a cap", []floodStep{
			{from: "[2001:db8::1]:5000", service: "svc", n: capPerAddress - 1, status: accepted},
			{from: "[2001:db8::ffff:2]:5000", service: "svc", n: 1, status: accepted},
			{from: "[2001:db8::3]:5000", service: "svc", n: 1, status: refused},
			{from: "[2001:db8:0:1::1]:5000", service: "svc", n: 1, status: accepted},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				env := newEnv(t, store, nil)
				adm := env.bootstrap()
				submitted := map[string][]string{} // address → kids admitted, oldest first
				for i, st := range tt.steps {
					if st.approve {
						kid := submitted[st.from][0]
						submitted[st.from] = submitted[st.from][1:]
						mustStatus(t, adm.do("POST", "/api/v1/superuser/approvedkeys/"+kid, `{}`), http.StatusCreated)
						continue
					}
					for j := range st.n {
						kid := fmt.Sprintf("step%d-%d", i, j)
						before := keySnapshot(t, store)
						r := env.submitFrom(t, st.from, st.service, kid)
						if r.Status != st.status {
							t.Fatalf("step %d (%s from %s), submission %d: status %d, want %d; body %s",
								i, st.service, st.from, j+1, r.Status, st.status, r.Body)
						}
						if st.status == accepted {
							submitted[st.from] = append(submitted[st.from], kid)
							continue
						}
						checkCapRefusal(t, r)
						if after := keySnapshot(t, store); after != before {
							t.Fatalf("a refused submission changed the store:\n%s", snapshotDiff(before, after))
						}
					}
				}
			})
		})
	}
}

// checkCapRefusal asserts the refusal a client past a cap gets: Quay's
// error JSON with 429 and a Retry-After of at most a day (when the oldest
// key holding the slot is collected as stale).
func checkCapRefusal(t *testing.T, r *response) {
	t.Helper()
	checkProblem(t, r, http.StatusTooManyRequests, "", "awaiting approval")
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs <= 0 || secs > int((24*time.Hour).Seconds()) {
		t.Errorf("Retry-After %q, want 1 to 86400 seconds", r.Header.Get("Retry-After"))
	}
}

// TestKeyServerCapsUnderConcurrency sends many submissions at once: the
// count and the insert share a transaction, so exactly the cap's worth get
// in, on both engines, and every refused one leaves no row and no log entry.
func TestKeyServerCapsUnderConcurrency(t *testing.T) {
	tests := []struct {
		name            string
		addresses, each int
		admitted        int
	}{
		{name: "one address", addresses: 1, each: 3 * capPerAddress, admitted: capPerAddress},
		{name: "one service from many addresses", addresses: 8, each: capPerAddress - 2, admitted: capPerService},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				env := newEnv(t, store, nil)
				env.bootstrap()
				total := tt.addresses * tt.each
				statuses := make([]int, total)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range total {
					wg.Go(func() {
						<-start
						addr := fmt.Sprintf("10.1.0.%d:5000", 1+i%tt.addresses)
						statuses[i] = env.submitFrom(t, addr, "svc", fmt.Sprintf("kid-%d", i)).Status
					})
				}
				close(start)
				wg.Wait()
				counts := map[int]int{}
				for _, s := range statuses {
					counts[s]++
				}
				if counts[http.StatusAccepted] != tt.admitted || counts[http.StatusTooManyRequests] != total-tt.admitted {
					t.Fatalf("statuses %v, want %d × 202 and %d × 429", counts, tt.admitted, total-tt.admitted)
				}
				keys, err := store.ServiceKeys.ListServiceKeys(t.Context(), "", time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				entries, err := store.Logs.ListLogs(t.Context(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 10000})
				if err != nil {
					t.Fatal(err)
				}
				created := 0
				for _, en := range entries {
					if en.Kind == "service_key_create" {
						created++
					}
				}
				if unapproved := countUnapproved(keys); unapproved != tt.admitted || created != tt.admitted {
					t.Fatalf("%d keys await approval and %d service_key_create entries, want %d of each", unapproved, created, tt.admitted)
				}
			})
		})
	}
}

func countUnapproved(keys []*wharf.ServiceKey) int {
	n := 0
	for _, k := range keys {
		if k.Approval == nil {
			n++
		}
	}
	return n
}
