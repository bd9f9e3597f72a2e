package outbound_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/outbound"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// httptest servers listen on 127.0.0.1, which the policy refuses unless a
// test permits it: by network for the plain cases, or by the host name
// "allowed.test" (resolved to 127.0.0.1 by a fake) to show that a redirect
// to the same server by its address is refused.

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func TestClient(t *testing.T) {
	var secretHits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "archive") })
	mux.HandleFunc("/secret", func(w http.ResponseWriter, r *http.Request) {
		secretHits.Add(1)
		io.WriteString(w, "credentials")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	port := mustURL(t, srv.URL).Port()
	byName := "http://allowed.test:" + port

	permitNet := &outbound.Policy{AllowNetworks: loopback}
	permitName := &outbound.Policy{AllowHosts: []string{"allowed.test"}, Resolver: fakeDNS{"allowed.test": {"127.0.0.1"}}}
	tests := []struct {
		name   string
		policy *outbound.Policy
		url    string
		want   string // the user's message, "" for a fetch that succeeds
	}{
		{"allowed network", permitNet, srv.URL + "/ok", ""},
		{"refused by default", &outbound.Policy{}, srv.URL + "/secret", "URL refused: host is a loopback address"},
		{"allowed host", permitName, byName + "/ok", ""},
		{"redirect within the allowed host", permitName, byName + "/redirect?to=" + url.QueryEscape(byName+"/ok"), ""},
		{"redirect to the address of the allowed host", permitName,
			byName + "/redirect?to=" + url.QueryEscape(srv.URL+"/secret"), "URL refused: host is a loopback address"},
		{"redirect to the metadata endpoint", permitName,
			byName + "/redirect?to=" + url.QueryEscape("http://169.254.169.254/latest/meta-data/"), "URL refused: host is a link-local address"},
		{"redirect to another scheme", permitName,
			byName + "/redirect?to=" + url.QueryEscape("file:///etc/passwd"), `URL refused: scheme "file" is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secretHits.Store(0)
			body, err := get(tt.policy.Client(5*time.Second), tt.url)
			if tt.want == "" {
				if err != nil || body != "archive" {
					t.Fatalf("got %q, %v; want the archive", body, err)
				}
				return
			}
			checkRefused(t, err, tt.want)
			if n := secretHits.Load(); n != 0 {
				t.Errorf("the refused server was reached %d times", n)
			}
		})
	}
}

func TestClientRedirectLimit(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/again", http.StatusFound)
	}))
	defer srv.Close()
	p := &outbound.Policy{AllowNetworks: loopback}
	_, err := get(p.Client(5*time.Second), srv.URL)
	checkRefused(t, err, "URL refused: it redirects more than 5 times")
	if n := hits.Load(); n != 6 {
		t.Errorf("server hit %d times, want 6 (the request and 5 redirects)", n)
	}
}

func TestClientRefusesDowngrade(t *testing.T) {
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plainHits.Add(1) }))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL, http.StatusFound)
	}))
	defer tlsSrv.Close()
	p := &outbound.Policy{AllowNetworks: loopback}
	c := p.Client(5 * time.Second)
	// Trust the test server's certificate; nothing else changes.
	c.Transport.(*http.Transport).TLSClientConfig = tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig
	_, err := get(c, tlsSrv.URL)
	checkRefused(t, err, "URL refused: it redirects from https to http")
	if plainHits.Load() != 0 {
		t.Error("the http server was reached")
	}
}

// DNS rebinding: the name resolves to a public address when checked and
// to loopback when the client connects. The dialer checks what it dials.
func TestClientRefusesRebinding(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	p := &outbound.Policy{Resolver: &rebinder{first: public, then: "127.0.0.1"}}
	target := "http://rebind.test:" + mustURL(t, srv.URL).Port() + "/"
	if _, err := p.Check(context.Background(), target); err != nil {
		t.Fatalf("Check: %v", err)
	}
	_, err := get(p.Client(5*time.Second), target)
	checkRefused(t, err, "URL refused: host resolves to a loopback address")
	if hits.Load() != 0 {
		t.Error("the server was reached")
	}
}

func TestClientIgnoresProxies(t *testing.T) {
	c := (&outbound.Policy{}).Client(time.Second)
	if c.Transport.(*http.Transport).Proxy != nil {
		t.Error("the transport consults a proxy")
	}
}

// rebinder answers first, then then for every later lookup.
type rebinder struct {
	mu          sync.Mutex
	calls       int
	first, then string
}

func (r *rebinder) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls == 1 {
		return []netip.Addr{netip.MustParseAddr(r.first)}, nil
	}
	return []netip.Addr{netip.MustParseAddr(r.then)}, nil
}

func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func checkRefused(t *testing.T, err error, want string) {
	t.Helper()
	var refused *outbound.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v, want a *RefusedError", err)
	}
	if !wharf.IsCode(err, wharf.Invalid) || wharf.ErrorMessage(err) != want {
		t.Errorf("got %q (%s), want %q (invalid)", wharf.ErrorMessage(err), wharf.ErrorCode(err), want)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
