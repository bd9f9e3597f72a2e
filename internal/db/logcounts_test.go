package db_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestLogCountsByHour: the chart's counts read from the hourly counts
// (whole hours) and the entries (partial hours) equal the entries counted
// one by one, for windows that start and end inside hours or on them, with
// and without a kind filter, in hourly, daily and weekly bars, after some
// entries were archived (DeleteLogs).
func TestLogCountsByHour(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := t.Context()
		base := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
		kinds := []string{"push_repo", "pull_repo", "login_success"}
		var entries []wharf.LogEntry
		for i := range 600 {
			// Every 7 minutes 13 seconds over three days: every hour has
			// entries, few sit on an hour's first microsecond.
			at := base.Add(time.Duration(i) * (7*time.Minute + 13*time.Second))
			entries = append(entries, wharf.LogEntry{Kind: kinds[i%len(kinds)], Time: at,
				Performer: wharf.LogParty{ID: int64(1 + i%2), Name: fmt.Sprint("user", i%2), Kind: wharf.KindUser}})
		}
		entries[5].Time = base.Add(2 * time.Hour) // exactly on an hour
		if err := store.Logs.AppendLogs(ctx, entries...); err != nil {
			t.Fatal(err)
		}
		old, err := store.Logs.OldestLogs(ctx, base.Add(5*time.Hour+30*time.Minute), 1000)
		if err != nil {
			t.Fatal(err)
		}
		var archived []int64
		for i, e := range old {
			if i%2 == 0 {
				archived = append(archived, e.ID)
			}
		}
		if err := store.Logs.DeleteLogs(ctx, archived); err != nil {
			t.Fatal(err)
		}
		all, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: base.Add(-time.Hour), End: base.Add(100 * time.Hour), Limit: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		// oneByOne counts the stored entries in [start, end) as CountLogs should.
		oneByOne := func(s wharf.LogSearch, origin time.Time, bucket time.Duration) []wharf.LogCount {
			type key struct {
				day  time.Time
				kind string
			}
			counts := map[key]int64{}
			for _, e := range all {
				if e.Time.Before(s.Start) || !e.Time.Before(s.End) || (s.Kind != "" && e.Kind != s.Kind) ||
					(s.Performer != "" && e.Performer.Name != s.Performer) {
					continue
				}
				counts[key{origin.Add(e.Time.Sub(origin).Truncate(bucket)), e.Kind}]++
			}
			var out []wharf.LogCount
			for k, n := range counts {
				out = append(out, wharf.LogCount{Kind: k.kind, Day: k.day, Count: n})
			}
			return out
		}
		for _, tc := range []struct {
			name       string
			start, end time.Duration // from base
			kind       string
			performer  string
			bucket     time.Duration
		}{
			{"inside hours, hourly", 90 * time.Minute, 30*time.Hour + 17*time.Minute, "", "", time.Hour},
			{"on hours, daily", 2 * time.Hour, 48 * time.Hour, "", "", 24 * time.Hour},
			{"inside hours, daily, one kind", 13 * time.Minute, 70*time.Hour + 1*time.Second, "pull_repo", "", 24 * time.Hour},
			{"weekly", -time.Hour, 80 * time.Hour, "", "", 7 * 24 * time.Hour},
			{"within one hour", 3*time.Hour + 5*time.Minute, 3*time.Hour + 50*time.Minute, "", "", time.Hour},
			{"performer (entries only)", 90 * time.Minute, 40 * time.Hour, "", "user1", time.Hour},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := wharf.LogSearch{Start: base.Add(tc.start), End: base.Add(tc.end), Kind: tc.kind, Performer: tc.performer}
				origin := s.Start.UTC().Truncate(tc.bucket)
				got, err := store.Logs.CountLogs(ctx, s, origin, tc.bucket)
				if err != nil {
					t.Fatal(err)
				}
				want := oneByOne(s, origin, tc.bucket)
				if len(want) == 0 {
					t.Fatal("the case selects no entry")
				}
				sortCounts(want)
				if d := gocmp.Diff(want, got); d != "" {
					t.Errorf("counts (-one by one +CountLogs):\n%s", d)
				}
			})
		}
	})
}

// sortCounts orders counts as CountLogs does: by bar, then kind.
func sortCounts(c []wharf.LogCount) {
	slices.SortFunc(c, func(a, b wharf.LogCount) int {
		return cmp.Or(a.Day.Compare(b.Day), strings.Compare(a.Kind, b.Kind))
	})
}
