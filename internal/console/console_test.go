package console_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/console"
)

func TestOwns(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/", true},
		{"/signin", true},
		{"/superuser/users", true},
		{"/static/0123/app.js", true},
		{"/repository/acme/app", true},
		{"/api/v1/user/", false},
		{"/v2/", false},
		{"/csrf_token", false},
		{"/health/instance", false},
		{"/export/logs", false},
		{"/keys/services/x/keys", false},
		{"/superusers", false},
	}
	for _, tc := range tests {
		if got := console.Owns(tc.path); got != tc.want {
			t.Errorf("Owns(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestHandler(t *testing.T) {
	h, err := console.New()
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, header ...string) *http.Response {
		t.Helper()
		r := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}
	shell := get("/superuser/users?q=x")
	body, _ := io.ReadAll(shell.Body)
	if shell.StatusCode != 200 || shell.Header.Get("Cache-Control") != "no-cache" || !bytes.Contains(body, []byte(`<div id="app">`)) {
		t.Fatalf("shell: %d %v %s", shell.StatusCode, shell.Header, body)
	}
	// No inline script or style: every script and stylesheet is a file.
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).Match(body) || bytes.Contains(body, []byte("<style")) || bytes.Contains(body, []byte(" style=")) {
		t.Errorf("the shell has inline script or style:\n%s", body)
	}
	app := regexp.MustCompile(`/static/[0-9a-f]{16}/app\.js`).Find(body)
	if app == nil || !strings.Contains(string(app), h.Version()) {
		t.Fatalf("the shell does not load /static/%s/app.js:\n%s", h.Version(), body)
	}

	for _, r := range []*http.Response{shell, get(string(app)), get("/static/bad/app.js")} {
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q allows something unsafe", csp)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("headers %v", r.Header)
		}
	}

	plain := get(string(app))
	plainBody, _ := io.ReadAll(plain.Body)
	if plain.Header.Get("Content-Encoding") != "" || plain.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		plain.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("asset headers %v", plain.Header)
	}
	zipped := get(string(app), "Accept-Encoding", "br, gzip;q=0.8")
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil || zipped.Header.Get("Content-Encoding") != "gzip" || zipped.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip: %v %v", err, zipped.Header)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plainBody) {
		t.Error("the gzip'd asset differs from the plain one")
	}
	if r := get(string(app), "Accept-Encoding", "gzip;q=0"); r.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it")
	}
	if r := get(string(app), "If-None-Match", plain.Header.Get("ETag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r.StatusCode)
	}
	if r := get("/static/0000000000000000/app.js"); r.StatusCode != http.StatusNotFound {
		t.Errorf("another version's asset: %d", r.StatusCode)
	}
	if r := get("/static/" + h.Version() + "/nothing.js"); r.StatusCode != http.StatusNotFound {
		t.Errorf("a missing asset: %d", r.StatusCode)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/signin", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST to a page: %d", w.Code)
	}
}

// TestFirstLoadSize keeps the first load (the shell's CSS and the modules
// every page loads) under 150 KB compressed, the budget.
func TestFirstLoadSize(t *testing.T) {
	h, err := console.New()
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	total := 0
	for _, ref := range regexp.MustCompile(`/static/[0-9a-f]+/[a-z/]+\.(?:js|css)`).FindAllString(w.Body.String(), -1) {
		r := httptest.NewRequest("GET", ref, nil)
		r.Header.Set("Accept-Encoding", "gzip")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		total += w.Body.Len()
	}
	t.Logf("first load: %d bytes of JS and CSS, gzip'd, from the shell's links", total)
	if total == 0 || total > 150_000 {
		t.Errorf("first load is %d bytes compressed; the budget is 150,000", total)
	}
}
