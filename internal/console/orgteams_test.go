package console_test

import (
	"sort"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// teamOf returns org's team through the API: role, description and
// member names (sorted); ok false when it has no such team.
func (s *site) teamOf(org, team string) (role, description string, members []string, ok bool) {
	s.t.Helper()
	var o struct {
		Teams map[string]struct {
			Role        string `json:"role"`
			Description string `json:"description"`
		} `json:"teams"`
	}
	s.mustJSON("GET", "/api/v1/organization/"+org, nil, &o)
	t, ok := o.Teams[team]
	if !ok {
		return "", "", nil, false
	}
	var m struct {
		Members []struct {
			Name string `json:"name"`
		} `json:"members"`
	}
	s.mustJSON("GET", "/api/v1/organization/"+org+"/team/"+team+"/members", nil, &m)
	for _, x := range m.Members {
		members = append(members, x.Name)
	}
	sort.Strings(members)
	return t.Role, t.Description, members, true
}

// TestOrganizationTeams: a team created, edited, given a user and a robot,
// a member removed and the team deleted on the teams tab are what the API
// then has; the dialogs pass axe-core in both themes.
func TestOrganizationTeams(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		s.mustJSON("PUT", "/api/v1/organization/acme/robots/ci", map[string]any{"description": "CI"}, nil)
		for _, scheme := range []string{"light", "dark"} {
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/organization/acme?tab=teams")
			tb.settle(".results table")
			tb.run(chromedp.Click(`//main//button[text()="Create team"]`, chromedp.BySearch))
			tb.waitFor(`!!document.querySelector("dialog select")`, "the team dialog")
			tb.axe(scheme + " create team dialog")
			if scheme == "light" {
				tb.run(chromedp.Click(`//dialog//button[text()="Cancel"]`, chromedp.BySearch))
				tb.run(chromedp.Click(`button[aria-label="Members of owners"]`, chromedp.ByQuery))
				tb.waitText("dialog ul", "admin")
				tb.axe(scheme + " team members dialog")
				continue
			}
			tb.run(chromedp.SendKeys(`//dialog//label[text()="Team name"]/following-sibling::input`, "deployers", chromedp.BySearch),
				chromedp.SetValue(`//dialog//label[text()="Role"]/following-sibling::select`, "creator", chromedp.BySearch),
				chromedp.SetValue(`dialog textarea`, "Ship it "+xss, chromedp.ByQuery),
				chromedp.Click(`//dialog//button[text()="Create"]`, chromedp.BySearch))
			tb.waitText(".results tbody", "deployers")
			if role, desc, _, ok := s.teamOf("acme", "deployers"); !ok || role != "creator" || desc != "Ship it "+xss {
				t.Fatalf("deployers through the API: %v %q %q", ok, role, desc)
			}

			tb.run(chromedp.Click(`button[aria-label="Members of deployers"]`, chromedp.ByQuery))
			tb.waitText("dialog ul", "No member.")
			tb.axe(scheme + " team members dialog")
			for _, who := range []string{"alice", "acme+ci"} {
				tb.run(chromedp.SendKeys(`//dialog//label[starts-with(text(), "User or robot")]/following-sibling::input`, who, chromedp.BySearch),
					chromedp.Click(`//dialog//button[text()="Add member"]`, chromedp.BySearch))
				tb.waitText("dialog ul", who)
			}
			if _, _, members, _ := s.teamOf("acme", "deployers"); len(members) != 2 || members[0] != "acme+ci" || members[1] != "alice" {
				t.Errorf("deployers' members through the API: %v", members)
			}
			tb.run(chromedp.Click(`dialog button[aria-label="Remove alice"]`, chromedp.ByQuery))
			tb.waitFor(`!document.querySelector("dialog ul").textContent.includes("alice")`, "alice to go")
			if _, _, members, _ := s.teamOf("acme", "deployers"); len(members) != 1 || members[0] != "acme+ci" {
				t.Errorf("deployers' members through the API after removing alice: %v", members)
			}
			tb.run(chromedp.Click(`//dialog//button[text()="Close"]`, chromedp.BySearch))
			tb.waitFor(`[...document.querySelectorAll(".results tbody tr")].some((r) => r.children[0].textContent === "deployers" && r.children[2].textContent === "1")`,
				"the table redrawn with deployers' one member")

			tb.run(chromedp.Click(`button[aria-label="Edit deployers"]`, chromedp.ByQuery),
				chromedp.SetValue(`//dialog//label[text()="Role"]/following-sibling::select`, "member", chromedp.BySearch),
				chromedp.Click(`//dialog//button[text()="Save"]`, chromedp.BySearch))
			tb.waitText(".toasts", "Saved.")
			if role, _, _, _ := s.teamOf("acme", "deployers"); role != "member" {
				t.Errorf("deployers' role through the API after the edit: %q", role)
			}

			tb.run(chromedp.Click(`button[aria-label="Delete deployers"]`, chromedp.ByQuery),
				chromedp.Click(`//dialog//button[text()="Delete"]`, chromedp.BySearch))
			tb.waitFor(`!document.querySelector(".results tbody").textContent.includes("deployers")`, "deployers to go")
			if _, _, _, ok := s.teamOf("acme", "deployers"); ok {
				t.Error("deployers still exists through the API")
			}
		}
	})
}

// TestOrganizationRobots: a robot created on the robots tab exists through
// the API with the token the console showed once; its token regenerated
// there is the API's, the old one refused at /v2/auth; deleted there it is
// gone; the dialogs pass axe-core in both themes.
func TestOrganizationRobots(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		for _, scheme := range []string{"light", "dark"} {
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/organization/acme?tab=robots")
			tb.settle(".results table")
			tb.run(chromedp.Click(`//main//button[text()="Create robot account"]`, chromedp.BySearch))
			tb.waitFor(`!!document.querySelector("dialog input")`, "the robot dialog")
			tb.axe(scheme + " create robot dialog")
			if scheme == "light" {
				tb.run(chromedp.Click(`//dialog//button[text()="Cancel"]`, chromedp.BySearch))
				continue
			}
			tb.run(chromedp.SendKeys(`//dialog//label[text()="Robot name"]/following-sibling::input`, "deploy", chromedp.BySearch),
				chromedp.SendKeys(`//dialog//label[text()="Description"]/following-sibling::input`, "Deploys", chromedp.BySearch),
				chromedp.Click(`//dialog//button[text()="Create"]`, chromedp.BySearch))
			tb.waitFor(`!!document.querySelector("dialog textarea")`, "the new robot's token")
			var shown string
			tb.eval(`document.querySelector("dialog textarea").value`, &shown)
			var robot struct {
				Name        string `json:"name"`
				Description string `json:"description"`
				Token       string `json:"token"`
			}
			s.mustJSON("GET", "/api/v1/organization/acme/robots/deploy", nil, &robot)
			if robot.Name != "acme+deploy" || robot.Description != "Deploys" || shown == "" || shown != robot.Token {
				t.Fatalf("robot through the API %+v, token shown %q", robot, shown)
			}
			tb.run(chromedp.Click(`//dialog//button[text()="Done"]`, chromedp.BySearch))
			tb.waitText(".results tbody", "acme+deploy")

			tb.run(chromedp.Click(`button[aria-label="Regenerate token of acme+deploy"]`, chromedp.ByQuery))
			tb.waitFor(`!!document.querySelector("dialog") && document.querySelector("dialog").textContent.includes("stops working")`, "the regenerate confirmation")
			tb.axe(scheme + " regenerate robot token confirmation")
			tb.run(chromedp.Click(`//dialog//button[text()="Regenerate"]`, chromedp.BySearch))
			tb.waitFor(`!!document.querySelector("dialog textarea")`, "the regenerated token")
			var fresh string
			tb.eval(`document.querySelector("dialog textarea").value`, &fresh)
			s.mustJSON("GET", "/api/v1/organization/acme/robots/deploy", nil, &robot)
			if fresh == "" || fresh == shown || fresh != robot.Token {
				t.Fatalf("regenerated token shown %q, the API's %q, the old %q", fresh, robot.Token, shown)
			}
			for secret, want := range map[string]int{shown: 401, fresh: 200} {
				if got := s.registryLogin("acme+deploy", secret); got != want {
					t.Errorf("/v2/auth with the %s token: %d, want %d", map[bool]string{true: "old", false: "new"}[secret == shown], got, want)
				}
			}
			tb.run(chromedp.Click(`//dialog//button[text()="Done"]`, chromedp.BySearch))
			tb.run(chromedp.Click(`button[aria-label="Delete acme+deploy"]`, chromedp.ByQuery),
				chromedp.Click(`//dialog//button[text()="Delete"]`, chromedp.BySearch))
			tb.waitFor(`!document.querySelector(".results tbody").textContent.includes("acme+deploy")`, "the robot to go")
			if status, _ := s.call("GET", "/api/v1/organization/acme/robots/deploy", nil); status != 404 {
				t.Errorf("the deleted robot through the API: %d", status)
			}
		}
	})
}

// TestOrganizationDefaults: default permissions added on their tab (for
// anyone's and for alice's new repositories) are the API's prototypes, and
// one deleted there is gone; the dialog passes axe-core in both themes.
func TestOrganizationDefaults(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		s.mustJSON("PUT", "/api/v1/organization/acme/team/readers", map[string]any{"role": "member"}, nil)
		type proto struct {
			ID             string `json:"id"`
			Role           string `json:"role"`
			ActivatingUser *struct {
				Name string `json:"name"`
			} `json:"activating_user"`
			Delegate struct {
				Name string `json:"name"`
				Kind string `json:"kind"`
			} `json:"delegate"`
		}
		prototypes := func() []proto {
			var out struct {
				Prototypes []proto `json:"prototypes"`
			}
			s.mustJSON("GET", "/api/v1/organization/acme/prototypes", nil, &out)
			return out.Prototypes
		}
		for _, scheme := range []string{"light", "dark"} {
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/organization/acme?tab=defaults")
			tb.settle(".results table")
			tb.axe(scheme + " default permissions")
			tb.run(chromedp.Click(`//main//button[text()="Add default permission"]`, chromedp.BySearch))
			tb.waitFor(`!!document.querySelector("dialog select")`, "the dialog")
			tb.axe(scheme + " add default permission dialog")
			if scheme == "light" {
				tb.run(chromedp.Click(`//dialog//button[text()="Cancel"]`, chromedp.BySearch))
				continue
			}
			tb.run(chromedp.SetValue(`//dialog//label[text()="Grant to"]/following-sibling::select`, "team", chromedp.BySearch),
				chromedp.SendKeys(`//dialog//label[text()="Name"]/following-sibling::input`, "readers", chromedp.BySearch),
				chromedp.SetValue(`//dialog//label[text()="Permission"]/following-sibling::select`, "write", chromedp.BySearch),
				chromedp.Click(`//dialog//button[text()="Add"]`, chromedp.BySearch))
			tb.waitText(".results tbody", "readers (team)")
			tb.run(chromedp.Click(`//main//button[text()="Add default permission"]`, chromedp.BySearch),
				chromedp.SendKeys(`//dialog//label[text()="Repositories created by"]/following-sibling::input`, "alice", chromedp.BySearch),
				chromedp.SendKeys(`//dialog//label[text()="Name"]/following-sibling::input`, "auditor", chromedp.BySearch),
				chromedp.Click(`//dialog//button[text()="Add"]`, chromedp.BySearch))
			tb.waitText(".results tbody", "auditor (user)")
			ps := prototypes()
			if len(ps) != 2 {
				t.Fatalf("prototypes through the API: %+v", ps)
			}
			for _, p := range ps {
				switch p.Delegate.Name {
				case "readers":
					if p.Delegate.Kind != "team" || p.Role != "write" || p.ActivatingUser != nil {
						t.Errorf("readers' prototype: %+v", p)
					}
				case "auditor":
					if p.Role != "read" || p.ActivatingUser == nil || p.ActivatingUser.Name != "alice" {
						t.Errorf("auditor's prototype: %+v", p)
					}
				default:
					t.Errorf("unexpected prototype %+v", p)
				}
			}
			tb.run(chromedp.Click(`button[aria-label="Delete default permission for readers"]`, chromedp.ByQuery),
				chromedp.Click(`//dialog//button[text()="Delete"]`, chromedp.BySearch))
			tb.waitFor(`!document.querySelector(".results tbody").textContent.includes("readers")`, "readers' default to go")
			if ps := prototypes(); len(ps) != 1 || ps[0].Delegate.Name != "auditor" {
				t.Errorf("prototypes through the API after the delete: %+v", ps)
			}
		}
	})
}

// TestOrganizationApplications: an OAuth application created on its tab
// exists through the API with the secret the console showed, and deleted
// there it is gone; the dialog passes axe-core in both themes.
func TestOrganizationApplications(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		type app struct {
			Name         string `json:"name"`
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			RedirectURI  string `json:"redirect_uri"`
		}
		apps := func() []app {
			var out struct {
				Applications []app `json:"applications"`
			}
			s.mustJSON("GET", "/api/v1/organization/acme/applications", nil, &out)
			return out.Applications
		}
		for _, scheme := range []string{"light", "dark"} {
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/organization/acme?tab=applications")
			tb.settle(".results table")
			tb.run(chromedp.Click(`//main//button[text()="Create application"]`, chromedp.BySearch))
			tb.waitFor(`!!document.querySelector("dialog textarea")`, "the dialog")
			tb.axe(scheme + " create application dialog")
			if scheme == "light" {
				tb.run(chromedp.Click(`//dialog//button[text()="Cancel"]`, chromedp.BySearch))
				continue
			}
			tb.run(chromedp.SendKeys(`//dialog//label[text()="Application name"]/following-sibling::input`, "dashboard", chromedp.BySearch),
				chromedp.SendKeys(`//dialog//label[text()="Redirect URL"]/following-sibling::input`, "https://dash.example.com/cb", chromedp.BySearch),
				chromedp.Click(`//dialog//button[text()="Create"]`, chromedp.BySearch))
			tb.waitFor(`!!document.querySelector("dialog textarea[readonly]")`, "the client secret")
			var shown string
			tb.eval(`document.querySelector("dialog textarea[readonly]").value`, &shown)
			list := apps()
			if len(list) != 1 || list[0].Name != "dashboard" || list[0].RedirectURI != "https://dash.example.com/cb" {
				t.Fatalf("applications through the API: %+v", list)
			}
			var full app
			s.mustJSON("GET", "/api/v1/organization/acme/applications/"+list[0].ClientID, nil, &full)
			if shown == "" || shown != full.ClientSecret {
				t.Errorf("secret shown %q, the API's %q", shown, full.ClientSecret)
			}
			tb.run(chromedp.Click(`//dialog//button[text()="Done"]`, chromedp.BySearch))
			tb.waitText(".results tbody", list[0].ClientID)
			tb.run(chromedp.Click(`button[aria-label="Delete dashboard"]`, chromedp.ByQuery),
				chromedp.Click(`//dialog//button[text()="Delete"]`, chromedp.BySearch))
			tb.waitFor(`!document.querySelector(".results tbody").textContent.includes("dashboard")`, "the application to go")
			if list := apps(); len(list) != 0 {
				t.Errorf("applications through the API after the delete: %+v", list)
			}
		}
	})
}

// TestOrganizationSettings: the e-mail saved on the settings tab is the
// API's, and deleting the organization there with
// its name typed removes it.
func TestOrganizationSettings(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		tb := s.open("dark", phone)
		tb.signIn("admin", adminPassword)
		tb.visit("/organization/acme?tab=settings")
		tb.settle("main form")
		tb.axe("organization settings")
		tb.run(chromedp.SetValue(`//main//label[text()="E-mail"]/following-sibling::input`, "ops@acme.example", chromedp.BySearch),
			chromedp.Click(`//main//button[text()="Save"]`, chromedp.BySearch))
		tb.waitText(".toasts", "Saved.")
		var o struct {
			Email string `json:"email"`
		}
		s.mustJSON("GET", "/api/v1/organization/acme", nil, &o)
		if o.Email != "ops@acme.example" {
			t.Errorf("acme through the API after saving: %+v", o)
		}
		tb.run(chromedp.Click(`//main//button[text()="Delete acme"]`, chromedp.BySearch),
			chromedp.SendKeys(`//dialog//label[starts-with(text(), "Type")]/following-sibling::input`, "acme", chromedp.BySearch))
		tb.axe("delete organization dialog")
		tb.run(chromedp.Click(`//dialog//button[text()="Delete"]`, chromedp.BySearch))
		tb.waitFor(`location.pathname !== "/organization/acme"`, "leaving the deleted organization")
		if status, _ := s.call("GET", "/api/v1/organization/acme", nil); status != 404 {
			t.Errorf("the deleted organization through the API: %d", status)
		}
	})
}
