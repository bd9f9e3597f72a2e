package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
)

// revocationBound is the documented bound within which a revoked registry
// token stops working in every process sharing the database (README,
// "Revocation"): the 2-second poll of credential epochs and one poll's
// duration, with room to spare.
const revocationBound = 10 * time.Second

// TestRevocationAcrossProcesses: two wharf processes share one database
// and storage. A robot's registry token, issued by process B, works on B;
// the robot is deleted through process A; B refuses the token within the
// documented bound, without any request to B in between. Then the same
// for an OAuth token B has been answering API calls for (from its cache):
// its application is deleted through A. The times it took are printed.
func TestRevocationAcrossProcesses(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		dataDir, env := t.TempDir(), engineEnv(t, engine)
		a := startWharfAt(t, dataDir, env)
		b := startWharfAt(t, dataDir, env)
		admin := a.initialize(t, "revadmin", "revadmin-password-1", "revadmin@example.com")
		expect(t, admin.call("POST", "organization/", map[string]any{"name": "acme", "email": "acme@example.com"}), 201)
		r := admin.call("PUT", "organization/acme/robots/ci", map[string]any{"description": "revocation"})
		expect(t, r, 201)
		robotToken, _ := r.object(t)["token"].(string)
		expect(t, admin.call("PUT", "organization/acme/team/ci", map[string]any{"role": "creator"}), 200)
		expect(t, admin.call("PUT", "organization/acme/team/ci/members/acme+ci", map[string]any{}), 200)

		// The robot pushes a blob through B and keeps B's token.
		robot := newRegistryClient(b.URL, "acme+ci", robotToken)
		blob := []byte("a blob the robot pushed")
		sum := sha256.Sum256(blob)
		digest := "sha256:" + hex.EncodeToString(sum[:])
		push := robot.mustExchange(t, "POST", "acme/app", "/v2/acme/app/blobs/uploads/?digest="+digest, bytes.NewReader(blob), int64(len(blob)), nil)
		expect(t, push, 201)
		head := func() int {
			r, err := robot.exchange(context.Background(), "HEAD", "acme/app", "/v2/acme/app/blobs/"+digest, nil, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			return r.Status
		}
		if got := head(); got != 200 {
			t.Fatalf("the robot's token on B: HEAD → %d, want 200", got)
		}

		deleted := time.Now()
		expect(t, admin.call("DELETE", "organization/acme/robots/ci", nil), 204)
		t.Logf("%s: the robot deleted through process A; process B refused its token %v later (bound %v)",
			engine, untilRefused(t, "the deleted robot's token", deleted, head), revocationBound)

		r = admin.call("POST", "organization/acme/applications", map[string]any{"name": "revocation"})
		expect(t, r, 200)
		clientID, _ := r.object(t)["client_id"].(string)
		user := b.withToken(t, apiToken(t, b.e2eServer, "revadmin", "revadmin-password-1", clientID, "user:read"))
		expect(t, user.call("GET", "user/", nil), 200)
		expect(t, user.call("GET", "user/", nil), 200) // now answered from B's token cache
		deleted = time.Now()
		expect(t, admin.call("DELETE", "organization/acme/applications/"+clientID, nil), 204)
		refusedAfter := untilRefused(t, "the deleted application's token", deleted, func() int { return user.call("GET", "user/", nil).Status })
		t.Logf("%s: the application deleted through process A; process B refused its OAuth token %v later (bound %v)",
			engine, refusedAfter, revocationBound)
	})
}

// untilRefused repeats a request with a revoked credential until it is
// refused with 401, and returns how long after revoked that was. Anything
// but 200 before it, or no refusal within revocationBound, fails the test.
func untilRefused(t *testing.T, what string, revoked time.Time, status func() int) time.Duration {
	t.Helper()
	for {
		got := status()
		elapsed := time.Since(revoked)
		if got == 401 {
			return elapsed.Round(time.Millisecond)
		}
		if got != 200 {
			t.Fatalf("B answered %d to %s, want 200 until it is refused with 401", got, what)
		}
		if elapsed > revocationBound {
			t.Fatalf("process B still honours %s %v after the revocation (bound %v)", what, elapsed, revocationBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
