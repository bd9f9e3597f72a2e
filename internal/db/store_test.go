package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func newUser(name, email string) *wharf.Account {
	return &wharf.Account{Name: name, Kind: wharf.KindUser, Email: email, Enabled: true, Verified: true}
}

func logCount(t *testing.T, store *db.DB) int {
	t.Helper()
	logs, err := store.Logs.ListLogs(context.Background(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(logs)
}

func TestAccounts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		alice := newUser("alice", "alice@example.com")
		entry := wharf.LogEntry{Kind: "user_create", Account: wharf.LogParty{Name: "alice"}, Metadata: map[string]any{"username": "alice"}}
		if err := store.Accounts.CreateAccount(ctx, alice, nil, entry); err != nil {
			t.Fatal(err)
		}
		if alice.ID == 0 {
			t.Fatal("no id assigned")
		}
		tests := []struct {
			name    string
			account *wharf.Account
			want    string
		}{
			{"same name", newUser("alice", "other@example.com"), "Username has already been taken by user cannot be reused: alice"},
			{"same email", newUser("bob", "alice@example.com"), "Email has already been used: alice@example.com"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := logCount(t, store)
				err := store.Accounts.CreateAccount(ctx, tt.account, nil, wharf.LogEntry{Kind: "user_create"})
				if !wharf.IsCode(err, wharf.Invalid) || wharf.ErrorMessage(err) != tt.want {
					t.Fatalf("got %v, want Invalid %q", err, tt.want)
				}
				if after := logCount(t, store); after != before {
					t.Fatalf("a refused create wrote %d log rows", after-before)
				}
			})
		}

		org := &wharf.Account{Name: "acme", Kind: wharf.KindOrg, Enabled: true}
		if err := store.Accounts.CreateAccount(ctx, org, alice); err != nil {
			t.Fatal(err)
		}
		if role, err := store.Accounts.OrgRole(ctx, org.ID, alice.ID); err != nil || role != "admin" {
			t.Fatalf("creator role = %q, %v; want admin", role, err)
		}
		err := store.Accounts.CreateAccount(ctx, newUser("acme", ""), nil)
		if wharf.ErrorMessage(err) != "Username has already been taken by an organization and cannot be reused: acme" {
			t.Fatalf("org name reuse: %v", err)
		}

		updated := *alice
		updated.Email, updated.Enabled = "new@example.com", false
		if err := store.Accounts.UpdateAccount(ctx, alice, &updated, wharf.LogEntry{Kind: "user_change_email"}); err != nil {
			t.Fatalf("update: %v", err)
		}
		got, err := store.Accounts.AccountByName(ctx, "alice")
		if err != nil || got.Email != "new@example.com" || got.Enabled {
			t.Fatalf("reload: %+v, %v", got, err)
		}
		before := logCount(t, store)
		renamed := *got
		renamed.Name = "acme"
		err = store.Accounts.UpdateAccount(ctx, got, &renamed, wharf.LogEntry{Kind: "rename"})
		if !wharf.IsCode(err, wharf.Invalid) || logCount(t, store) != before {
			t.Fatalf("rename onto a taken name: %v", err)
		}
		nobody := newUser("nobody", "")
		nobody.ID = alice.ID + 1000
		if err := store.Accounts.UpdateAccount(ctx, nobody, nobody); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("update missing: %v", err)
		}

		if err := store.Accounts.DeleteAccount(ctx, alice.ID, wharf.LogEntry{Kind: "user_delete"}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Accounts.AccountByName(ctx, "alice"); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("deleted account still found: %v", err)
		}
		if role, _ := store.Accounts.OrgRole(ctx, org.ID, alice.ID); role != "" {
			t.Fatalf("deleted member keeps role %q", role)
		}
	})
}

func TestListAccountsKeyset(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		for i := range 25 {
			u := newUser(fmt.Sprintf("user%02d", i), "")
			u.Enabled = i%5 != 0
			if err := store.Accounts.CreateAccount(ctx, u, nil); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name        string
			enabledOnly bool
			want        int
		}{{"all", false, 25}, {"enabled only", true, 20}}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				seen := map[string]bool{}
				var from int64
				for {
					page, err := store.Accounts.ListAccounts(ctx, wharf.AccountPage{Kind: wharf.KindUser, EnabledOnly: tt.enabledOnly, FromID: from, Limit: 7})
					if err != nil {
						t.Fatal(err)
					}
					n := min(len(page), 7)
					for _, a := range page[:n] {
						if seen[a.Name] {
							t.Fatalf("%s seen twice", a.Name)
						}
						seen[a.Name] = true
					}
					if len(page) <= 7 {
						break
					}
					from = page[7].ID
				}
				if len(seen) != tt.want {
					t.Fatalf("saw %d accounts, want %d", len(seen), tt.want)
				}
			})
		}
	})
}

func TestLogsPagingAndAggregate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		base := time.Date(2025, 2, 17, 12, 0, 0, 0, time.UTC)
		var entries []wharf.LogEntry
		for i := range 45 {
			// Runs of equal timestamps must not be lost or repeated across pages.
			entries = append(entries, wharf.LogEntry{Kind: []string{"a", "b", "c"}[i%3], Time: base.Add(time.Duration(i/4) * time.Hour)})
		}
		if err := store.Logs.AppendLogs(ctx, entries...); err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		var after *wharf.LogCursor
		for {
			page, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: base, End: base.Add(48 * time.Hour), After: after, Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page[:min(len(page), 20)] {
				if seen[e.ID] {
					t.Fatalf("entry %d twice", e.ID)
				}
				seen[e.ID] = true
			}
			if len(page) <= 20 {
				break
			}
			last := page[19]
			after = &wharf.LogCursor{Time: last.Time, ID: last.ID}
		}
		if len(seen) != 45 {
			t.Fatalf("paged %d entries, want 45", len(seen))
		}
		counts, err := store.Logs.AggregateLogs(ctx, wharf.LogQuery{Start: base, End: base.Add(48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, c := range counts {
			total += c.Count
			if !c.Day.Equal(time.Date(2025, 2, 17, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("day %v", c.Day)
			}
		}
		if total != 45 || len(counts) != 3 {
			t.Fatalf("aggregate %+v", counts)
		}
	})
}

func TestLeaseIsExclusive(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := store.Leases.AcquireLease(ctx, "job", fmt.Sprintf("p%d", i), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					winners++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if winners != 1 {
			t.Fatalf("%d holders got the lease, want 1", winners)
		}
	})
}

// A run is recorded on the job's lease row, which keeps the lease for the
// holder until hold has passed and survives a release.
func TestJobRunRecord(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		record := func() string {
			t.Helper()
			s, err := db.RawString(store, `SELECT holder || ' ' || CAST(runs AS TEXT) || ' ' || COALESCE(last_error, '-') || ' ' ||
				CAST(last_finished_at - last_started_at AS TEXT) FROM job_lease WHERE name = 'job'`)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if ok, err := store.Leases.AcquireLease(ctx, "job", "p1", time.Minute); !ok || err != nil {
			t.Fatalf("AcquireLease: %v, %v", ok, err)
		}
		if err := store.Leases.FinishRun(ctx, "job", "p1", 1500*time.Microsecond, time.Hour, "disk full"); err != nil {
			t.Fatal(err)
		}
		if got := record(); got != "p1 1 disk full 1500" {
			t.Errorf("after a failed run: %q, want holder p1, 1 run, its error and its 1500 µs", got)
		}
		if ok, _ := store.Leases.AcquireLease(ctx, "job", "p2", time.Minute); ok {
			t.Error("p2 took the lease p1 keeps after its run")
		}
		if err := store.Leases.FinishRun(ctx, "job", "p2", 0, 0, ""); !wharf.IsCode(err, wharf.Conflict) {
			t.Errorf("FinishRun by a process without the lease: %v, want Conflict", err)
		}
		if ok, _ := store.Leases.AcquireLease(ctx, "job", "p1", time.Minute); !ok {
			t.Error("p1 could not renew its own lease")
		}
		if err := store.Leases.FinishRun(ctx, "job", "p1", 0, 0, ""); err != nil {
			t.Fatal(err)
		}
		if got := record(); got != "p1 2 - 0" {
			t.Errorf("after a successful run: %q, want holder p1, 2 runs, no error", got)
		}
		if err := store.Leases.ReleaseLease(ctx, "job", "p1"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := store.Leases.AcquireLease(ctx, "job", "p2", time.Minute); !ok {
			t.Error("p2 could not take a released lease")
		}
		if got := record(); got != "p2 2 - 0" {
			t.Errorf("after the release and p2's lease: %q, want the record kept", got)
		}
	})
}

func errorsAs[T any](err error, target *T) bool { return errors.As(err, target) }
