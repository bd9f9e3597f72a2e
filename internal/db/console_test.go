package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func TestConsoleAccounts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		emails := map[string]string{"carol": "zc@example.com", "Alice_x": "yc@example.com", "bob": "xb@x.example.com", "dave": "wd@example.com"}
		for _, name := range []string{"carol", "Alice_x", "bob", "dave"} {
			u := newUser(name, emails[name])
			u.Enabled = name != "dave"
			if err := store.Accounts.CreateAccount(ctx, u, nil); err != nil {
				t.Fatal(err)
			}
		}
		org := &wharf.Account{Name: "acme", Kind: wharf.KindOrg, Enabled: true}
		if err := store.Accounts.CreateAccount(ctx, org, nil); err != nil {
			t.Fatal(err)
		}
		users := []wharf.AccountKind{wharf.KindUser}
		tests := []struct {
			name      string
			q         wharf.AccountSearch
			want      []string
			wantTotal int64
		}{
			{"by name", wharf.AccountSearch{Kinds: users, Sort: "name", Limit: 10}, []string{"Alice_x", "bob", "carol", "dave"}, 4},
			{"by name descending, paged", wharf.AccountSearch{Kinds: users, Sort: "name", Desc: true, Offset: 1, Limit: 2}, []string{"carol", "bob"}, 4},
			{"by e-mail", wharf.AccountSearch{Kinds: users, Sort: "email", Limit: 10}, []string{"dave", "bob", "Alice_x", "carol"}, 4},
			{"by creation", wharf.AccountSearch{Kinds: users, Sort: "created", Limit: 10}, []string{"carol", "Alice_x", "bob", "dave"}, 4},
			{"text in the name, any case", wharf.AccountSearch{Kinds: users, Text: "ALI", Sort: "name", Limit: 10}, []string{"Alice_x"}, 1},
			{"text in the e-mail", wharf.AccountSearch{Kinds: users, Text: "@x.example", Sort: "name", Limit: 10}, []string{"bob"}, 1},
			{"text, paged", wharf.AccountSearch{Kinds: users, Text: "example", Sort: "name", Offset: 1, Limit: 2}, []string{"bob", "carol"}, 4},
			{"text, past the last match", wharf.AccountSearch{Kinds: users, Text: "example", Sort: "name", Offset: 10, Limit: 2}, nil, 4},
			{"LIKE wildcards are text", wharf.AccountSearch{Kinds: users, Text: "_x", Sort: "name", Limit: 10}, []string{"Alice_x"}, 1},
			{"enabled only", wharf.AccountSearch{Kinds: users, EnabledOnly: true, Sort: "name", Limit: 10}, []string{"Alice_x", "bob", "carol"}, 3},
			{"organizations", wharf.AccountSearch{Kinds: []wharf.AccountKind{wharf.KindOrg}, Sort: "name", Limit: 10}, []string{"acme"}, 1},
			{"namespaces that hold bytes", wharf.AccountSearch{Kinds: users, UsedOnly: true, Sort: "usage", Limit: 10}, nil, 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				page, _, total, err := store.Accounts.ConsoleAccounts(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, a := range page {
					got = append(got, a.Name)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" || total != tc.wantTotal {
					t.Errorf("total %d (want %d), names (-want +got):\n%s", total, tc.wantTotal, diff)
				}
			})
		}
		if _, _, _, err := store.Accounts.ConsoleAccounts(ctx, wharf.AccountSearch{Kinds: users, Sort: "password_hash", Limit: 1}); !wharf.IsCode(err, wharf.Invalid) {
			t.Errorf("unknown sort: %v, want Invalid", err)
		}
	})
}

func TestConsoleLogs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		base := time.Date(2025, 2, 17, 10, 30, 0, 0, time.UTC)
		entries := []wharf.LogEntry{
			{Kind: "push_repo", Account: wharf.LogParty{ID: 1, Name: "acme"}, Performer: wharf.LogParty{ID: 2, Name: "alice"},
				Metadata: map[string]any{"repo": "app"}, Time: base},
			{Kind: "push_repo", Account: wharf.LogParty{ID: 1, Name: "acme"}, Performer: wharf.LogParty{ID: 3, Name: "bob"},
				Metadata: map[string]any{"repo": "web"}, Time: base.Add(time.Hour)},
			{Kind: "pull_repo", Account: wharf.LogParty{ID: 4, Name: "zed"}, Performer: wharf.LogParty{ID: 2, Name: "alice"},
				Metadata: map[string]any{"repo": "app"}, Time: base.Add(25 * time.Hour)},
			{Kind: "login_failure", Metadata: map[string]any{"username": "<b>x</b>"}, Time: base.Add(26 * time.Hour)},
		}
		if err := store.Logs.AppendLogs(ctx, entries...); err != nil {
			t.Fatal(err)
		}
		window := wharf.LogSearch{Start: base.Add(-time.Hour), End: base.Add(48 * time.Hour), Limit: 10}
		kinds := func(q wharf.LogSearch) []string {
			t.Helper()
			got, err := store.Logs.SearchLogs(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range got {
				out = append(out, e.Kind+"/"+e.Performer.Name)
			}
			return out
		}
		with := func(f func(q *wharf.LogSearch)) wharf.LogSearch {
			q := window
			f(&q)
			return q
		}
		tests := []struct {
			name string
			q    wharf.LogSearch
			want []string
		}{
			{"all, newest first", window, []string{"login_failure/", "pull_repo/alice", "push_repo/bob", "push_repo/alice"}},
			{"kind", with(func(q *wharf.LogSearch) { q.Kind = "push_repo" }), []string{"push_repo/bob", "push_repo/alice"}},
			{"performer", with(func(q *wharf.LogSearch) { q.Performer = "alice" }), []string{"pull_repo/alice", "push_repo/alice"}},
			{"namespace", with(func(q *wharf.LogSearch) { q.Namespace = "zed" }), []string{"pull_repo/alice"}},
			{"repository", with(func(q *wharf.LogSearch) { q.Repository = "app" }), []string{"pull_repo/alice", "push_repo/alice"}},
			{"all filters", with(func(q *wharf.LogSearch) { q.Kind, q.Namespace, q.Repository = "push_repo", "acme", "web" }), []string{"push_repo/bob"}},
			{"window", with(func(q *wharf.LogSearch) { q.End = base.Add(2 * time.Hour) }), []string{"push_repo/bob", "push_repo/alice"}},
			{"limit fetches one more", with(func(q *wharf.LogSearch) { q.Limit = 1 }), []string{"login_failure/", "pull_repo/alice"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if diff := cmp.Diff(tc.want, kinds(tc.q)); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
		t.Run("cursor", func(t *testing.T) {
			first, _ := store.Logs.SearchLogs(ctx, with(func(q *wharf.LogSearch) { q.Limit = 2 }))
			after := with(func(q *wharf.LogSearch) { q.After = &wharf.LogCursor{Time: first[1].Time, ID: first[1].ID} })
			if diff := cmp.Diff([]string{"push_repo/bob", "push_repo/alice"}, kinds(after)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
		t.Run("counts by day from a UTC midnight", func(t *testing.T) {
			origin := time.Date(2025, 2, 17, 0, 0, 0, 0, time.UTC)
			counts, err := store.Logs.CountLogs(ctx, window, origin, 24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			type c struct {
				Kind  string
				Day   string
				Count int64
			}
			var got []c
			for _, x := range counts {
				got = append(got, c{x.Kind, x.Day.UTC().Format(time.DateOnly), x.Count})
			}
			want := []c{{"push_repo", "2025-02-17", 2}, {"login_failure", "2025-02-18", 1}, {"pull_repo", "2025-02-18", 1}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	})
}
