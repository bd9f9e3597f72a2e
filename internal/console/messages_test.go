package console_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestGlobalMessages: a message published in the console is in the API's
// list and on every signed-in user's pages, as text; withdrawn, it is gone.
func TestGlobalMessages(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		tb := s.open("light", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/superuser/messages")
		tb.settle(".results table")
		content := "Maintenance at 22:00 " + xss
		tb.run(chromedp.Click(`//button[text()="Publish message"]`, chromedp.BySearch),
			chromedp.SetValue(`dialog textarea`, content, chromedp.ByQuery),
			chromedp.SetValue(`//dialog//label[text()="Severity"]/following-sibling::select`, "warning", chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Publish"]`, chromedp.BySearch))
		tb.waitText(".banners", content)
		tb.waitText(".results caption", "Messages (1)")
		var list struct {
			Messages []struct {
				Content  string `json:"content"`
				Severity string `json:"severity"`
			} `json:"messages"`
		}
		s.mustJSON("GET", "/api/v1/messages", nil, &list)
		if len(list.Messages) != 1 || list.Messages[0].Content != content || list.Messages[0].Severity != "warning" {
			t.Fatalf("messages through the API: %+v", list.Messages)
		}
		tb.axe("message banner")

		other := s.openApart("dark", phone)
		other.signIn("alice", "alice-pass-1")
		other.visit("/account")
		other.waitText(".banners .banner.warning", content)
		if n := other.count(".banners img, .banners script"); n != 0 {
			t.Errorf("%d elements made from a message", n)
		}
		other.axe("message banner, dark, phone")

		tb.run(chromedp.Click(`//main//button[text()="Withdraw"]`, chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Withdraw"]`, chromedp.BySearch))
		tb.waitText(".results caption", "Messages (0)")
		tb.waitFor(`document.querySelectorAll(".banners .banner").length === 0`, "the banner to go")
	})
}

// TestAppTokens: a token created on the account page, shown once, logs in
// to the registry as "$app"; revoked there, it no longer does.
func TestAppTokens(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		tb := s.open("light", desktop)
		tb.signIn("alice", "alice-pass-1")
		tb.visit("/account")
		tb.settle(".results table")
		tb.run(chromedp.Click(`//button[text()="Create token"]`, chromedp.BySearch),
			chromedp.SendKeys(`//dialog//label[text()="Title"]/following-sibling::input`, "ci", chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Create"]`, chromedp.BySearch))
		tb.waitText("dialog h2", "Token ci created")
		var code string
		tb.eval(`document.querySelector("dialog textarea").value`, &code)
		tb.axe("app token shown once")
		tb.run(chromedp.Click(`//dialog//button[text()="Done"]`, chromedp.BySearch))
		tb.waitText(".results caption", "Your app tokens (1)")
		if status := s.registryLogin("$app", code); status != http.StatusOK {
			t.Fatalf("registry login with the app token: %d", status)
		}
		tb.run(chromedp.Click(`button[aria-label="Revoke token ci"]`, chromedp.ByQuery),
			chromedp.Click(`//dialog//button[text()="Revoke"]`, chromedp.BySearch))
		tb.waitText(".results caption", "Your app tokens (0)")
		if status := s.registryLogin("$app", code); status != http.StatusUnauthorized {
			t.Errorf("registry login with the revoked token: %d, want 401", status)
		}
	})
}

// registryLogin asks /v2/auth for a token with basic credentials.
func (s *site) registryLogin(user, password string) int {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url+"/v2/auth?service="+strings.TrimPrefix(s.url, "http://"), nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode == http.StatusOK && body.Token == "" {
		return 0
	}
	return resp.StatusCode
}

// TestAccountRobots: a robot created on the account page belongs to the
// user (alice+deploy) and logs in to the registry with the token shown
// once; deleted there, it no longer does.
func TestAccountRobots(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		tb := s.open("dark", desktop)
		tb.signIn("alice", "alice-pass-1")
		tb.visit("/account")
		tb.waitFor(`!!document.querySelector("section[aria-labelledby='robots-h'] table")`, "the robot accounts")
		tb.run(chromedp.Click(`//button[text()="Create robot account"]`, chromedp.BySearch),
			chromedp.SendKeys(`//dialog//label[text()="Robot name"]/following-sibling::input`, "deploy", chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Create"]`, chromedp.BySearch))
		tb.waitFor(`!!document.querySelector("dialog textarea")`, "the new robot's token")
		var token string
		tb.eval(`document.querySelector("dialog textarea").value`, &token)
		tb.run(chromedp.Click(`//dialog//button[text()="Done"]`, chromedp.BySearch))
		tb.waitText("section[aria-labelledby='robots-h'] tbody", "alice+deploy")
		tb.axe("account robots")
		if status := s.registryLogin("alice+deploy", token); status != http.StatusOK {
			t.Fatalf("registry login as the robot with the token shown: %d", status)
		}
		tb.run(chromedp.Click(`button[aria-label="Delete alice+deploy"]`, chromedp.ByQuery),
			chromedp.Click(`//dialog//button[text()="Delete"]`, chromedp.BySearch))
		tb.waitFor(`!document.querySelector("section[aria-labelledby='robots-h'] tbody").textContent.includes("alice+deploy")`, "the robot to go")
		if status := s.registryLogin("alice+deploy", token); status != http.StatusUnauthorized {
			t.Errorf("registry login as the deleted robot: %d, want 401", status)
		}
	})
}
