package auth

import (
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/identity"
)

// FuzzBasicAppToken: Basic credentials from any client are classified
// without panicking; "$app" always selects the app-token kind with no
// user name, and SplitAppToken yields a name and secret only for a code
// of exactly AppTokenLength bytes, which they make up again.
func FuzzBasicAppToken(f *testing.F) {
	f.Add("$app", strings.Repeat("A", identity.AppTokenLength))
	f.Add("$app", "short")
	f.Add("$APP", strings.Repeat("B", identity.AppTokenLength))
	f.Add("ns+robot", "token")
	f.Add("$oauthtoken", "x")
	f.Fuzz(func(t *testing.T, user, secret string) {
		c := BasicCredential(user, secret, "127.0.0.1")
		if (user == AppTokenUsername) != (c.Kind == AppToken) {
			t.Fatalf("user %q classified as %q", user, c.Kind)
		}
		if c.Kind == AppToken && c.Username != "" {
			t.Fatalf("app-token credential keeps user name %q", c.Username)
		}
		name, rest, ok := identity.SplitAppToken(secret)
		if ok != (len(secret) == identity.AppTokenLength) {
			t.Fatalf("SplitAppToken(%d bytes) ok=%v", len(secret), ok)
		}
		if ok && (name+rest != secret || len(name) != identity.AppTokenNameLength) {
			t.Fatalf("split %q into %q + %q", secret, name, rest)
		}
	})
}
