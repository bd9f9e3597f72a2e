package main

// The tenancy modules of Red Hat's Ansible collection, replayed call by
// call as quay-clients.md §3 describes them: quay_team, quay_default_perm,
// quay_repository (perms, star, repo_state) and quay_robot. Each task runs
// twice; the second run must change nothing.

import (
	"net/url"
	"testing"
)

// converge runs a module task twice and checks that the first changed
// something and the second nothing.
func (m *modules) converge(t *testing.T, what string, task func(c *client) int) {
	t.Helper()
	var changes [2]int
	for i := range changes {
		m.run(t, func(c *client) { changes[i] = task(c) })
	}
	if changes[0] == 0 || changes[1] != 0 {
		t.Errorf("%s: %d changes on the first run, %d on the second; want some, then none", what, changes[0], changes[1])
	}
}

// quayTeam is quay_team: a team with role, description and exactly the
// given members (append: false).
func (m *modules) quayTeam(t *testing.T, org, team, role, description string, members ...string) {
	m.converge(t, "quay_team "+team, func(c *client) int {
		changed := 0
		teams, _ := c.exists("organization/" + org)["teams"].(map[string]any)
		cur, _ := teams[team].(map[string]any)
		if cur == nil || cur["role"] != role || cur["description"] != description {
			expect(t, c.call("PUT", "organization/"+org+"/team/"+team, map[string]any{"name": team, "role": role, "description": description}), okUpdate...)
			changed++
		}
		r := c.call("GET", "organization/"+org+"/team/"+team+"/members?includePending=True", nil)
		expect(t, r, 200)
		have := map[string]bool{}
		for _, mem := range objects(t, r.object(t)["members"], "members") {
			name, _ := mem["name"].(string)
			have[name] = true
		}
		want := map[string]bool{}
		for _, name := range members {
			want[name] = true
			if !have[name] {
				expect(t, c.call("PUT", "organization/"+org+"/team/"+team+"/members/"+name, map[string]any{}), okUpdate...)
				changed++
			}
		}
		for name := range have {
			if !want[name] {
				expect(t, c.call("DELETE", "organization/"+org+"/team/"+team+"/members/"+name, nil), 204)
				changed++
			}
		}
		return changed
	})
}

// quayTeamAbsent is quay_team with state: absent.
func (m *modules) quayTeamAbsent(t *testing.T, org, team string) {
	m.converge(t, "quay_team "+team+" absent", func(c *client) int {
		teams, _ := c.exists("organization/" + org)["teams"].(map[string]any)
		cur, _ := teams[team].(map[string]any)
		if cur == nil {
			return 0
		}
		if cur["role"] != "member" {
			expect(t, c.call("PUT", "organization/"+org+"/team/"+team, map[string]any{"role": "member"}), okUpdate...)
		}
		expect(t, c.call("DELETE", "organization/"+org+"/team/"+team, nil), 204)
		return 1
	})
}

// quayDefaultPerm is quay_default_perm: the prototype for delegate (kind
// user or team), activated by activating ("" for anyone), with role; absent
// when role is "".
func (m *modules) quayDefaultPerm(t *testing.T, org, kind, delegate, activating, role string) {
	m.converge(t, "quay_default_perm "+delegate+" "+role, func(c *client) int {
		c.exists("organization/" + org)
		r := c.call("GET", "organization/"+org+"/prototypes", nil)
		expect(t, r, 200)
		var cur map[string]any
		for _, p := range objects(t, r.object(t)["prototypes"], "prototypes") {
			d, _ := p["delegate"].(map[string]any)
			act, _ := p["activating_user"].(map[string]any)
			actName, _ := act["name"].(string)
			if d["name"] == delegate && d["kind"] == kind && actName == activating {
				cur = p
			}
		}
		id, _ := cur["id"].(string)
		switch {
		case role == "" && cur == nil:
			return 0
		case role == "":
			expect(t, c.call("DELETE", "organization/"+org+"/prototypes/"+id, nil), 204)
		case cur == nil:
			body := map[string]any{"delegate": map[string]any{"name": delegate, "kind": kind}, "role": role}
			if activating != "" {
				body["activating_user"] = map[string]any{"name": activating}
			}
			expect(t, c.call("POST", "organization/"+org+"/prototypes", body), okCreate...)
		case cur["role"] != role:
			expect(t, c.call("PUT", "organization/"+org+"/prototypes/"+id, map[string]any{"role": role}), okUpdate...)
		default:
			return 0
		}
		return 1
	})
}

// repoSpec is what a quay_repository task asks for.
type repoSpec struct {
	description, visibility, state string
	star                           bool
	userPerms, teamPerms           map[string]string
}

// quayRepository is quay_repository with perms (append: false), star and
// repo_state.
func (m *modules) quayRepository(t *testing.T, ns, name string, want repoSpec) {
	m.converge(t, "quay_repository "+ns+"/"+name, func(c *client) int {
		expect(t, c.call("GET", "user/", nil), 200)
		c.exists("organization/" + ns)
		path := "repository/" + ns + "/" + name
		changed := 0
		cur := c.exists(path)
		if cur == nil {
			expect(t, c.call("POST", "repository", map[string]any{"namespace": ns, "repository": name, "repo_kind": "image",
				"description": want.description, "visibility": want.visibility}), okCreate...)
			changed++
			cur = c.exists(path)
		}
		if cur["description"] != want.description && !(cur["description"] == nil && want.description == "") {
			expect(t, c.call("PUT", path, map[string]any{"description": want.description}), okUpdate...)
			changed++
		}
		if cur["is_public"] != (want.visibility == "public") {
			expect(t, c.call("POST", path+"/changevisibility", map[string]any{"visibility": want.visibility}), okUpdate...)
			changed++
		}
		if cur["state"] != want.state {
			expect(t, c.call("PUT", path+"/changestate", map[string]any{"state": want.state}), okUpdate...)
			changed++
		}
		if cur["is_starred"] != want.star {
			if want.star {
				expect(t, c.call("POST", "user/starred", map[string]any{"namespace": ns, "repository": name}), okCreate...)
			} else {
				expect(t, c.call("DELETE", "user/starred/"+ns+"/"+name, nil), 204)
			}
			changed++
		}
		for kind, perms := range map[string]map[string]string{"user": want.userPerms, "team": want.teamPerms} {
			r := c.call("GET", path+"/permissions/"+kind+"/", nil)
			expect(t, r, 200)
			have, _ := r.object(t)["permissions"].(map[string]any)
			for who, role := range perms {
				if p, _ := have[who].(map[string]any); p == nil || p["role"] != role {
					expect(t, c.call("PUT", path+"/permissions/"+kind+"/"+url.PathEscape(who), map[string]any{"role": role}), okUpdate...)
					changed++
				}
			}
			for who := range have {
				if _, keep := perms[who]; !keep && who != m.adminUser {
					expect(t, c.call("DELETE", path+"/permissions/"+kind+"/"+url.PathEscape(who), nil), 204)
					changed++
				}
			}
		}
		return changed
	})
}

// quayRobot is quay_robot: present (created once, never updated).
func (m *modules) quayRobot(t *testing.T, org, short, description string) {
	m.converge(t, "quay_robot "+org+"+"+short, func(c *client) int {
		r := c.call("GET", "organization/"+org+"/robots/"+short, nil)
		if r.Status == 200 {
			return 0
		}
		if r.Status != 400 && r.Status != 404 {
			t.Fatalf("%s: want 200, 400 or 404", r)
		}
		r = c.call("PUT", "organization/"+org+"/robots/"+short, map[string]any{"description": description})
		expect(t, r, okCreate...)
		if v := r.object(t); v["name"] != org+"+"+short || v["token"] == "" {
			t.Errorf("created robot %s", r)
		}
		return 1
	})
}

// quayTenancy runs the tenancy modules against organization org (created
// by quay_organization's present() beforehand) and user dev.
func (m *modules) quayTenancy(t *testing.T) {
	org, dev := "ansible-tenancy-"+m.suffix, "ansible-dev-"+m.suffix
	m.run(t, func(c *client) {
		expect(t, c.call("POST", "organization/", map[string]any{"name": org}), okCreate...)
		expect(t, c.call("POST", "superuser/users/", map[string]any{"username": dev, "email": dev + "@example.com"}), 200)
	})
	t.Run("quay_robot", func(t *testing.T) { m.quayRobot(t, org, "ci", "pushes") })
	t.Run("quay_team", func(t *testing.T) {
		m.quayTeam(t, org, "devs", "member", "developers", dev, org+"+ci")
		m.quayTeam(t, org, "devs", "creator", "builders", dev)
		m.quayTeam(t, org, "gone", "admin", "")
		m.quayTeamAbsent(t, org, "gone")
	})
	t.Run("quay_default_perm", func(t *testing.T) {
		m.quayDefaultPerm(t, org, "team", "devs", "", "write")
		m.quayDefaultPerm(t, org, "team", "devs", "", "admin")
		m.quayDefaultPerm(t, org, "user", org+"+ci", dev, "read")
		m.quayDefaultPerm(t, org, "user", org+"+ci", dev, "")
	})
	t.Run("quay_repository", func(t *testing.T) {
		// The caller creates it, so the devs prototype grants devs admin.
		m.quayRepository(t, org, "app", repoSpec{description: "the app", visibility: "private", state: "NORMAL", star: true,
			userPerms: map[string]string{dev: "write", org + "+ci": "read"}, teamPerms: map[string]string{"devs": "read"}})
		m.quayRepository(t, org, "app", repoSpec{description: "", visibility: "public", state: "READ_ONLY",
			userPerms: map[string]string{dev: "admin"}, teamPerms: map[string]string{}})
	})
}
