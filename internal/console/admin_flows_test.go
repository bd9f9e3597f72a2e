package console_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestEditAndDeleteUser: a user disabled in the console is disabled
// through the API and can no longer push; deleted there (name typed), the
// API no longer has it.
func TestEditAndDeleteUser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		tb := s.open("light", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/superuser/users?q=alice")
		tb.settle(".results table")
		tb.run(chromedp.Click(`button[aria-label="Edit alice"]`, chromedp.ByQuery),
			chromedp.Click(`//dialog//label[starts-with(text(), "Enabled")]/preceding-sibling::input`, chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Save"]`, chromedp.BySearch))
		tb.waitText(".results tbody", "disabled")
		var u struct {
			Enabled bool `json:"enabled"`
		}
		s.mustJSON("GET", "/api/v1/superuser/users/alice", nil, &u)
		if u.Enabled {
			t.Error("alice is enabled through the API after disabling her in the console")
		}
		req, _ := http.NewRequest("GET", s.url+"/v2/auth?service=x", nil)
		req.SetBasicAuth("alice", "alice-pass-1")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode == http.StatusOK {
			t.Errorf("a disabled user's registry login: %v %v", resp, err)
		}
		tb.run(chromedp.Click(`button[aria-label="Delete alice"]`, chromedp.ByQuery),
			chromedp.SendKeys(`//dialog//label[starts-with(text(), "Type")]/following-sibling::input`, "alice", chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Delete"]`, chromedp.BySearch))
		tb.waitText(".results caption", "Users (0)")
		if status, _ := s.call("GET", "/api/v1/superuser/users/alice", nil); status != http.StatusNotFound {
			t.Errorf("alice through the API after deleting her in the console: %d", status)
		}
	})
}

// TestCreateServiceKey: the private key the console shows once signs JWTs
// that wharf verifies; recomputing the registry size from the storage page
// queues a calculation.
func TestCreateServiceKey(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		tb := s.open("dark", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/superuser/keys")
		tb.settle(".results table")
		tb.run(chromedp.Click(`//main//button[text()="Create key"]`, chromedp.BySearch),
			chromedp.SendKeys(`//dialog//label[text()="Service"]/following-sibling::input`, "builder", chromedp.BySearch),
			chromedp.SendKeys(`//dialog//label[text()="Name"]/following-sibling::input`, "ci key", chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Create"]`, chromedp.BySearch))
		tb.waitFor(`!!document.querySelector("dialog textarea")`, "the private key")
		var kid, pemText string
		tb.eval(`document.querySelector("dialog h2").textContent.split(" ")[1]`, &kid)
		tb.eval(`document.querySelector("dialog textarea").value`, &pemText)
		if n := tb.count(`dialog .row button`); n != 2 {
			t.Errorf("copy and download buttons: %d", n)
		}
		tb.axe("private key shown once")
		block, _ := pem.Decode([]byte(pemText))
		if block == nil {
			t.Fatalf("not a PEM: %q", pemText)
		}
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.App.ServiceKeys.Verifier().Verify(context.Background(), signJWT(key, kid, s.serviceClaims("builder")), "builder"); err != nil {
			t.Errorf("a JWT signed with the key the console showed: %v", err)
		}
		tb.run(chromedp.Click(`//dialog//button[text()="Done"]`, chromedp.BySearch))

		tb.visit("/superuser/storage")
		tb.settle(".results table")
		tb.waitText(".card h2", "Registry size")
		tb.run(chromedp.Click(`//main//button[text()="Recompute"]`, chromedp.BySearch))
		tb.waitText(".toasts", "Recomputing")
		var rs struct {
			Queued  bool `json:"queued"`
			Running bool `json:"running"`
		}
		s.mustJSON("GET", "/api/v1/superuser/registrysize/", nil, &rs)
		if !rs.Queued && !rs.Running {
			t.Error("no registry size calculation queued after Recompute")
		}
	})
}
