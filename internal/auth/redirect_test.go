package auth

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzRedirectUnder checks that any redirect admitted under
// https://legit.example.com/cb is read by an independent parse as going to
// that host and port, without userinfo or fragment, and under /cb once
// cleaned. The API test (internal/api) carries the named cases.
func FuzzRedirectUnder(f *testing.F) {
	for _, s := range []string{
		"https://legit.example.com/cb", "https://legit.example.com/cb/x?y=1",
		"https://legit.example.com@evil.com/", "https://legit.example.com.evil.com/cb",
		"https://legit.example.com/cb/../../x", "https://legit.example.com/cb/%2e%2e/x",
		`https://legit.example.com/cb\..\x`, "https://LEGIT.example.com:443/cb", "https://legit.example.com/cb#f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, ok := ParseRedirect(raw)
		if !ok || !RedirectUnder(u, "https://legit.example.com/cb") {
			return
		}
		again, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%q admitted but does not parse: %v", raw, err)
		}
		if again.User != nil || again.Fragment != "" || strings.Contains(raw, "#") {
			t.Fatalf("%q admitted with userinfo or a fragment", raw)
		}
		if !strings.EqualFold(again.Hostname(), "legit.example.com") || (again.Port() != "" && again.Port() != "443") {
			t.Fatalf("%q admitted for host %q", raw, again.Host)
		}
		if p := path.Clean("/" + again.Path); p != "/cb" && !strings.HasPrefix(p, "/cb/") {
			t.Fatalf("%q admitted with path %q", raw, p)
		}
		if strings.Contains("/"+again.Path+"/", "/../") {
			t.Fatalf("%q admitted with a dot segment", raw)
		}
	})
}
