package console_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestScreenshots renders the pages the README shows, in the light and
// the dark theme at 1280×800, and checks each is a whole picture. With
// WHARF_README_SCREENSHOTS=$PWD/docs/console (absolute: a test runs in its
// package directory) they are written there (that is
// how the README's pictures are made).
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("WHARF_README_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	uri := dbtest.URI(t, dbtest.Engines(t)[0])
	store, err := db.Open(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s := newSite(t, store, true, nil)
	seedLarge(t, uri, 120, 12, 3000)
	for _, u := range []string{"user1", "user100", "user103"} {
		s.mustJSON("POST", "/api/v1/superuser/users/"+u+"/quota", map[string]any{"limit": "2 GiB"}, nil)
	}
	for i, tag := range []string{"1.0", "1.1", "1.2", "2.0-rc1", "2.0", "latest"} {
		s.pushImage("admin", adminPassword, "admin/web", tag, string(rune('a'+i)))
	}
	rawExec(t, uri, `INSERT INTO namespace_usage (namespace_id, shard, bytes) SELECT id, 0, 1288490188 FROM account WHERE name IN ('user1', 'user10')`,
		`INSERT INTO namespace_usage (namespace_id, shard, bytes) SELECT id, 0, 2040109465 FROM account WHERE name = 'user103'`)
	for _, scheme := range []string{"light", "dark"} {
		tb := s.open(scheme, desktop)
		tb.signIn("admin", adminPassword)
		for _, p := range []struct{ name, path, ready string }{
			{"users", "/superuser/users?limit=10", ".results table"},
			{"logs", "/superuser/logs", ".chart .bars"},
			{"tags", "/repository/admin/web", ".results table"},
		} {
			tb.visit(p.path)
			tb.settle(p.ready)
			var shot []byte
			tb.run(page.BringToFront(), chromedp.CaptureScreenshot(&shot)) // a background tab is not painted
			img, err := png.Decode(bytes.NewReader(shot))
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			if b := img.Bounds(); b.Dx() != int(desktop[0]) || b.Dy() != int(desktop[1]) {
				t.Errorf("%s: %v, want %dx%d", p.name, b, desktop[0], desktop[1])
			}
			if err := os.WriteFile(filepath.Join(dir, p.name+"-"+scheme+".png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
