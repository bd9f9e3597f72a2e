package console_test

import (
	"strings"
	"testing"

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
