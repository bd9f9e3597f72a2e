package console_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// requestBuild uploads a one-line Dockerfile and asks for a build of
// repo (namespace/name) as admin; it returns the build's id.
func (s *site) requestBuild(repo string) string {
	s.t.Helper()
	var drop struct {
		URL    string `json:"url"`
		FileID string `json:"file_id"`
	}
	s.mustJSON("POST", "/api/v1/filedrop/", map[string]any{"mimeType": "text/plain"}, &drop)
	req, _ := http.NewRequest("PUT", drop.URL, bytes.NewReader([]byte("FROM scratch\n")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("upload the context: %d", resp.StatusCode)
	}
	var b struct {
		ID string `json:"id"`
	}
	s.mustJSON("POST", "/api/v1/repository/"+repo+"/build/", map[string]any{"file_id": drop.FileID, "docker_tags": []string{"v1"}}, &b)
	return b.ID
}

// TestBuilds: a queued build shows on the builds page with its log; the
// console cancels it and the API agrees.
func TestBuilds(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store) // no build workers: builds stay queued
		if status := s.pushBlob("admin", adminPassword, "admin/app", 10); status != http.StatusCreated {
			t.Fatalf("create admin/app: %d", status)
		}
		id := s.requestBuild("admin/app")
		tb := s.open("dark", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/superuser/builds")
		tb.settle(".results table")
		tb.waitText(".results tbody", id)
		tb.axe("builds")
		tb.run(chromedp.Click(`button[aria-label="Logs of build `+id+`"]`, chromedp.ByQuery))
		tb.waitText("dialog [role=status]", "waiting")
		tb.axe("build log")
		tb.run(chromedp.Click(`//dialog//button[text()="Close"]`, chromedp.BySearch),
			chromedp.Click(`button[aria-label="Cancel build `+id+`"]`, chromedp.ByQuery),
			chromedp.Click(`//dialog//button[text()="Cancel build"]`, chromedp.BySearch))
		tb.waitText(".results caption", "Builds (0)")
		var b struct {
			Phase string `json:"phase"`
		}
		s.mustJSON("GET", "/api/v1/repository/admin/app/build/"+id+"/status", nil, &b)
		if b.Phase != "cancelled" {
			t.Errorf("phase through the API after cancelling in the console: %q", b.Phase)
		}
		tb.visit("/superuser/builds?state=all")
		tb.settle(".results table")
		tb.waitText(".results tbody", "cancelled")
	})
}

// TestRepositoryBuilds: a build started from a context uploaded on the
// repository's builds tab is queued through the API; cancelled there, the
// API says so.
func TestRepositoryBuilds(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		if status := s.pushBlob("admin", adminPassword, "admin/app", 10); status != http.StatusCreated {
			t.Fatalf("create admin/app: %d", status)
		}
		dockerfile := filepath.Join(t.TempDir(), "Dockerfile")
		if err := os.WriteFile(dockerfile, []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		tb := s.open("light", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/repository/admin/app/builds")
		tb.settle(".results table")
		tb.axe("repository builds")
		tb.run(chromedp.Click(`//main//button[text()="Start build"]`, chromedp.BySearch),
			chromedp.SetUploadFiles(`dialog input[type=file]`, []string{dockerfile}, chromedp.ByQuery),
			chromedp.Click(`//dialog//button[text()="Start"]`, chromedp.BySearch))
		tb.waitText(".results caption", "Recent builds")
		tb.waitFor(`!!document.querySelector('.results button[aria-label^="Cancel build"]')`, "the queued build")
		var list struct {
			Builds []struct {
				ID    string   `json:"id"`
				Phase string   `json:"phase"`
				Tags  []string `json:"tags"`
			} `json:"builds"`
		}
		s.mustJSON("GET", "/api/v1/repository/admin/app/build/", nil, &list)
		if len(list.Builds) != 1 || list.Builds[0].Phase != "waiting" || len(list.Builds[0].Tags) != 1 || list.Builds[0].Tags[0] != "latest" {
			t.Fatalf("builds through the API: %+v", list.Builds)
		}
		id := list.Builds[0].ID
		// Its log, through the repository's build API.
		tb.run(chromedp.Click(`button[aria-label="Logs of build `+id+`"]`, chromedp.ByQuery))
		tb.waitText("dialog [role=status]", "waiting")
		tb.run(chromedp.Click(`//dialog//button[text()="Close"]`, chromedp.BySearch),
			chromedp.Click(`button[aria-label="Cancel build `+id+`"]`, chromedp.ByQuery),
			chromedp.Click(`//dialog//button[text()="Cancel build"]`, chromedp.BySearch))
		tb.waitText(".results tbody", "cancelled")
		var b struct {
			Phase string `json:"phase"`
		}
		s.mustJSON("GET", "/api/v1/repository/admin/app/build/"+id+"/status", nil, &b)
		if b.Phase != "cancelled" {
			t.Errorf("phase through the API after cancelling on the builds tab: %q", b.Phase)
		}
	})
}
