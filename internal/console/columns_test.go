package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestHideColumns: a column hidden with the Columns disclosure of a list
// is gone from its table and stays hidden on the next visit (remembered in
// the browser, as the page size is), on another list too, until shown
// again; the first column cannot be hidden; the open disclosure passes
// axe-core in both themes.
func TestHideColumns(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		headers := func(tb *tab) string { return tb.text(".results thead") }
		for _, scheme := range []string{"light", "dark"} {
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/superuser/users")
			tb.settle(".results table")
			tb.run(chromedp.Click(`//main//summary[text()="Columns"]`, chromedp.BySearch))
			tb.waitFor(`document.querySelector("details.columns").open`, "the column chooser")
			tb.axe(scheme + " users with the column chooser open")
			if got := tb.text("details.columns fieldset"); !contains([]byte(got), "E-mail") || contains([]byte(got), "Username") {
				t.Errorf("column chooser offers %q; the first column must not be among them", got)
			}
			tb.run(chromedp.Click(`//details//label[text()="E-mail"]`, chromedp.BySearch))
			tb.waitFor(`!document.querySelector(".results thead").textContent.includes("E-mail")`, "the e-mail column to go")
			tb.visit("/superuser/organizations")
			tb.settle(".results table")
			tb.visit("/superuser/users")
			tb.settle(".results table")
			if h := headers(tb); contains([]byte(h), "E-mail") || !contains([]byte(h), "Username") {
				t.Errorf("headers on the next visit: %q", h)
			}
			tb.run(chromedp.Click(`//main//summary[text()="Columns"]`, chromedp.BySearch),
				chromedp.Click(`//details//label[text()="E-mail"]`, chromedp.BySearch))
			tb.waitText(".results thead", "E-mail")
		}
	})
}
