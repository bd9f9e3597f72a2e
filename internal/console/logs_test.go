package console_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// query returns the tab's current URL query.
func (tb *tab) query() url.Values {
	tb.t.Helper()
	var search string
	tb.eval(`location.search`, &search)
	q, _ := url.ParseQuery(strings.TrimPrefix(search, "?"))
	return q
}

// TestUsageLogs: the chart counts what the table lists; choosing a kind or
// a bar filters the table through the URL; the download link carries the
// same filters; markup in log metadata shows as text.
func TestUsageLogs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		tb := s.open("light", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/superuser/logs")
		tb.settle(".results table")
		tb.waitText(".chart figcaption", "entries, by day")
		today := time.Now().UTC().Format(time.DateOnly)
		tb.visit("/superuser/logs?starttime=" + today + "&endtime=" + today)
		tb.settle(".results table")
		tb.waitText(".chart figcaption", "entries, by hour")

		// A kind chip filters by that kind.
		tb.run(chromedp.Click(`//ul[@class="kinds"]//button[starts-with(text(), "user_create")]`, chromedp.BySearch))
		tb.waitFor(`location.search.includes("kind=user_create")`, "kind in the URL")
		tb.settle(".results table")
		var kinds []string
		tb.eval(`[...document.querySelectorAll(".results tbody tr td:nth-child(2)")].map(td => td.textContent)`, &kinds)
		if len(kinds) != 3 { // admin, alice, auditor
			t.Errorf("user_create rows: %q", kinds)
		}
		for _, k := range kinds {
			if k != "user_create" {
				t.Errorf("row of kind %q under kind=user_create", k)
			}
		}
		var href string
		tb.eval(`document.querySelector(".downloads a").getAttribute("href")`, &href)
		if !strings.HasPrefix(href, "/export/logs?") || !strings.Contains(href, "kind=user_create") {
			t.Errorf("download link %q does not carry the filter", href)
		}

		// A bar narrows the window to its hour.
		tb.run(chromedp.Click(`//div[@class="bars"]/button[.//span[@class="bar-fill" and not(contains(@style, "height: 0%"))]]`, chromedp.BySearch))
		tb.waitFor(`location.search.includes("starttime=")`, "the bar's window in the URL")
		q := tb.query()
		if q.Get("kind") != "user_create" || !strings.HasSuffix(q.Get("starttime"), ":00:00Z") || !strings.HasSuffix(q.Get("endtime"), ":00:00Z") {
			t.Errorf("after choosing a bar: %v", q)
		}
		tb.settle(".results table")
		// The chart counts what the table lists (entries made within one
		// test may straddle an hour: compare, do not assume).
		var rows int
		var caption string
		tb.eval(`document.querySelectorAll(".results tbody tr").length`, &rows)
		tb.eval(`document.querySelector(".chart figcaption").textContent`, &caption)
		if rows == 0 || !strings.HasPrefix(caption, strconv.Itoa(rows)+" entries") {
			t.Errorf("the bar's window lists %d rows; the chart says %q", rows, caption)
		}

		// The failed login's name is markup; it is shown as text.
		tb.visit("/superuser/logs?kind=login_failure")
		tb.settle(".results table")
		tb.waitText(".results tbody", `<img src=x onerror=\"alert(1)\">`)
		if n := tb.count(`.results img, .results script`); n != 0 {
			t.Errorf("%d elements made from log metadata", n)
		}
		tb.axe("logs filtered")
	})
}

// TestReadOnlySuperuser: a global read-only superuser sees every superuser
// page with its write controls disabled.
func TestReadOnlySuperuser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		tb := s.open("light", desktop)
		tb.signIn("auditor", "auditor-pass-1")
		tb.waitText("header .who", "(read-only)")
		for _, p := range superuserPages {
			tb.visit(p.path)
			tb.settle(p.ready)
		}
		checks := []struct{ path, enabledWrites string }{
			{"/superuser/users", `//main//button[(text()="Create user" or text()="Edit" or text()="Delete" or text()="Take ownership") and not(@disabled)]`},
			{"/superuser/organizations", `//main//button[(text()="Edit" or text()="Delete" or text()="Take ownership") and not(@disabled)]`},
			{"/superuser/keys", `//main//button[(text()="Create key" or text()="Edit" or text()="Delete" or text()="Approve") and not(@disabled)]`},
			{"/superuser/storage", `//main//button[text()="Recompute" and not(@disabled)]`},
		}
		for _, c := range checks {
			tb.visit(c.path)
			tb.settle(".results table")
			var n int
			tb.eval(`document.evaluate(`+jsString(`count(`+c.enabledWrites+`)`)+`, document, null, XPathResult.NUMBER_TYPE, null).numberValue`, &n)
			if n != 0 {
				t.Errorf("%s: %d write controls enabled for a read-only superuser", c.path, n)
			}
		}
		// Reads of the quota are open to it; the dialog's controls are not.
		tb.visit("/superuser/users?q=alice")
		tb.settle(".results table")
		tb.run(chromedp.Click(`button[aria-label="Quota of alice"]`, chromedp.ByQuery))
		tb.waitFor(`!!document.querySelector("dialog[open]")`, "the quota dialog")
		var disabled bool
		tb.eval(`[...document.querySelectorAll("dialog input, dialog button.primary")].every(e => e.disabled)`, &disabled)
		if !disabled {
			t.Error("the quota dialog has enabled controls for a read-only superuser")
		}
	})
}
