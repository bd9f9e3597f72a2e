package db_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestQuotaSummaries: every namespace asked for gets its own quota, limits
// and usage, whether the ids are a dense run (a list page, read as a
// range) or scattered (read as a set), and one without either gets none.
func TestQuotaSummaries(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		var ns []*usageFixture
		for i := range 12 {
			ns = append(ns, newUsageFixture(t, store, fmt.Sprintf("quota-ns-%02d", i)))
		}
		// Even namespaces use 100+i bytes; every third has a quota with a
		// Warning limit.
		for i, f := range ns {
			if i%2 == 0 {
				f.link(t, 500+i, int64(100+i))
			}
			if i%3 == 0 {
				q := &wharf.Quota{NamespaceID: f.ns.ID, LimitBytes: int64(1000 * (i + 1))}
				if err := store.Quotas.CreateQuota(ctx, q, "exists"); err != nil {
					t.Fatal(err)
				}
				if err := store.Quotas.CreateQuotaLimit(ctx, q.ID, &wharf.QuotaLimit{Kind: "Warning", Percent: int64(50 + i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		tests := []struct {
			name string
			idx  []int
		}{
			{"dense page", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
			{"dense with gaps", []int{2, 3, 5, 6, 8, 9}},
			{"scattered", []int{0, 11}},
			{"one", []int{6}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ids := make([]int64, len(tc.idx))
				for j, i := range tc.idx {
					ids[j] = ns[i].ns.ID
				}
				quotas, usage, err := store.Quotas.QuotaSummaries(ctx, ids)
				if err != nil {
					t.Fatal(err)
				}
				for _, i := range tc.idx {
					id := ns[i].ns.ID
					wantUsed := int64(0)
					if i%2 == 0 {
						wantUsed = int64(100 + i)
					}
					if usage[id] != wantUsed {
						t.Errorf("namespace %d: usage %d, want %d", i, usage[id], wantUsed)
					}
					q := quotas[id]
					switch {
					case i%3 != 0 && q != nil:
						t.Errorf("namespace %d: quota %+v, want none", i, q)
					case i%3 == 0 && q == nil:
						t.Errorf("namespace %d: no quota", i)
					case i%3 == 0 && (q.LimitBytes != int64(1000*(i+1)) || len(q.Limits) != 1 || q.Limits[0].Percent != int64(50+i)):
						t.Errorf("namespace %d: quota %+v, want %d bytes with a %d%% limit", i, q, 1000*(i+1), 50+i)
					}
				}
			})
		}
	})
}
