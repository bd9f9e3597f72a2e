package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/app"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// The scale of the loaded instance (issue 11): teams of one organization,
// its repositories, and the grants on them (nine teams and one user per
// repository), and the teams' members. The measured user, admin, is in
// scaleMemberTeams of the teams.
const (
	scaleTeams       = 1000
	scaleRepos       = 10_000
	scaleTeamGrants  = 9 // per repository
	scaleMemberTeams = 100
	scaleOtherUsers  = 1000
	scaleTeamSize    = 10 // members of each team beside admin
)

// BenchmarkTenancyScale measures what the size of the tenancy data costs:
// the registry's access decision for one repository (App.RegistryAccess),
// granting and refusing, and a whole /v2/auth for pull,push on it, each on
// an instance holding only what the decision needs and on one with 1,000
// teams of ten members, 10,000 repositories and 100,000 grants,
// alternating request by request; and
// the repository list of a user in 100 teams on its first and its last
// page. The decisions read grants through the grant cache, as every
// request does; refusal-uncached times the query behind it. It reports medians and the ratios loaded/empty and last/first
// (the targets: within 1.2).
func BenchmarkTenancyScale(b *testing.B) {
	for _, d := range dbtest.Engines(b) {
		b.Run(string(d), func(b *testing.B) {
			emptyURI, loadedURI := dbtest.URI(b, d), dbtest.URI(b, d)
			empty, emptyApp := scaleServer(b, emptyURI, false)
			loaded, loadedApp := scaleServer(b, loadedURI, true)

			b.Run("decision", func(b *testing.B) {
				compareScale(b, 2000, "loaded", "empty", decision(b, loadedApp, "admin", true), decision(b, emptyApp, "admin", true))
			})

			// The same decision for a user who holds nothing on acme/target
			// (in 100 other teams when loaded).
			b.Run("refusal", func(b *testing.B) {
				compareScale(b, 2000, "loaded", "empty", decision(b, loadedApp, "outsider", false), decision(b, emptyApp, "outsider", false))
			})

			// The query the decisions above answer from the grant cache,
			// as a decision pays it once the cache cannot answer (the
			// first request, or the first after a change of grants): it
			// walks the team grants of the one repository, nine when
			// loaded and one when empty.
			b.Run("refusal-uncached", func(b *testing.B) {
				query := func(a *app.App) func() {
					ctx := context.Background()
					org, outsider := accountNamed(b, a, "acme"), accountNamed(b, a, "outsider")
					repo, err := a.Store.Registry.RepositoryByName(ctx, "acme", "target")
					if err != nil {
						b.Fatal(err)
					}
					return func() {
						team, role, err := a.Store.Tenancy.Grants(ctx, org.ID, repo.ID, outsider.ID)
						if err != nil || team != "" || role != "" {
							b.Fatalf("grants %q %q, %v: want none", team, role, err)
						}
					}
				}
				compareScale(b, 2000, "loaded", "empty", query(loadedApp), query(emptyApp))
			})

			b.Run("v2auth", func(b *testing.B) {
				login := func(s *server) func() {
					path := "/v2/auth?service=" + s.host + "&scope=repository:acme/target:pull,push"
					basic := "Basic " + basicAuth("$oauthtoken", s.admin)
					return func() {
						r := s.do("GET", path, basic, nil)
						if r.status != http.StatusOK || !strings.Contains(string(r.body), "token") {
							b.Fatalf("%s", r)
						}
					}
				}
				compareScale(b, 500, "loaded", "empty", login(loaded), login(empty))
			})

			b.Run("list", func(b *testing.B) {
				first := "/api/v1/repository?namespace=acme"
				last, pages := first, 0
				for {
					r := must(b, loaded.do("GET", last, "Bearer "+loaded.admin, nil), http.StatusOK)
					var page struct {
						Next string `json:"next_page"`
					}
					json.Unmarshal(r.body, &page)
					if page.Next == "" {
						break
					}
					last, pages = first+"&next_page="+url.QueryEscape(page.Next), pages+1
				}
				if pages < 50 {
					b.Fatalf("only %d pages: the user sees too few repositories", pages+1)
				}
				list := func(path string) func() {
					return func() { must(b, loaded.do("GET", path, "Bearer "+loaded.admin, nil), http.StatusOK) }
				}
				compareScale(b, 200, "last", "first", list(last), list(first))
			})
		})
	}
}

// decision returns the registry's access decision on acme/target for
// user on a, as a function that fails unless the decision grants write
// (write) or nothing at all.
func decision(b *testing.B, a *app.App, user string, write bool) func() {
	ctx := context.Background()
	c := &wharf.Caller{Account: accountNamed(b, a, user)}
	return func() {
		d, err := a.RegistryAccess.Repository(ctx, c, "acme", "target")
		if err != nil || d.Write != write || d.Read != write {
			b.Fatalf("decision for %s %+v, %v: want write %v", user, d.Rights, err, write)
		}
	}
}

func accountNamed(b *testing.B, a *app.App, name string) *wharf.Account {
	acct, err := a.Store.Accounts.AccountByName(context.Background(), name)
	if err != nil {
		b.Fatal(err)
	}
	return acct
}

// compareScale times a and b alternately, pairs times per b.N after a
// warm-up, and reports their medians and the ratio a/b.
func compareScale(b *testing.B, pairs int, nameA, nameB string, fa, fb func()) {
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	for range pairs / 10 {
		fa()
		fb()
	}
	b.ResetTimer()
	var as, bs []time.Duration
	for range b.N {
		for range pairs {
			as = append(as, timed(fa))
			bs = append(bs, timed(fb))
		}
	}
	ma, mb := medianOf(as), medianOf(bs)
	b.ReportMetric(float64(ma.Nanoseconds()), "ns/"+nameA)
	b.ReportMetric(float64(mb.Nanoseconds()), "ns/"+nameB)
	b.ReportMetric(float64(ma)/float64(mb), "ratio-"+nameA+"/"+nameB)
}

func medianOf(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// scaleServer serves a database at uri with organization acme (owned by
// boss) and its repository acme/target, which admin writes through a team
// it is in; loaded adds the scale data.
func scaleServer(b *testing.B, uri string, loaded bool) (*server, *app.App) {
	b.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, uri, db.WithSecretKey(dbtest.SecretKey))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	s, a := newServerLogging(b, store, io.Discard, nil)
	boss := &wharf.Account{Name: "boss", Kind: wharf.KindUser, Email: "boss@example.com", Enabled: true}
	if err := store.Accounts.CreateAccount(ctx, boss, nil); err != nil {
		b.Fatal(err)
	}
	org := &wharf.Account{Name: "acme", Kind: wharf.KindOrg, Enabled: true}
	if err := store.Accounts.CreateAccount(ctx, org, boss); err != nil {
		b.Fatal(err)
	}
	outsider := &wharf.Account{Name: "outsider", Kind: wharf.KindUser, Email: "outsider@example.com", Enabled: true}
	if err := store.Accounts.CreateAccount(ctx, outsider, nil); err != nil {
		b.Fatal(err)
	}
	admin, err := store.Accounts.AccountByName(ctx, "admin")
	if err != nil {
		b.Fatal(err)
	}
	_, driver, dsn, err := db.SQLDriver(uri)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	teams, repos := 1, 1
	if loaded {
		teams, repos = scaleTeams, scaleRepos
	}
	var stmts []string
	rows := func(prefix string, n int, row func(i int) string) {
		for start := 0; start < n; start += 500 {
			var vals []string
			for i := start; i < min(n, start+500); i++ {
				vals = append(vals, row(i))
			}
			stmts = append(stmts, prefix+strings.Join(vals, ", "))
		}
	}
	// Ids are chosen by the database: rows name teams and repositories
	// through subqueries over their unique names.
	rows("INSERT INTO team (org_id, name, role) VALUES ", teams, func(i int) string {
		return fmt.Sprintf("(%d, 'team%d', 'member')", org.ID, i)
	})
	rows("INSERT INTO repository (namespace_id, name, created_at) VALUES ", repos, func(i int) string {
		name := fmt.Sprintf("repo%05d", i)
		if i == 0 {
			name = "target"
		}
		return fmt.Sprintf("(%d, '%s', 0)", org.ID, name)
	})
	stmts = append(stmts, fmt.Sprintf(`INSERT INTO team_member (team_id, account_id)
		SELECT id, %d FROM team WHERE org_id = %d AND name IN (%s)`, admin.ID, org.ID, teamNames(0, min(teams, scaleMemberTeams))))
	if !loaded {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO repository_permission (repository_id, team_id, role)
			SELECT r.id, t.id, 'write' FROM repository r, team t WHERE r.name = 'target' AND t.name = 'team0' AND t.org_id = %d AND r.namespace_id = %d`, org.ID, org.ID))
	} else {
		// Repository number i gets team i mod 100 (one of admin's: admin
		// sees every repository, acme/target through team0 with write)
		// and eight of the other 900 teams (each holds 80 grants); boss
		// holds a direct grant on each: 100,000 grants.
		offset := fmt.Sprintf("(r.id - (SELECT MIN(id) FROM repository WHERE namespace_id = %d))", org.ID)
		for k := 0; k < scaleTeamGrants; k++ {
			team := fmt.Sprintf("%s %% %d", offset, scaleMemberTeams)
			if k > 0 {
				team = fmt.Sprintf("%d + (%s * %d + %d) %% %d", scaleMemberTeams, offset, scaleTeamGrants-1, k, scaleTeams-scaleMemberTeams)
			}
			stmts = append(stmts, fmt.Sprintf(`INSERT INTO repository_permission (repository_id, team_id, role)
				SELECT r.id, t.id, CASE WHEN r.name = 'target' THEN 'write' ELSE 'read' END FROM repository r
				JOIN team t ON t.org_id = r.namespace_id AND t.name = 'team' || CAST(%s AS TEXT)
				WHERE r.namespace_id = %d`, team, org.ID))
		}
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO repository_permission (repository_id, account_id, role)
			SELECT id, %d, 'admin' FROM repository WHERE namespace_id = %d`, boss.ID, org.ID))
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO team_member (team_id, account_id)
			SELECT id, %d FROM team WHERE org_id = %d AND name IN (%s)`, outsider.ID, org.ID, teamNames(200, 200+scaleMemberTeams)))
		// Teams have members: scaleOtherUsers users, each team with
		// scaleTeamSize of them beside admin (a planner that saw
		// team_member hold only admin's memberships would scan it whole).
		rows("INSERT INTO account (name, kind, created_at) VALUES ", scaleOtherUsers, func(i int) string {
			return fmt.Sprintf("('member%d', 'user', 0)", i)
		})
		for k := 0; k < scaleTeamSize; k++ {
			stmts = append(stmts, fmt.Sprintf(`INSERT INTO team_member (team_id, account_id)
				SELECT t.id, a.id FROM team t JOIN account a ON a.name = 'member' || CAST(((t.id - (SELECT MIN(id) FROM team WHERE org_id = %d)) * %d + %d) %% %d AS TEXT)
				WHERE t.org_id = %d AND t.name LIKE 'team%%'`, org.ID, scaleTeamSize, k, scaleOtherUsers, org.ID))
		}
	}
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if loaded {
		var n int
		raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM repository_permission`).Scan(&n)
		if n != scaleRepos*(scaleTeamGrants+1) {
			b.Fatalf("%d grants, want %d", n, scaleRepos*(scaleTeamGrants+1))
		}
		// Fresh planner statistics, as autovacuum (PostgreSQL) or an
		// operator (SQLite) would leave after a bulk load.
		if _, err := raw.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
		if driver == "sqlite" {
			// The bulk load sits in the write-ahead log until a checkpoint
			// moves it into the database, as SQLite's automatic one soon does.
			if _, err := raw.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s, a
}

func teamNames(from, to int) string {
	var names []string
	for i := from; i < to; i++ {
		names = append(names, fmt.Sprintf("'team%d'", i))
	}
	return strings.Join(names, ", ")
}
