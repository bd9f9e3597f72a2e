package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestMarkupShowsAsText: markup in every user-controlled string the pages
// show (an organization's e-mail, log metadata, an error message echoing
// input; usernames, organization and service names and service key names
// refuse markup at the API) is shown as text; no element
// is made from it and no script runs (the harness fails the test on a
// JavaScript dialog).
func TestMarkupShowsAsText(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		orgEmail := `x<img/src=x/onerror=alert(3)>@example.com`
		s.mustJSON("POST", "/api/v1/organization/", map[string]any{"name": "markup", "email": orgEmail}, nil)
		tb := s.open("light", desktop)
		tb.signIn("admin", adminPassword)
		noMarkup := func(where string) {
			t.Helper()
			if n := tb.count(`main img:not(.brand img), main script, dialog img, dialog script`); n != 0 {
				t.Errorf("%s: %d elements made from user input", where, n)
			}
		}

		tb.visit("/superuser/organizations?q=markup")
		tb.settle(".results table")
		tb.waitText(".results tbody", orgEmail)
		noMarkup("organizations")

		tb.visit("/superuser/logs?kind=login_failure")
		tb.settle(".results table")
		tb.waitText(".results tbody", `<img src=x onerror=\"alert(1)\">`)
		noMarkup("logs")

		// The API refuses the e-mail and its message quotes it: as text.
		tb.visit("/superuser/users")
		tb.settle(".results table")
		tb.run(chromedp.Click(`//button[text()="Create user"]`, chromedp.BySearch),
			chromedp.SendKeys(`//dialog//label[text()="Username"]/following-sibling::input`, "eve", chromedp.BySearch),
			chromedp.SetValue(`//dialog//label[text()="E-mail"]/following-sibling::input`, `"<img src=x onerror=alert(4)>"@example.com`, chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Create"]`, chromedp.BySearch))
		tb.waitText("dialog .error", `Invalid email address: "<img src=x onerror=alert(4)>"@example.com`)
		noMarkup("error message")
	})
}
