package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// pendingKey is a key awaiting approval of service, from client addr,
// registered at created (expiring at expires, if set).
type pendingKey struct {
	service, addr string
	created       time.Time
	expires       *time.Time
	approve       bool // approve it after it is stored
}

func TestCreateUnapprovedServiceKeyCaps(t *testing.T) {
	const perService, perAddress = 3, 2
	now := time.Date(2025, 2, 18, 19, 28, 15, 0, time.UTC)
	gc := wharf.ServiceKeyGC{Service: "svc", ExpiredBefore: now.Add(-7 * 24 * time.Hour), UnapprovedBefore: now.Add(-24 * time.Hour)}
	recent, oldest := now.Add(-time.Hour), now.Add(-2*time.Hour)
	stale := now.Add(-25 * time.Hour)
	tests := []struct {
		name       string
		existing   []pendingKey
		wantRefuse bool
		wantOldest time.Time
	}{
		{name: "below both caps", existing: []pendingKey{{service: "svc", addr: "a", created: recent}}},
		{name: "the address cap spans services", wantRefuse: true, wantOldest: oldest,
			existing: []pendingKey{{service: "other", addr: "a", created: oldest}, {service: "svc", addr: "a", created: recent}}},
		{name: "the service cap spans addresses", wantRefuse: true, wantOldest: oldest,
			existing: []pendingKey{{service: "svc", addr: "b", created: recent}, {service: "svc", addr: "c", created: oldest}, {service: "svc", addr: "d", created: recent}}},
		{name: "approved keys do not count",
			existing: []pendingKey{{service: "svc", addr: "a", created: recent, approve: true}, {service: "svc", addr: "a", created: recent},
				{service: "svc", addr: "b", created: recent, approve: true}}},
		{name: "keys left unapproved past the TTL do not count",
			existing: []pendingKey{{service: "other", addr: "a", created: stale}, {service: "other", addr: "a", created: stale},
				{service: "svc", addr: "b", created: stale}, {service: "svc", addr: "b", created: stale}, {service: "svc", addr: "c", created: stale}}},
		{name: "keys expired past the TTL do not count",
			existing: []pendingKey{{service: "other", addr: "a", created: recent, expires: at(now.Add(-8 * 24 * time.Hour))},
				{service: "other", addr: "a", created: recent, expires: at(now.Add(-8 * 24 * time.Hour))}}},
		{name: "an expired key still counts until it is stale", wantRefuse: true, wantOldest: oldest,
			existing: []pendingKey{{service: "other", addr: "a", created: oldest, expires: at(now.Add(-time.Minute))}, {service: "svc", addr: "a", created: recent}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				ctx := context.Background()
				admin := newUser("admin", "admin@example.com")
				if err := store.Accounts.CreateAccount(ctx, admin, nil); err != nil {
					t.Fatal(err)
				}
				for i, p := range tt.existing {
					k := testKey(fmt.Sprintf("old%d", i), p.service, p.created, p.expires, nil)
					if _, err := store.ServiceKeys.CreateUnapprovedServiceKey(ctx, k, p.addr, 100, 100, wharf.ServiceKeyGC{}); err != nil {
						t.Fatal(err)
					}
					if p.approve {
						approveKey(t, store, k.Kid, admin.ID, now)
					}
				}
				keysBefore, logsBefore := keyCount(t, store), logCount(t, store)
				got, err := store.ServiceKeys.CreateUnapprovedServiceKey(ctx, testKey("new", "svc", now, nil, nil), "a", perService, perAddress, gc,
					wharf.LogEntry{Kind: "service_key_create"})
				if !tt.wantRefuse {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if _, err := store.ServiceKeys.ServiceKey(ctx, "new"); err != nil {
						t.Fatalf("admitted key not stored: %v", err)
					}
					return
				}
				if !wharf.IsCode(err, wharf.TooManyRequests) || !got.Equal(tt.wantOldest) {
					t.Fatalf("got %v, oldest %v; want TooManyRequests, oldest %v", err, got, tt.wantOldest)
				}
				if keyCount(t, store) != keysBefore || logCount(t, store) != logsBefore {
					t.Fatal("a refused key was stored or logged")
				}
			})
		})
	}
}

// TestCreateUnapprovedServiceKeyConcurrently: submissions racing for the
// last slots never overshoot a cap, on either engine.
func TestCreateUnapprovedServiceKeyConcurrently(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		const perService, perAddress, tries = 8, 5, 24
		now := time.Now().UTC()
		gc := wharf.ServiceKeyGC{Service: "svc", ExpiredBefore: now.Add(-time.Hour), UnapprovedBefore: now.Add(-time.Hour)}
		errs := make([]error, tries)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range tries {
			wg.Go(func() {
				<-start
				addr := []string{"a", "b", "c"}[i%3]
				_, errs[i] = store.ServiceKeys.CreateUnapprovedServiceKey(context.Background(), testKey(fmt.Sprintf("k%d", i), "svc", now, nil, nil),
					addr, perService, perAddress, gc, wharf.LogEntry{Kind: "service_key_create"})
			})
		}
		close(start)
		wg.Wait()
		admitted := 0
		for _, err := range errs {
			switch {
			case err == nil:
				admitted++
			case !wharf.IsCode(err, wharf.TooManyRequests):
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if admitted != perService || keyCount(t, store) != perService || logCount(t, store) != perService {
			t.Fatalf("%d admitted, %d keys, %d log rows; want %d of each", admitted, keyCount(t, store), logCount(t, store), perService)
		}
	})
}

func approveKey(t *testing.T, store *db.DB, kid string, approver int64, now time.Time) {
	t.Helper()
	before, err := store.ServiceKeys.ServiceKey(context.Background(), kid)
	if err != nil {
		t.Fatal(err)
	}
	approved := *before
	approved.Approval = &wharf.ServiceKeyApproval{Type: wharf.ApprovalSuperuser, ApproverID: approver, ApprovedAt: now}
	if err := store.ServiceKeys.UpdateServiceKey(context.Background(), before, &approved); err != nil {
		t.Fatal(err)
	}
}

func keyCount(t *testing.T, store *db.DB) int {
	t.Helper()
	keys, err := store.ServiceKeys.ListServiceKeys(context.Background(), "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}
