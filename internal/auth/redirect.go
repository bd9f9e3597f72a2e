package auth

import (
	"net/url"
	"path"
	"strconv"
	"strings"
)

// ParseRedirect parses the redirect_uri of an implicit grant, refusing what
// would let the URL mean something other than what a reader of it sees:
// userinfo (https://legit@evil/ goes to evil), a fragment (the token is
// appended as one), backslashes (browsers read them as slashes), and "." or
// ".." path segments, raw or percent-encoded (a server may resolve them
// out of the registered path). It reports false for anything refused.
func ParseRedirect(raw string) (*url.URL, bool) {
	if raw == "" || strings.ContainsAny(raw, `\#`) {
		return nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.User != nil {
		return nil, false
	}
	// u.Path is decoded, so this also catches %2e%2e, %2f and %5c.
	if strings.Contains(u.Path, `\`) {
		return nil, false
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			return nil, false
		}
	}
	return u, true
}

// RedirectUnder reports whether redirect (from ParseRedirect) lies under an
// application's registered redirect URI: the same scheme, host (any case)
// and port (an omitted default port counts as given), and a path equal to
// the registered one or extending it at a segment boundary. Any query is
// allowed. An empty or unparsable registered URI admits nothing.
func RedirectUnder(redirect *url.URL, registered string) bool {
	reg, err := url.Parse(registered)
	if registered == "" || err != nil || reg.Host == "" {
		return false
	}
	if redirect.Scheme != reg.Scheme || !strings.EqualFold(redirect.Hostname(), reg.Hostname()) ||
		effectivePort(redirect) != effectivePort(reg) {
		return false
	}
	want, got := cleanPath(reg.Path), cleanPath(redirect.Path)
	return got == want || want == "/" || strings.HasPrefix(got, want+"/")
}

// effectivePort is u's port as a number, http's and https's defaults
// filled in, so that https://h and https://h:443 compare equal; -1 when
// there is none.
func effectivePort(u *url.URL) int {
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return -1
		}
		return n
	}
	switch u.Scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return -1
}

// cleanPath is p rooted and cleaned, so that "", "/" and "/cb/" compare as
// the directories they name.
func cleanPath(p string) string {
	return path.Clean("/" + p)
}
