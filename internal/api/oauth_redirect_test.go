package api_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestAuthorizeAppRedirect proves the implicit grant sends a token only to
// the registered origin and under the registered path: a prefix that is
// only textual (userinfo, a longer host name, dot segments) is refused.
func TestAuthorizeAppRedirect(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		pw := e.createUser(admin, "alice")
		mustStatus(t, admin.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
		newApp := func(redirect string) string {
			r := admin.do("POST", "/api/v1/organization/acme/applications",
				map[string]any{"name": "app", "redirect_uri": redirect})
			mustStatus(t, r, http.StatusOK)
			return r.JSON(t)["client_id"].(string)
		}
		root := newApp("https://legit.example.com")
		cb := newApp("https://legit.example.com/cb")
		none := newApp("")
		alice := e.login("alice", pw)
		local := e.srv.URL + "/oauth/localapp"
		localHost := strings.TrimPrefix(e.srv.URL, "http://")

		tests := []struct {
			name     string
			app      string
			redirect string
			ok       bool
		}{
			{"exact", root, "https://legit.example.com", true},
			{"exact with slash", root, "https://legit.example.com/", true},
			{"sub-path", root, "https://legit.example.com/cb/done", true},
			{"query string", root, "https://legit.example.com/?state=xyz", true},
			{"host case and default port", root, "https://LEGIT.Example.com:443/cb", true},
			{"registered path exact", cb, "https://legit.example.com/cb", true},
			{"registered path extended", cb, "https://legit.example.com/cb/done?state=1", true},
			{"localapp", none, local, true},
			{"localapp of another app", cb, local, true},

			{"userinfo naming the host", root, "https://legit.example.com@evil.com/", false},
			{"longer host name", root, "https://legit.example.com.evil.com/", false},
			{"dot segments", root, "https://legit.example.com/cb/../../x", false},
			{"dot segments out of the path", cb, "https://legit.example.com/cb/../x", false},
			{"encoded dot segments", cb, "https://legit.example.com/cb/%2e%2e/x", false},
			{"encoded slashes and dots", cb, "https://legit.example.com/cb%2f%2e%2e%2fx", false},
			{"single dot segment", cb, "https://legit.example.com/cb/./x", false},
			{"backslash", cb, `https://legit.example.com/cb\..\x`, false},
			{"encoded backslash", cb, "https://legit.example.com/cb/%5cevil", false},
			{"path prefix off a segment boundary", cb, "https://legit.example.com/cbx", false},
			{"parent of the registered path", cb, "https://legit.example.com/", false},
			{"userinfo", cb, "https://user:pw@legit.example.com/cb", false},
			{"fragment", cb, "https://legit.example.com/cb#x", false},
			{"empty fragment", cb, "https://legit.example.com/cb#", false},
			{"other scheme", cb, "http://legit.example.com/cb", false},
			{"other port", cb, "https://legit.example.com:8443/cb", false},
			{"host with trailing dot", cb, "https://legit.example.com./cb", false},
			{"relative", cb, "/cb", false},
			{"scheme-relative", cb, "//legit.example.com/cb", false},
			{"empty", root, "", false},
			{"app without a redirect", none, "https://legit.example.com", false},
			{"localapp with userinfo", none, "http://x@" + localHost + "/oauth/localapp", false},
			{"localapp with dot segments", none, e.srv.URL + "/x/../oauth/localapp", false},
			{"localapp with a fragment", none, local + "#x", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				form := url.Values{"response_type": {"token"}, "client_id": {tt.app},
					"redirect_uri": {tt.redirect}, "scope": {"user:read"}, "_csrf_token": {alice.csrf}}
				req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/authorizeapp", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := alice.http.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				loc := resp.Header.Get("Location")
				if tt.ok {
					if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, tt.redirect+"#access_token=") {
						t.Fatalf("%q: status %d, Location %q, body %s; want 302 to it with a token", tt.redirect, resp.StatusCode, loc, body)
					}
					return
				}
				if resp.StatusCode != http.StatusBadRequest || loc != "" {
					t.Fatalf("%q: status %d, Location %q, body %s; want 400 and no token", tt.redirect, resp.StatusCode, loc, body)
				}
				if !strings.Contains(string(body), `"error_type":"invalid_request"`) {
					t.Errorf("body %s is not Quay's invalid_request error", body)
				}
			})
		}
	})
}
