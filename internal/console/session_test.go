package console_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestSession: a wrong password is refused with the server's message; a
// call that needs a fresh login asks for the password and then goes on;
// the theme chosen survives a reload; signing out ends the session.
func TestSession(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSite(t, store, true, func(c *config.Config) { c.FreshLoginTimeout = time.Second })
		tb := s.open("light", desktop)
		tb.visit("/superuser/users")
		tb.waitText("main h1", "Sign in")
		tb.run(chromedp.SendKeys(`input[name=username]`, "admin", chromedp.ByQuery),
			chromedp.SendKeys(`input[name=password]`, "not-the-password", chromedp.ByQuery),
			chromedp.Click(`form button[type=submit]`, chromedp.ByQuery))
		tb.waitText(".form-error", "Invalid username or password")
		tb.run(chromedp.SetValue(`input[name=password]`, adminPassword, chromedp.ByQuery),
			chromedp.Click(`form button[type=submit]`, chromedp.ByQuery))
		// Back to the page that asked for a sign-in.
		tb.waitText("main h1", "Users")
		tb.settle(".results table")

		time.Sleep(1100 * time.Millisecond) // the login is no longer fresh
		tb.run(chromedp.Navigate(s.url + "/superuser/organizations"))
		tb.waitText("dialog h2", "Confirm your password")
		tb.axe("fresh login")
		tb.run(chromedp.SendKeys(`dialog input[type=password]`, adminPassword, chromedp.ByQuery),
			chromedp.Click(`//dialog//button[text()="Verify"]`, chromedp.BySearch))
		tb.settle(".results table")
		tb.waitText(".results caption", "Organizations (0)")

		tb.run(chromedp.SetValue(`//header//label[text()="Theme"]/following-sibling::select`, "dark", chromedp.BySearch))
		tb.eval(`document.querySelector("header select").dispatchEvent(new Event("change")); true`, new(bool))
		tb.visit("/account")
		var theme string
		tb.eval(`document.documentElement.dataset.theme || ""`, &theme)
		if theme != "dark" {
			t.Errorf("theme after a reload: %q, want dark", theme)
		}
		tb.axe("dark chosen over a light system")

		tb.run(chromedp.Click(`//header//button[text()="Sign out"]`, chromedp.BySearch))
		tb.waitText("main h1", "Sign in")
		tb.visit("/superuser/users")
		tb.waitText("main h1", "Sign in")
	})
}
