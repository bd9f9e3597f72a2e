package db_test

import (
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestLogFilters: the namespace, performer and repository filters of the
// log list and counts, each on its own and together, and the repository
// an entry is about stored with it.
func TestLogFilters(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := t.Context()
		base := time.Date(2025, 2, 17, 10, 0, 0, 0, time.UTC)
		ns := func(id int64) wharf.LogParty { return wharf.LogParty{ID: id, Name: "ns"} }
		who := func(id int64) wharf.LogParty { return wharf.LogParty{ID: id, Name: "user", Kind: wharf.KindUser} }
		entries := []wharf.LogEntry{
			{Kind: "push_repo", Account: ns(1), Performer: who(10), RepositoryID: 100},
			{Kind: "pull_repo", Account: ns(1), Performer: who(11), RepositoryID: 100},
			{Kind: "push_repo", Account: ns(1), Performer: who(10), RepositoryID: 101},
			{Kind: "org_create", Account: ns(1), Performer: who(10)},
			{Kind: "push_repo", Account: ns(2), Performer: who(10), RepositoryID: 200},
		}
		for i := range entries {
			entries[i].Time = base.Add(time.Duration(i) * time.Minute)
		}
		if err := store.Logs.AppendLogs(ctx, entries...); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			q     wharf.LogQuery
			kinds int
			total int
		}{
			{"namespace", wharf.LogQuery{AccountID: 1}, 3, 4},
			{"performer", wharf.LogQuery{PerformerID: 10}, 2, 4},
			{"namespace and performer", wharf.LogQuery{AccountID: 1, PerformerID: 10}, 2, 3},
			{"repository", wharf.LogQuery{AccountID: 1, RepositoryID: 100}, 2, 2},
			{"repository and performer", wharf.LogQuery{RepositoryID: 100, PerformerID: 11}, 1, 1},
			{"none", wharf.LogQuery{AccountID: 3}, 0, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := tc.q
				q.Start, q.End, q.Limit = base, base.Add(time.Hour), 100
				list, err := store.Logs.ListLogs(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(list) != tc.total {
					t.Errorf("listed %d entries, want %d", len(list), tc.total)
				}
				counts, err := store.Logs.AggregateLogs(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				var total int64
				for _, c := range counts {
					total += c.Count
				}
				if len(counts) != tc.kinds || total != int64(tc.total) {
					t.Errorf("counts %+v, want %d kinds, %d entries", counts, tc.kinds, tc.total)
				}
			})
		}
	})
}
