package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestOrganizationPage: an organization's repositories (leading to their
// tags), teams with members and robots with their tokens, as the API has
// them, each tab in the URL.
func TestOrganizationPage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		s.pushImage("admin", adminPassword, "acme/app", "v1", "a")
		var robot struct {
			Token string `json:"token"`
		}
		s.mustJSON("PUT", "/api/v1/organization/acme/robots/ci", map[string]any{"description": "CI " + xss}, &robot)
		tb := s.open("dark", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/superuser/organizations?q=acme")
		tb.settle(".results table")
		tb.run(chromedp.Click(`//main//a[text()="acme"]`, chromedp.BySearch))
		tb.waitText("main h1", "acme")
		tb.settle(".results table")
		tb.axe("organization repositories")
		tb.run(chromedp.Click(`//main//a[text()="app"]`, chromedp.BySearch))
		tb.waitText("main h1", "acme/app")
		tb.settle(".results table")
		tb.waitText(".results tbody", "v1")

		tb.visit("/organization/acme?tab=teams")
		tb.settle(".results table")
		tb.waitText(".results tbody", "owners")
		tb.axe("organization teams")
		tb.run(chromedp.Click(`button[aria-label="Members of owners"]`, chromedp.ByQuery))
		tb.waitText("dialog ul", "admin")
		tb.run(chromedp.Click(`//dialog//button[text()="Close"]`, chromedp.BySearch))

		tb.visit("/organization/acme?tab=robots")
		tb.settle(".results table")
		tb.waitText(".results tbody", "CI "+xss)
		if n := tb.count("main img:not(.brand img), main script"); n != 0 {
			t.Errorf("%d elements made from a robot's description", n)
		}
		tb.axe("organization robots")
		tb.run(chromedp.Click(`button[aria-label="Show token of acme+ci"]`, chromedp.ByQuery))
		tb.waitFor(`!!document.querySelector("dialog textarea")`, "the token")
		var token string
		tb.eval(`document.querySelector("dialog textarea").value`, &token)
		if token == "" || token != robot.Token {
			t.Errorf("token shown %q, the API's %q", token, robot.Token)
		}
		tb.run(chromedp.Click(`//dialog//button[text()="Done"]`, chromedp.BySearch))

		s.mustJSON("POST", "/api/v1/superuser/organization/acme/quota", map[string]any{"limit": "1 GiB"}, nil)
		tb.visit("/organization/acme?tab=quota")
		tb.waitText(".results .usage", "of 1.00 GiB")
		tb.axe("organization quota")

		tb.visit("/organization/acme?tab=logs")
		tb.settle(".results table")
		tb.waitText(".results tbody", "create_robot")
		tb.axe("organization logs")
	})
}

// TestRepositoryPermissions: a grant made on the permissions tab lets the
// user push, a role lowered there stops it, and the API agrees each time.
func TestRepositoryPermissions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		s.pushImage("admin", adminPassword, "acme/app", "v1", "a")
		tb := s.open("light", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/repository/acme/app/permissions")
		tb.waitFor(`!!document.querySelector("form[aria-label='Grant a user or robot']")`, "the permissions")
		tb.axe("repository permissions")
		tb.run(chromedp.SendKeys(`//form[@aria-label="Grant a user or robot"]//input`, "alice", chromedp.BySearch),
			chromedp.SetValue(`//form[@aria-label="Grant a user or robot"]//select`, "write", chromedp.BySearch),
			chromedp.Click(`//form[@aria-label="Grant a user or robot"]//button[text()="Grant"]`, chromedp.BySearch))
		tb.waitFor(`!!document.querySelector('select[aria-label="Role of alice"]')`, "alice's grant")
		var p struct {
			Role string `json:"role"`
		}
		s.mustJSON("GET", "/api/v1/repository/acme/app/permissions/user/alice", nil, &p)
		if p.Role != "write" {
			t.Fatalf("alice's role through the API: %q", p.Role)
		}
		if status := s.pushBlob("alice", "alice-pass-1", "acme/app", 100); status != 201 {
			t.Errorf("alice's push with write granted in the console: %d", status)
		}
		tb.run(chromedp.SetValue(`select[aria-label="Role of alice"]`, "read", chromedp.ByQuery))
		tb.eval(`document.querySelector('select[aria-label="Role of alice"]').dispatchEvent(new Event("change")); true`, new(bool))
		tb.waitText(".toasts", "alice may read now.")
		s.mustJSON("GET", "/api/v1/repository/acme/app/permissions/user/alice", nil, &p)
		if p.Role != "read" {
			t.Errorf("alice's role through the API after lowering it: %q", p.Role)
		}
	})
}
