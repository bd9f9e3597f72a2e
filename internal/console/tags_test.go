package console_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// activeTags returns repo's active tags through the API, name → digest.
func (s *site) activeTags(repo string) map[string]string {
	s.t.Helper()
	var out struct {
		Tags []struct {
			Name   string `json:"name"`
			Digest string `json:"manifest_digest"`
		} `json:"tags"`
	}
	s.mustJSON("GET", "/api/v1/repository/"+repo+"/tag/?onlyActiveTags=true&limit=100", nil, &out)
	m := map[string]string{}
	for _, t := range out.Tags {
		m[t.Name] = t.Digest
	}
	return m
}

// TestRepositoryTags: on a repository's tags page, a tag added, tags
// deleted in bulk and a tag restored from history are what the API then
// lists.
func TestRepositoryTags(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		v1 := s.pushImage("admin", adminPassword, "admin/app", "v1", "a")
		s.pushImage("admin", adminPassword, "admin/app", "v2", "b")
		s.pushImage("admin", adminPassword, "admin/app", "v3", "c")
		tb := s.open("light", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/repository/admin/app")
		tb.settle(".results table")
		tb.waitText(".results tbody", "v3")
		tb.axe("tags")

		tb.run(chromedp.Click(`button[aria-label="Add tag to v1's manifest"]`, chromedp.ByQuery),
			chromedp.SendKeys(`//dialog//label[text()="Tag name"]/following-sibling::input`, "stable", chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Add"]`, chromedp.BySearch))
		tb.waitText(".results tbody", "stable")
		if got := s.activeTags("admin/app")["stable"]; got != v1 {
			t.Errorf("stable through the API points at %q, want %s", got, v1)
		}

		tb.run(chromedp.Click(`input[aria-label="Choose v2"]`, chromedp.ByQuery),
			chromedp.Click(`input[aria-label="Choose v3"]`, chromedp.ByQuery))
		tb.waitText(".bulk", "2 tags chosen")
		tb.run(chromedp.Click(`//button[text()="Delete chosen"]`, chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Delete 2"]`, chromedp.BySearch))
		tb.waitFor(`!document.querySelector(".results tbody").textContent.includes("v3")`, "v3 to go")
		active := s.activeTags("admin/app")
		if _, ok := active["v2"]; ok || len(active) != 2 {
			t.Errorf("active tags through the API after the bulk delete: %v", active)
		}

		tb.visit("/repository/admin/app?history=1&q=v2")
		tb.settle(".results table")
		tb.run(chromedp.Click(`//button[starts-with(@aria-label, "Restore v2")]`, chromedp.BySearch))
		tb.waitFor(`!!document.querySelector(".toast")`, "the restore's notice")
		if _, ok := s.activeTags("admin/app")["v2"]; !ok {
			t.Error("v2 is not active through the API after restoring it in the console")
		}
		if q := tb.query(); q.Get("history") != "1" || q.Get("q") != "v2" {
			t.Errorf("history and search not in the URL: %v", q)
		}
		var pull string
		tb.eval(`document.getElementById("pull-cmd").value`, &pull)
		if !strings.HasSuffix(pull, "/admin/app") {
			t.Errorf("pull command %q", pull)
		}
	})
}

// TestRepositorySettings: the build-status badge shows with its token;
// visibility, description and state saved on the settings tab are the API's; the logs tab lists the repository's entries; deleting
// with the name typed removes it.
func TestRepositorySettings(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		s.pushImage("admin", adminPassword, "admin/site", "v1", "a")
		tb := s.open("light", phone)
		tb.signIn("admin", adminPassword)
		tb.visit("/repository/admin/site/settings")
		tb.waitFor(`!!document.querySelector("form[aria-label='Visibility and description']")`, "the settings")
		tb.axe("repository settings")
		// The badge of the private repository: shown through its token.
		var view struct {
			StatusToken string `json:"status_token"`
		}
		s.mustJSON("GET", "/api/v1/repository/admin/site", nil, &view)
		tb.waitFor(`(() => { const i = document.querySelector("section[aria-label='Build status badge'] img");
			return !!i && i.complete && i.naturalWidth > 0; })()`, "the badge image")
		var markdown string
		tb.run(chromedp.Value(`section[aria-label='Build status badge'] input`, &markdown, chromedp.ByQuery))
		if view.StatusToken == "" || !strings.HasSuffix(markdown, "/repository/admin/site/status?token="+view.StatusToken+")") {
			t.Errorf("badge Markdown %q; want the badge URL with status token %q", markdown, view.StatusToken)
		}
		tb.run(chromedp.Click(`//label[starts-with(text(), "Public")]/preceding-sibling::input`, chromedp.BySearch),
			chromedp.SetValue(`main textarea`, "The web site "+xss, chromedp.ByQuery),
			chromedp.Click(`//main//button[text()="Save"]`, chromedp.BySearch))
		tb.waitText(".toasts", "Saved.")
		var repo struct {
			IsPublic    bool   `json:"is_public"`
			Description string `json:"description"`
		}
		s.mustJSON("GET", "/api/v1/repository/admin/site", nil, &repo)
		if !repo.IsPublic || repo.Description != "The web site "+xss {
			t.Errorf("through the API after saving: %+v", repo)
		}
		tb.run(chromedp.SetValue(`//main//label[text()="State"]/following-sibling::select`, "READ_ONLY", chromedp.BySearch),
			chromedp.Click(`//main//button[text()="Save state"]`, chromedp.BySearch))
		tb.waitText(".toasts", "State: READ_ONLY.")
		var state struct {
			State string `json:"state"`
		}
		s.mustJSON("GET", "/api/v1/repository/admin/site", nil, &state)
		if state.State != "READ_ONLY" {
			t.Errorf("state through the API after saving READ_ONLY: %q", state.State)
		}
		s.mustJSON("PUT", "/api/v1/repository/admin/site/changestate", map[string]any{"state": "NORMAL"}, nil)

		tb.visit("/repository/admin/site")
		tb.waitText("main .description", "The web site "+xss)
		if n := tb.count("main img:not(.brand img), main script"); n != 0 {
			t.Errorf("%d elements made from the description", n)
		}

		tb.visit("/repository/admin/site/logs")
		tb.settle(".results table")
		tb.waitText(".results tbody", "change_repo_visibility")
		tb.axe("repository logs")

		tb.visit("/repository/admin/site/settings")
		tb.waitFor(`!!document.querySelector("form[aria-label='Visibility and description']")`, "the settings")
		tb.run(chromedp.Click(`//main//button[text()="Delete admin/site"]`, chromedp.BySearch),
			chromedp.SendKeys(`//dialog//label[starts-with(text(), "Type")]/following-sibling::input`, "admin/site", chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Delete"]`, chromedp.BySearch))
		tb.waitFor(`location.pathname !== "/repository/admin/site/settings"`, "leaving the deleted repository")
		if status, _ := s.call("GET", "/api/v1/repository/admin/site", nil); status != 404 {
			t.Errorf("the deleted repository through the API: %d", status)
		}
	})
}

// TestTagExpiration: an expiration set on the tags page is the one the API
// then reports for the tag, and clearing it there leaves the tag without
// one; the dialog passes axe-core in both themes.
func TestTagExpiration(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		s.pushImage("admin", adminPassword, "admin/app", "v1", "a")
		expiry := func() (end float64, ok bool) {
			var out struct {
				Tags []struct {
					Name  string   `json:"name"`
					EndTS *float64 `json:"end_ts"`
				} `json:"tags"`
			}
			s.mustJSON("GET", "/api/v1/repository/admin/app/tag/?onlyActiveTags=true&specificTag=v1", nil, &out)
			if len(out.Tags) != 1 || out.Tags[0].EndTS == nil {
				return 0, false
			}
			return *out.Tags[0].EndTS, true
		}
		for _, scheme := range []string{"light", "dark"} {
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/repository/admin/app")
			tb.settle(".results table")
			tb.run(chromedp.Click(`button[aria-label="Expiry of v1"]`, chromedp.ByQuery))
			tb.waitFor(`!!document.querySelector("dialog input[type=datetime-local]")`, "the expiration dialog")
			tb.axe(scheme + " tag expiration dialog")
			if scheme == "light" {
				tb.run(chromedp.Click(`//dialog//button[text()="Cancel"]`, chromedp.BySearch))
				continue
			}
			// Two days from now, to the minute, in the browser's time zone.
			want := time.Now().Add(48 * time.Hour).Truncate(time.Minute).Unix()
			var ignored bool
			tb.eval(fmt.Sprintf(`(() => { const d = new Date(%d * 1000); const p = (n) => String(n).padStart(2, "0");
				document.querySelector("dialog input[type=datetime-local]").value =
					d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" + p(d.getMinutes());
				return true; })()`, want), &ignored)
			tb.run(chromedp.Click(`//dialog//button[text()="Save"]`, chromedp.BySearch))
			tb.waitText(".toasts", "Saved.")
			if end, ok := expiry(); !ok || int64(end) != want {
				t.Errorf("v1's end through the API: %v (set: %v), want %d", end, ok, want)
			}
			tb.waitFor(`!document.querySelector(".results tbody").textContent.includes("never")`, "the expiration shown")

			tb.run(chromedp.Click(`button[aria-label="Expiry of v1"]`, chromedp.ByQuery))
			tb.waitFor(`!!document.querySelector("dialog input[type=datetime-local]")?.value`, "the dialog with the current expiration")
			tb.run(chromedp.SetValue(`dialog input[type=datetime-local]`, "", chromedp.ByQuery),
				chromedp.Click(`//dialog//button[text()="Save"]`, chromedp.BySearch))
			tb.waitText(".results tbody", "never")
			if end, ok := expiry(); ok {
				t.Errorf("v1 still ends at %v through the API after clearing its expiration", end)
			}
		}
	})
}
