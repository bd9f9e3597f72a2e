package console_test

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// Editing what an organization already has: a default permission's role,
// an OAuth application's fields and client secret, the organization's time
// machine, and a team's granted repositories. Each change is checked
// through the API; each dialog passes axe-core in both themes.

// TestEditDefaultPermission: the permission changed in the edit dialog is
// the prototype's role through the API.
func TestEditDefaultPermission(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		s.mustJSON("PUT", "/api/v1/organization/acme/team/readers", map[string]any{"role": "member"}, nil)
		s.mustJSON("POST", "/api/v1/organization/acme/prototypes", map[string]any{"role": "read",
			"delegate": map[string]any{"name": "readers", "kind": "team"}}, nil)
		for _, scheme := range []string{"light", "dark"} {
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/organization/acme?tab=defaults")
			tb.settle(".results table")
			tb.run(chromedp.Click(`button[aria-label="Edit default permission for readers"]`, chromedp.ByQuery))
			tb.waitFor(`!!document.querySelector("dialog select")`, "the edit dialog")
			tb.axe(scheme + " edit default permission dialog")
			role := map[string]string{"light": "write", "dark": "admin"}[scheme]
			tb.run(chromedp.SetValue(`//dialog//label[text()="Permission"]/following-sibling::select`, role, chromedp.BySearch),
				chromedp.Click(`//dialog//button[text()="Save"]`, chromedp.BySearch))
			tb.waitFor(`!document.querySelector("dialog") && document.querySelector(".results tbody").textContent.includes(`+jsString(role)+`)`, "the new role")
			var out struct {
				Prototypes []struct {
					Role string `json:"role"`
				} `json:"prototypes"`
			}
			s.mustJSON("GET", "/api/v1/organization/acme/prototypes", nil, &out)
			if len(out.Prototypes) != 1 || out.Prototypes[0].Role != role {
				t.Errorf("prototypes through the API after editing to %s: %+v", role, out.Prototypes)
			}
		}
	})
}

// TestEditApplication: an application whose name and description try
// markup shows them as text; edited in the console its fields are the
// API's, and its reset secret is the API's new one, not the old.
func TestEditApplication(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		type app struct {
			Name         string `json:"name"`
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			RedirectURI  string `json:"redirect_uri"`
			Description  string `json:"description"`
		}
		var made app
		s.mustJSON("POST", "/api/v1/organization/acme/applications", map[string]any{"name": "dash " + xss,
			"redirect_uri": "https://dash.example.com/cb", "description": "Board " + xss}, &made)
		path := "/api/v1/organization/acme/applications/" + made.ClientID
		for _, scheme := range []string{"light", "dark"} {
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/organization/acme?tab=applications")
			tb.settle(".results table")
			if scheme == "light" {
				tb.waitText(".results tbody", "Board "+xss)
				if n := tb.count("main img:not(.brand img), main script"); n != 0 {
					t.Errorf("%d elements made from an application's name or description", n)
				}
				tb.run(chromedp.Click(`//main//button[starts-with(@aria-label, "Edit dash ")]`, chromedp.BySearch))
				tb.waitFor(`!!document.querySelector("dialog textarea")`, "the edit dialog")
				tb.axe(scheme + " edit application dialog")
				tb.run(chromedp.SetValue(`//dialog//label[text()="Application name"]/following-sibling::input`, "dashboard", chromedp.BySearch),
					chromedp.SetValue(`//dialog//label[text()="Redirect URL"]/following-sibling::input`, "https://board.example.com/cb", chromedp.BySearch),
					chromedp.SetValue(`dialog textarea`, "Ops board", chromedp.ByQuery),
					chromedp.Click(`//dialog//button[text()="Save"]`, chromedp.BySearch))
				tb.waitText(".results tbody", "Ops board")
				var got app
				s.mustJSON("GET", path, nil, &got)
				if got.Name != "dashboard" || got.RedirectURI != "https://board.example.com/cb" || got.Description != "Ops board" {
					t.Errorf("application through the API after editing: %+v", got)
				}
				continue
			}
			var before app
			s.mustJSON("GET", path, nil, &before)
			tb.run(chromedp.Click(`button[aria-label="Reset secret of dashboard"]`, chromedp.ByQuery))
			tb.waitFor(`!!document.querySelector("dialog") && document.querySelector("dialog").textContent.includes("stops working")`, "the reset confirmation")
			tb.axe(scheme + " reset client secret confirmation")
			tb.run(chromedp.Click(`//dialog//button[text()="Reset"]`, chromedp.BySearch))
			tb.waitFor(`!!document.querySelector("dialog textarea[readonly]")`, "the new client secret")
			var shown string
			tb.eval(`document.querySelector("dialog textarea[readonly]").value`, &shown)
			var after app
			s.mustJSON("GET", path, nil, &after)
			if shown == "" || shown != after.ClientSecret || shown == before.ClientSecret {
				t.Errorf("secret shown %q, the API's %q, the old %q", shown, after.ClientSecret, before.ClientSecret)
			}
			tb.run(chromedp.Click(`//dialog//button[text()="Done"]`, chromedp.BySearch))
		}
	})
}

// TestOrganizationTimeMachine: the time machine chosen on the settings tab
// (from the configured TAG_EXPIRATION_OPTIONS) is the organization's
// tag_expiration_s through the API.
func TestOrganizationTimeMachine(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		for _, step := range []struct {
			scheme  string
			seconds int64
		}{{"light", 28 * 86400}, {"dark", 0}} {
			scheme, seconds := step.scheme, step.seconds
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/organization/acme?tab=settings")
			tb.settle("main form select")
			tb.axe(scheme + " organization settings with the time machine")
			tb.run(chromedp.SetValue(`//main//label[text()="Time machine"]/following-sibling::select`, strconv.FormatInt(seconds, 10), chromedp.BySearch),
				chromedp.Click(`//main//button[text()="Save"]`, chromedp.BySearch))
			tb.waitText(".toasts", "Saved.")
			var o struct {
				TagExpirationS *int64 `json:"tag_expiration_s"`
			}
			s.mustJSON("GET", "/api/v1/organization/acme", nil, &o)
			if o.TagExpirationS == nil || *o.TagExpirationS != seconds {
				t.Errorf("tag_expiration_s through the API after choosing %d: %v", seconds, o.TagExpirationS)
			}
		}
	})
}

// TestTeamPermissions: a team's permissions dialog lists the repositories
// the API says it is granted, with the role; a repository's link there
// leads to it and closes the dialog.
func TestTeamPermissions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		s.mustJSON("PUT", "/api/v1/organization/acme/team/readers", map[string]any{"role": "member"}, nil)
		for _, repo := range []string{"app", "web"} {
			s.mustJSON("POST", "/api/v1/repository", map[string]any{"namespace": "acme", "repository": repo,
				"visibility": "private", "description": ""}, nil)
		}
		s.mustJSON("PUT", "/api/v1/repository/acme/app/permissions/team/readers", map[string]any{"role": "write"}, nil)
		for _, scheme := range []string{"light", "dark"} {
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/organization/acme?tab=teams")
			tb.settle(".results table")
			tb.run(chromedp.Click(`button[aria-label="Permissions of readers"]`, chromedp.ByQuery))
			tb.waitText("dialog tbody", "write")
			tb.axe(scheme + " team permissions dialog")
			if got := tb.text("dialog tbody"); !contains([]byte(got), "app") || contains([]byte(got), "web") {
				t.Errorf("team readers' permissions shown: %q", got)
			}
			if scheme == "dark" {
				tb.run(chromedp.Click(`//dialog//a[text()="app"]`, chromedp.BySearch))
				tb.waitFor(`location.pathname === "/repository/acme/app" && !document.querySelector("dialog")`, "the repository, the dialog closed")
				continue
			}
			tb.run(chromedp.Click(`//dialog//button[text()="Close"]`, chromedp.BySearch))
		}
	})
}
