package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// xss is a string that runs script wherever it is parsed as HTML.
const xss = `<img src=x onerror="alert(1)"><script>alert(2)</script>`

// seed fills a site with what the superuser pages show: users alice and
// auditor (a global read-only superuser) with passwords, organization
// acme, a log entry with markup in it.
func seed(s *site) {
	s.t.Helper()
	for _, u := range []string{"alice", "auditor"} {
		s.mustJSON("POST", "/api/v1/superuser/users/", map[string]any{"username": u, "email": u + "@example.com"}, nil)
		s.mustJSON("PUT", "/api/v1/superuser/users/"+u, map[string]any{"password": u + "-pass-1"}, nil)
	}
	s.mustJSON("POST", "/api/v1/organization/", map[string]any{"name": "acme", "email": "acme@example.com"}, nil)
	s.failLogin(xss)
}

func newSuperuserSite(t *testing.T, store *db.DB) *site {
	s := newSite(t, store, true, func(c *config.Config) { c.GlobalReadonlySuperUsers = []string{"auditor"} })
	seed(s)
	return s
}

// superuserPages are the pages a superuser has, each with a selector that
// is present once its data is shown.
var superuserPages = []struct{ path, ready string }{
	{"/superuser/users", ".results table"},
	{"/superuser/organizations", ".results table"},
	{"/superuser/storage", ".results table"},
	{"/superuser/keys", ".results table"},
	{"/superuser/logs", ".results table"},
	{"/superuser/builds", ".results table"},
	{"/superuser/messages", ".results table"},
	{"/superuser/config", "table.kv"},
	{"/superuser/health", ".grid2 .card"},
	{"/account", ".results table"},
}

// settle waits for sel and for no region to be busy.
func (tb *tab) settle(sel string) {
	tb.t.Helper()
	tb.waitFor(`!!document.querySelector(`+jsString(sel)+`) && !document.querySelector('[aria-busy="true"]')`, sel)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestPagesAccessible: every page, signed in as a superuser, in the light
// and the dark theme and at phone width, passes axe-core with no
// violation, with no console error or CSP violation. What a page looks
// like does not depend on the database engine, so this runs on the first
// engine only (the flows run on both).
func TestPagesAccessible(t *testing.T) {
	engine := dbtest.Engines(t)[0]
	t.Run(string(engine), func(t *testing.T) {
		s := newSuperuserSite(t, dbtest.Open(t, engine))
		s.pushImage("admin", adminPassword, "acme/app", "v1", "a")
		pages := append(superuserPages[:len(superuserPages):len(superuserPages)],
			struct{ path, ready string }{"/organization/acme", ".results table"},
			struct{ path, ready string }{"/organization/acme?tab=teams", ".results table"},
			struct{ path, ready string }{"/organization/acme?tab=robots", ".results table"},
			struct{ path, ready string }{"/organization/acme?tab=defaults", ".results table"},
			struct{ path, ready string }{"/organization/acme?tab=applications", ".results table"},
			struct{ path, ready string }{"/organization/acme?tab=settings", "main form"},
			struct{ path, ready string }{"/repository/acme/app", ".results table"},
			struct{ path, ready string }{"/repository/acme/app/settings", "main form"},
			struct{ path, ready string }{"/user/admin", ".results"})
		for _, scheme := range []string{"light", "dark"} {
			for _, size := range [][2]int64{desktop, phone} {
				tb := s.open(scheme, size)
				tb.visit("/signin")
				tb.axe(scheme + " /signin")
				tb.signIn("admin", adminPassword)
				for _, p := range pages {
					tb.visit(p.path)
					tb.settle(p.ready)
					tb.axe(scheme + " " + p.path)
				}
			}
		}
	})
}

// TestCreateUser: a user created in the console, with the password it
// showed once, exists through the API and can sign in.
func TestCreateUser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		tb := s.open("light", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/superuser/users")
		tb.settle(".results table")
		tb.run(chromedp.Click(`//button[text()="Create user"]`, chromedp.BySearch),
			chromedp.SendKeys(`//dialog//label[text()="Username"]/following-sibling::input`, "bob", chromedp.BySearch),
			chromedp.SendKeys(`//dialog//label[text()="E-mail"]/following-sibling::input`, "bob@example.com", chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Create"]`, chromedp.BySearch))
		tb.waitText("dialog h2", "User bob created")
		var password string
		tb.eval(`document.querySelector("dialog textarea").value`, &password)
		if len(password) < 8 {
			t.Fatalf("generated password %q", password)
		}
		tb.axe("password shown once")
		tb.run(chromedp.Click(`//dialog//button[text()="Done"]`, chromedp.BySearch))
		tb.waitText(".results caption", "Users (4)")
		var got struct {
			Username string  `json:"username"`
			Email    *string `json:"email"`
			Enabled  bool    `json:"enabled"`
		}
		s.mustJSON("GET", "/api/v1/superuser/users/bob", nil, &got)
		if got.Username != "bob" || got.Email == nil || *got.Email != "bob@example.com" || !got.Enabled {
			t.Errorf("bob through the API: %+v", got)
		}
		if status := s.pushBlob("bob", password, "bob/first", 10); status != http.StatusCreated {
			t.Errorf("bob's push with the password the console showed: %d", status)
		}
		// Search narrows on the server, and the URL keeps it.
		tb.run(chromedp.SendKeys(`input[type=search]`, "bo", chromedp.ByQuery))
		tb.waitText(".results caption", "Users (1)")
		var search string
		tb.eval(`location.search`, &search)
		if q, _ := url.ParseQuery(strings.TrimPrefix(search, "?")); q.Get("q") != "bo" {
			t.Errorf("search is not in the URL: %q", search)
		}
	})
}

// TestApproveServiceKey: a key a service published is refused until it is
// approved in the console; then a JWT it signs verifies.
func TestApproveServiceKey(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		key := s.publishKey("scanner", "scan-key-1")
		token := signJWT(key, "scan-key-1", s.serviceClaims("scanner"))
		verifier := s.App.ServiceKeys.Verifier()
		if _, err := verifier.Verify(context.Background(), token, "scanner"); err == nil {
			t.Fatal("an unapproved key's JWT verified")
		}
		tb := s.open("dark", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/superuser/keys?filter=unapproved")
		tb.settle(".results table")
		tb.waitText(".results caption", "(1 of 1)")
		tb.run(chromedp.Click(`button[aria-label="Approve scan-key-1"]`, chromedp.ByQuery),
			chromedp.SendKeys(`//dialog//label[text()="Notes"]/following-sibling::input`, "reviewed", chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Approve"]`, chromedp.BySearch))
		tb.waitText(".results caption", "(0 of 1)")
		if _, err := verifier.Verify(context.Background(), token, "scanner"); err != nil {
			t.Fatalf("the approved key's JWT: %v", err)
		}
	})
}

// TestQuotaRefusesPush: a quota set in the console refuses a push past it.
func TestQuotaRefusesPush(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		if status := s.pushBlob("alice", "alice-pass-1", "alice/app", 2048); status != http.StatusCreated {
			t.Fatalf("push before the quota: %d", status)
		}
		tb := s.open("light", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/superuser/users?q=alice")
		tb.settle(".results table")
		tb.run(chromedp.Click(`button[aria-label="Quota of alice"]`, chromedp.ByQuery),
			chromedp.SendKeys(`//dialog//label[text()="Hard limit"]/following-sibling::input`, "3 KiB", chromedp.BySearch))
		tb.axe("quota dialog")
		tb.run(chromedp.Click(`//dialog//button[text()="Save"]`, chromedp.BySearch))
		tb.waitText(".results tbody", "2.00 KiB of 3.00 KiB")
		if status := s.pushBlob("alice", "alice-pass-1", "alice/app", 2048); status != http.StatusForbidden {
			t.Errorf("push past the quota set in the console: %d, want 403", status)
		}
	})
}
