package app

import (
	"context"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestGrantCache: the cache answers from memory only while nothing that
// could change the answer happened: any change of teams, members or grants
// made through this process is seen at once, rights another process takes
// away once polled, rights another process gives within the entry's age.
func TestGrantCache(t *testing.T) {
	for _, engine := range dbtest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) { testGrantCache(t, dbtest.URI(t, engine)) })
	}
}

func testGrantCache(t *testing.T, uri string) {
	ctx := context.Background()
	store, other := twoProcesses(t, uri)
	org, repo := publicRepository(t, store)
	boss := &wharf.Account{Name: "boss", Kind: wharf.KindUser, Email: "boss@example.com", Enabled: true}
	dev := &wharf.Account{Name: "dev", Kind: wharf.KindUser, Email: "dev@example.com", Enabled: true}
	for _, a := range []*wharf.Account{boss, dev} {
		if err := store.Accounts.CreateAccount(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Accounts.AddOrgAdmin(ctx, org.ID, boss.ID); err != nil { // an organization keeps an admin
		t.Fatal(err)
	}
	team := &wharf.Team{OrgID: org.ID, Name: "devs", Role: wharf.TeamMember}
	if err := store.Tenancy.SaveTeam(ctx, team); err != nil {
		t.Fatal(err)
	}
	revocations := polledRevocations(t, store)
	c := newGrantCache(store.Tenancy, revocations, store.Changes, store.GrantChanges)
	now := time.Unix(1_800_000_000, 0)
	c.now = func() time.Time { return now }
	check := func(what, wantTeam, wantRepo string) {
		t.Helper()
		teamRole, repoRole, err := c.Grants(ctx, org.ID, repo.ID, dev.ID)
		if err != nil || teamRole != wantTeam || repoRole != wantRepo {
			t.Fatalf("%s: team role %q, repository role %q, %v; want %q, %q", what, teamRole, repoRole, err, wantTeam, wantRepo)
		}
	}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	check("nothing held", "", "")
	// Given through this process: used at once.
	step("grant", store.Tenancy.SetPermission(ctx, wharf.Permission{Repository: repo, Team: team, Role: wharf.RoleWrite}))
	check("team granted, dev not in it", "", "")
	step("add member", store.Tenancy.AddTeamMember(ctx, team.ID, dev.ID))
	check("dev added to the granted team", "", wharf.RoleWrite)
	team.Role = wharf.TeamCreator
	step("team role", store.Tenancy.SaveTeam(ctx, team))
	check("the team made creators", wharf.TeamCreator, wharf.RoleWrite)

	// Taken away by another process: the entry holds until this process
	// has polled the epochs the change moved.
	step("remove member elsewhere", other.Tenancy.RemoveTeamMember(ctx, team, dev.ID))
	check("before the poll", wharf.TeamCreator, wharf.RoleWrite)
	step("poll", revocations.Poll(ctx))
	check("after the poll", "", "")

	// Given by another process: no epoch moves, the entry's age bounds it.
	step("add member elsewhere", other.Tenancy.AddTeamMember(ctx, team.ID, dev.ID))
	check("within the entry's age", "", "")
	now = now.Add(grantCacheTTL)
	check("once the entry is too old", wharf.TeamCreator, wharf.RoleWrite)

	// A direct grant taken away here, the repository deleted elsewhere.
	team.Role = wharf.TeamMember
	step("team role back", store.Tenancy.SaveTeam(ctx, team))
	step("direct grant", store.Tenancy.SetPermission(ctx, wharf.Permission{Repository: repo, Account: dev, Role: wharf.RoleAdmin}))
	check("direct admin", "", wharf.RoleAdmin)
	step("delete repository elsewhere", other.Registry.DeleteRepository(ctx, repo.ID))
	step("poll", revocations.Poll(ctx))
	check("after the repository's delete was polled", "", "")
}
