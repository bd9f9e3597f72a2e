package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestFirstUserSetup: on an empty instance every page leads to set-up; the
// user made there is a superuser, signed in, and exists through the API.
func TestFirstUserSetup(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSite(t, store, false, nil)
		tb := s.open("light", desktop)
		tb.visit("/superuser/users")
		tb.waitText("main h1", "Set up wharf")
		tb.axe("set-up")
		tb.run(chromedp.SendKeys(`//label[text()="Username"]/following-sibling::input`, "root1", chromedp.BySearch),
			chromedp.SendKeys(`input[type=password]`, "rootpass123", chromedp.ByQuery),
			chromedp.Click(`form button[type=submit]`, chromedp.ByQuery))
		tb.waitText("main h1", "Users")
		tb.waitText("header .who", "root1")
		status, body := s.call("GET", "/api/v1/console/session", nil)
		if status != 200 || !contains(body, `"initialized":true`) {
			t.Fatalf("session after set-up: %d %s", status, body)
		}
	})
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
