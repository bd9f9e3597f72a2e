package quota_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/quota"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// racingQuotas lets another request change the quota (to 1500, 1501, …)
// between the service's read and its write, on the first `races` changes.
type racingQuotas struct {
	*db.Quotas
	races, calls int
}

func (r *racingQuotas) ChangeQuota(ctx context.Context, before *wharf.Quota, limitBytes int64, entries ...wharf.LogEntry) (*wharf.Quota, error) {
	r.calls++
	if r.calls <= r.races {
		if _, err := r.Quotas.ChangeQuota(ctx, before, 1500+int64(r.calls-1)); err != nil {
			return nil, err
		}
	}
	return r.Quotas.ChangeQuota(ctx, before, limitBytes, entries...)
}

// TestChangeRereadsAfterARace: a change that lost a race to another is
// decided again on the quota as that one left it, so its entry names the
// limit it really replaced; one that keeps losing gives up with Conflict.
func TestChangeRereadsAfterARace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		for _, tc := range []struct {
			name      string
			races     int
			wantCalls int
			wantErr   error
			previous  int64
		}{
			{"no race", 0, 1, nil, 1000},
			{"one race", 1, 2, nil, 1500},
			{"two races", 2, 3, nil, 1501},
			{"a race every time", 3, 3, wharf.ErrChanged, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := t.Context()
				ns := &wharf.Account{Name: "ns" + string(rune('a'+tc.races)), Kind: wharf.KindOrg, Enabled: true}
				if err := store.Accounts.CreateAccount(ctx, ns, nil); err != nil {
					t.Fatal(err)
				}
				q := &wharf.Quota{NamespaceID: ns.ID, LimitBytes: 1000}
				if err := store.Quotas.CreateQuota(ctx, q, "exists"); err != nil {
					t.Fatal(err)
				}
				racing := &racingQuotas{Quotas: store.Quotas, races: tc.races}
				got, err := quota.NewService(racing).Change(ctx, &wharf.Caller{}, ns, q.ID, 5000)
				if !errors.Is(err, tc.wantErr) || racing.calls != tc.wantCalls {
					t.Fatalf("Change: %v after %d writes; want %v after %d", err, racing.calls, tc.wantErr, tc.wantCalls)
				}
				if tc.wantErr != nil {
					return
				}
				if got.LimitBytes != 5000 {
					t.Errorf("Change returned %+v, want 5000 bytes", got)
				}
				logs, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour),
					AccountID: ns.ID, Limit: 10})
				if err != nil || len(logs) != 1 || logs[0].Kind != "org_change_quota" {
					t.Fatalf("action log %+v, %v; want the one org_change_quota entry", logs, err)
				}
				if prev := logs[0].Metadata["previous_limit_bytes"]; prev != float64(tc.previous) {
					t.Errorf("previous_limit_bytes = %v, want %d", prev, tc.previous)
				}
			})
		}
	})
}
