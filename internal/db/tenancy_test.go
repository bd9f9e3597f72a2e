package db_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// tenancyFixture is organization acme owned by boss, with users and teams
// created on demand.
type tenancyFixture struct {
	t     *testing.T
	ctx   context.Context
	store *db.DB
	org   *wharf.Account
	users map[string]*wharf.Account
}

func newTenancyFixture(t *testing.T, store *db.DB) *tenancyFixture {
	f := &tenancyFixture{t: t, ctx: context.Background(), store: store, users: map[string]*wharf.Account{}}
	f.org = &wharf.Account{Name: "acme", Kind: wharf.KindOrg, Enabled: true}
	if err := store.Accounts.CreateAccount(f.ctx, f.org, f.user("boss")); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *tenancyFixture) user(name string) *wharf.Account {
	f.t.Helper()
	if u, ok := f.users[name]; ok {
		return u
	}
	u := &wharf.Account{Name: name, Kind: wharf.KindUser, Enabled: true}
	if err := f.store.Accounts.CreateAccount(f.ctx, u, nil); err != nil {
		f.t.Fatal(err)
	}
	f.users[name] = u
	return u
}

func (f *tenancyFixture) team(name, role string, members ...string) *wharf.Team {
	f.t.Helper()
	t := &wharf.Team{OrgID: f.org.ID, Name: name, Role: role}
	if err := f.store.Tenancy.SaveTeam(f.ctx, t); err != nil {
		f.t.Fatal(err)
	}
	for _, m := range members {
		if err := f.store.Tenancy.AddTeamMember(f.ctx, t.ID, f.user(m).ID); err != nil {
			f.t.Fatal(err)
		}
	}
	return t
}

func (f *tenancyFixture) repo(name string, creator string) *wharf.Repository {
	f.t.Helper()
	r := &wharf.Repository{NamespaceID: f.org.ID, Namespace: f.org.Name, Name: name, Visibility: wharf.Private}
	var creatorID int64
	if creator != "" {
		creatorID = f.user(creator).ID
	}
	if err := f.store.Registry.CreateRepository(f.ctx, r, creatorID); err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *tenancyFixture) grants(repo *wharf.Repository, user string) (string, string) {
	f.t.Helper()
	var repoID int64
	if repo != nil {
		repoID = repo.ID
	}
	team, role, err := f.store.Tenancy.Grants(f.ctx, f.org.ID, repoID, f.user(user).ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return team, role
}

// rolesOn is every explicit grant on repo as "name=role".
func (f *tenancyFixture) rolesOn(repo *wharf.Repository) []string {
	f.t.Helper()
	perms, err := f.store.Tenancy.RepositoryPermissions(f.ctx, repo.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, p := range perms {
		if p.Team != nil {
			out = append(out, "team:"+p.Team.Name+"="+p.Role)
		} else {
			out = append(out, p.Account.Name+"="+p.Role)
		}
	}
	slices.Sort(out)
	return out
}

func TestGrants(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newTenancyFixture(t, store)
		f.team("makers", wharf.TeamCreator, "maker")
		readers := f.team("readers", wharf.TeamMember, "reader", "writer")
		app := f.repo("app", "")
		set := func(p wharf.Permission) {
			t.Helper()
			if err := store.Tenancy.SetPermission(f.ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		set(wharf.Permission{Repository: app, Team: readers, Role: wharf.RoleRead})
		set(wharf.Permission{Repository: app, Account: f.user("writer"), Role: wharf.RoleWrite})
		for _, c := range []struct {
			user       string
			repo       *wharf.Repository
			team, role string
		}{
			{"boss", app, wharf.TeamAdmin, ""},
			{"maker", app, wharf.TeamCreator, ""},
			{"maker", nil, wharf.TeamCreator, ""},
			{"reader", app, "", wharf.RoleRead},
			{"writer", app, "", wharf.RoleWrite}, // the best of team read and direct write
			{"stranger", app, "", ""},
		} {
			if team, role := f.grants(c.repo, c.user); team != c.team || role != c.role {
				t.Errorf("%s: team role %q, repository role %q; want %q, %q", c.user, team, role, c.team, c.role)
			}
		}

		// Taking a grant away moves the grantee's epoch (its tokens stop).
		epoch := func(a *wharf.Account) int64 {
			e, err := store.Accounts.Epochs(f.ctx, []string{wharf.AccountSubject(a.ID)})
			if err != nil {
				t.Fatal(err)
			}
			return e[wharf.AccountSubject(a.ID)]
		}
		before := epoch(f.user("reader"))
		if err := store.Tenancy.DeletePermission(f.ctx, wharf.Permission{Repository: app, Team: readers}); err != nil {
			t.Fatal(err)
		}
		if epoch(f.user("reader")) <= before {
			t.Error("removing the team's grant left its members' epoch")
		}
		if _, role := f.grants(app, "reader"); role != "" {
			t.Errorf("reader still holds %q", role)
		}
		before = epoch(f.user("writer"))
		if err := store.Tenancy.RemoveTeamMember(f.ctx, readers, f.user("writer").ID); err != nil {
			t.Fatal(err)
		}
		if epoch(f.user("writer")) <= before {
			t.Error("leaving a team left the member's epoch")
		}
		if err := store.Tenancy.DeletePermission(f.ctx, wharf.Permission{Repository: app, Team: readers}); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("deleting a missing grant: %v, want NotFound", err)
		}
	})
}

// TestCreationGrants: the creator gets admin and the organization's
// default permissions apply, as Quay orders them.
func TestCreationGrants(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newTenancyFixture(t, store)
		devs, ops := f.team("devs", wharf.TeamMember), f.team("ops", wharf.TeamMember)
		proto := func(activating string, team *wharf.Team, user, role string) {
			t.Helper()
			p := &wharf.Prototype{UUID: "p-" + role + "-" + activating + "-" + user, OrgID: f.org.ID, Role: role, DelegateTeam: team}
			if team != nil {
				p.UUID += team.Name
			}
			if activating != "" {
				p.Activating = f.user(activating)
			}
			if user != "" {
				p.DelegateAccount = f.user(user)
			}
			if err := store.Tenancy.CreatePrototype(f.ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		proto("", devs, "", wharf.RoleWrite)            // general: first wins
		proto("", devs, "", wharf.RoleRead)             // general, later: ignored
		proto("maker", ops, "", wharf.RoleRead)         // specific
		proto("maker", ops, "", wharf.RoleAdmin)        // specific, later: wins
		proto("", ops, "", wharf.RoleWrite)             // general after specific: ignored
		proto("", nil, "auditor", wharf.RoleRead)       // a user delegate
		proto("", nil, "maker", wharf.RoleRead)         // the creator itself: keeps admin
		proto("someoneelse", devs, "", wharf.RoleAdmin) // another creator's: not applied

		made := f.repo("made", "maker")
		want := []string{"auditor=read", "maker=admin", "team:devs=write", "team:ops=admin"}
		if got := f.rolesOn(made); !slices.Equal(got, want) {
			t.Errorf("grants on a repository maker created: %v, want %v", got, want)
		}
		byOther := f.repo("other", "boss")
		want = []string{"auditor=read", "boss=admin", "maker=read", "team:devs=write", "team:ops=write"}
		if got := f.rolesOn(byOther); !slices.Equal(got, want) {
			t.Errorf("grants on a repository boss created: %v, want %v", got, want)
		}
		if got := f.rolesOn(f.repo("nobody", "")); len(got) != 0 {
			t.Errorf("a repository without a creator got %v", got)
		}
		// Prototypes apply once: deleting one changes nothing created.
		ps, err := store.Tenancy.Prototypes(f.ctx, f.org.ID)
		if err != nil || len(ps) != 8 {
			t.Fatalf("prototypes %d, %v", len(ps), err)
		}
		if err := store.Tenancy.DeletePrototype(f.ctx, ps[0].ID); err != nil {
			t.Fatal(err)
		}
		if got := f.rolesOn(made); !slices.Contains(got, "team:devs=write") {
			t.Errorf("deleting the prototype changed %v", got)
		}
	})
}

// TestLastAdmin: no change leaves an organization without an admin.
func TestLastAdmin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newTenancyFixture(t, store)
		owners, err := store.Tenancy.TeamByName(f.ctx, f.org.ID, wharf.OwnersTeam)
		if err != nil {
			t.Fatal(err)
		}
		lastAdmin := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, wharf.ErrLastAdmin) {
				t.Errorf("%s: %v, want ErrLastAdmin", what, err)
			}
		}
		demoted := *owners
		demoted.Role = wharf.TeamMember
		lastAdmin("demote owners", store.Tenancy.SaveTeam(f.ctx, &demoted))
		lastAdmin("delete owners", store.Tenancy.DeleteTeam(f.ctx, owners))
		lastAdmin("remove boss from owners", store.Tenancy.RemoveTeamMember(f.ctx, owners, f.user("boss").ID))
		lastAdmin("remove boss from the organization", store.Tenancy.RemoveOrgMember(f.ctx, f.org.ID, f.user("boss").ID))
		if team, _ := f.grants(nil, "boss"); team != wharf.TeamAdmin {
			t.Errorf("boss is %q after the refusals, want admin", team)
		}
		// With a second admin, boss may go.
		f.team("admins", wharf.TeamAdmin, "second")
		if err := store.Tenancy.RemoveOrgMember(f.ctx, f.org.ID, f.user("boss").ID); err != nil {
			t.Fatal(err)
		}
		if team, _ := f.grants(nil, "boss"); team != "" {
			t.Errorf("boss is still %q", team)
		}
	})
}

func TestListRepositories(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newTenancyFixture(t, store)
		devs := f.team("devs", wharf.TeamMember, "dev")
		var repos []*wharf.Repository
		for _, name := range []string{"a", "b", "c", "d", "e"} {
			repos = append(repos, f.repo(name, ""))
		}
		for _, r := range []*wharf.Repository{repos[1], repos[3], repos[4]} {
			if err := store.Tenancy.SetPermission(f.ctx, wharf.Permission{Repository: r, Team: devs, Role: wharf.RoleRead}); err != nil {
				t.Fatal(err)
			}
		}
		repos[0].Visibility = wharf.Public
		if err := store.Registry.UpdateRepository(f.ctx, repos[0]); err != nil {
			t.Fatal(err)
		}
		list := func(q wharf.RepositoryListQuery) []string {
			t.Helper()
			got, err := store.Tenancy.ListRepositories(f.ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range got {
				names = append(names, r.Name)
			}
			return names
		}
		dev := f.user("dev").ID
		for _, c := range []struct {
			name string
			q    wharf.RepositoryListQuery
			want []string
		}{
			{"team grants", wharf.RepositoryListQuery{AccountID: dev, NamespaceID: f.org.ID, Limit: 10}, []string{"b", "d", "e"}},
			{"and public", wharf.RepositoryListQuery{AccountID: dev, Public: true, Limit: 10}, []string{"a", "b", "d", "e"}},
			{"a page", wharf.RepositoryListQuery{AccountID: dev, NamespaceID: f.org.ID, Limit: 2}, []string{"b", "d"}},
			{"the next page", wharf.RepositoryListQuery{AccountID: dev, NamespaceID: f.org.ID, AfterID: repos[3].ID, Limit: 2}, []string{"e"}},
			{"the admin", wharf.RepositoryListQuery{AccountID: f.user("boss").ID, NamespaceID: f.org.ID, Limit: 10}, []string{"a", "b", "c", "d", "e"}},
			{"anonymous", wharf.RepositoryListQuery{Public: true, Limit: 10}, []string{"a"}},
			{"a stranger", wharf.RepositoryListQuery{AccountID: f.user("stranger").ID, NamespaceID: f.org.ID, Limit: 10}, nil},
			{"everything", wharf.RepositoryListQuery{All: true, NamespaceID: f.org.ID, Limit: 10}, []string{"a", "b", "c", "d", "e"}},
		} {
			if got := list(c.q); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		if err := store.Tenancy.SetStar(f.ctx, dev, repos[2].ID, true); err != nil {
			t.Fatal(err)
		}
		if err := store.Tenancy.SetStar(f.ctx, dev, repos[3].ID, true); err != nil {
			t.Fatal(err)
		}
		// A starred repository the caller cannot read is not listed.
		if got := list(wharf.RepositoryListQuery{AccountID: dev, Starred: true, Limit: 10}); !slices.Equal(got, []string{"d"}) {
			t.Errorf("starred: %v, want [d]", got)
		}
	})
}
