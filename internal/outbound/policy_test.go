package outbound_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/outbound"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// fakeDNS answers from a fixed table, so no test depends on real DNS.
type fakeDNS map[string][]string

func (f fakeDNS) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	answers, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range answers {
		a := netip.MustParseAddr(s)
		if network == "ip" || network == "ip4" && a.Is4() || network == "ip6" && a.Is6() {
			out = append(out, a)
		}
	}
	return out, nil
}

// public is an address of example.com; tests never connect to it.
const public = "93.184.215.14"

var dns = fakeDNS{
	"example.com":       {public, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
	"localhost":         {"127.0.0.1", "::1"},
	"metadata.test":     {"169.254.169.254"},
	"mixed.test":        {public, "10.0.0.1"},
	"aws-v6.test":       {"fd00:ec2::254"},
	"mapped.test":       {"::ffff:192.168.0.1"},
	"internal.test":     {"10.0.0.5"},
	"registry.internal": {"10.9.9.9"},
	"empty.test":        {},
}

func TestCheck(t *testing.T) {
	base := &outbound.Policy{Resolver: dns}
	allowTen := &outbound.Policy{Resolver: dns, AllowNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	allowHost := &outbound.Policy{Resolver: dns, AllowHosts: []string{"registry.internal", "127.0.0.1"}}
	httpsOnly := &outbound.Policy{Resolver: dns, Schemes: []string{"https"}}
	tests := []struct {
		name   string
		policy *outbound.Policy
		url    string
		// want is the message shown to the user, "" if the URL is allowed.
		want string
	}{
		{"public name", base, "https://example.com/archive.tar.gz?sig=x", ""},
		{"public IPv4 literal with port", base, "http://" + public + ":8080/", ""},
		{"public IPv6 literal", base, "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/", ""},
		{"NAT64 of a public address", base, "http://[64:ff9b::5db8:d70e]/", ""},
		{"upper-case scheme", base, "HTTPS://example.com/", ""},

		{"unparsable", base, "http://[::1", "URL refused: it is not a valid URL"},
		{"no scheme", base, "example.com/archive", "URL refused: it has no scheme"},
		{"ftp", base, "ftp://example.com/", `URL refused: scheme "ftp" is not allowed`},
		{"file", base, "file:///etc/passwd", `URL refused: scheme "file" is not allowed`},
		{"gopher", base, "gopher://example.com:6379/_INFO", `URL refused: scheme "gopher" is not allowed`},
		{"http when only https", httpsOnly, "http://example.com/", `URL refused: scheme "http" is not allowed`},
		{"credentials", base, "http://user:pass@example.com/", "URL refused: it carries credentials"},
		{"empty userinfo", base, "http://@example.com/", "URL refused: it carries credentials"},
		{"no host", base, "http:///archive", "URL refused: it has no host"},
		{"opaque", base, "http:example.com", "URL refused: it has no host"},
		{"port zero", base, "http://example.com:0/", "URL refused: port 0 is out of range"},
		{"port too large", base, "http://example.com:65536/", "URL refused: port 65536 is out of range"},

		{"loopback", base, "http://127.0.0.1/", "URL refused: host is a loopback address"},
		{"loopback /8", base, "http://127.255.255.254/", "URL refused: host is a loopback address"},
		{"loopback with trailing dot", base, "http://127.0.0.1./", "URL refused: host is a loopback address"},
		{"unspecified", base, "http://0.0.0.0/", "URL refused: host is an unspecified address"},
		{"this network", base, "http://0.1.2.3/", "URL refused: host is an unspecified address"},
		{"private 10/8", base, "http://10.1.2.3/", "URL refused: host is a private address"},
		{"private 172.16/12", base, "http://172.31.255.255/", "URL refused: host is a private address"},
		{"private 192.168/16", base, "http://192.168.1.1/", "URL refused: host is a private address"},
		{"metadata", base, "http://169.254.169.254/latest/meta-data/", "URL refused: host is a link-local address"},
		{"carrier-grade NAT", base, "http://100.64.0.1/", "URL refused: host is a carrier-grade NAT address"},
		{"multicast", base, "http://224.0.0.1/", "URL refused: host is a multicast address"},
		{"broadcast", base, "http://255.255.255.255/", "URL refused: host is the broadcast address"},
		{"reserved", base, "http://240.0.0.1/", "URL refused: host is a reserved address"},
		{"benchmarking", base, "http://198.18.0.1/", "URL refused: host is a benchmarking address"},
		{"documentation", base, "http://192.0.2.1/", "URL refused: host is a documentation address"},
		{"IPv6 loopback", base, "http://[::1]/", "URL refused: host is a loopback address"},
		{"IPv6 unspecified", base, "http://[::]/", "URL refused: host is an unspecified address"},
		{"unique local", base, "http://[fc00::1]/", "URL refused: host is a private address"},
		{"AWS IPv6 metadata", base, "http://[fd00:ec2::254]/", "URL refused: host is a private address"},
		{"IPv6 link-local", base, "http://[fe80::1]/", "URL refused: host is a link-local address"},
		{"IPv6 link-local with zone", base, "http://[fe80::1%25eth0]/", "URL refused: host is a link-local address"},
		{"IPv6 site-local", base, "http://[fec0::1]/", "URL refused: host is a site-local address"},
		{"IPv6 multicast", base, "http://[ff02::1]/", "URL refused: host is a multicast address"},
		{"IPv6 unallocated", base, "http://[4000::1]/", "URL refused: host is an unallocated address"},
		{"IPv4-mapped loopback", base, "http://[::ffff:127.0.0.1]/", "URL refused: host is a loopback address"},
		{"IPv4-mapped metadata in hex", base, "http://[::ffff:a9fe:a9fe]/", "URL refused: host is a link-local address"},
		{"IPv4-compatible loopback", base, "http://[::127.0.0.1]/", "URL refused: host is an IPv4-compatible address"},
		{"NAT64 of loopback", base, "http://[64:ff9b::7f00:1]/", "URL refused: host is a loopback address"},
		{"NAT64 of metadata", base, "http://[64:ff9b::169.254.169.254]/", "URL refused: host is a link-local address"},
		{"6to4 of private", base, "http://[2002:c0a8:101::1]/", "URL refused: host is a private address"},
		{"Teredo", base, "http://[2001::1]/", "URL refused: host is a Teredo address"},

		{"decimal IPv4", base, "http://2130706433/", `URL refused: host "2130706433" is not a standard IP address or name`},
		{"hex IPv4", base, "http://0x7f.1/", `URL refused: host "0x7f.1" is not a standard IP address or name`},
		{"hex IPv4 in one number", base, "http://0x7f000001/", `URL refused: host "0x7f000001" is not a standard IP address or name`},
		{"octal IPv4", base, "http://0177.0.0.1/", `URL refused: host "0177.0.0.1" is not a standard IP address or name`},
		{"short IPv4", base, "http://127.1/", `URL refused: host "127.1" is not a standard IP address or name`},

		{"name resolving to loopback", base, "http://localhost:5000/", "URL refused: host resolves to a loopback address"},
		{"name resolving to metadata", base, "http://metadata.test/", "URL refused: host resolves to a link-local address"},
		{"one private address among public ones", base, "http://mixed.test/", "URL refused: host resolves to a private address"},
		{"name resolving to AWS IPv6 metadata", base, "http://aws-v6.test/", "URL refused: host resolves to a private address"},
		{"name resolving to a mapped private address", base, "http://mapped.test/", "URL refused: host resolves to a private address"},
		{"unknown name", base, "http://nowhere.test/", `URL refused: host "nowhere.test" cannot be resolved`},
		{"name without addresses", base, "http://empty.test/", `URL refused: host "empty.test" has no address`},

		{"allowed network", allowTen, "http://10.1.2.3/", ""},
		{"allowed network by name", allowTen, "http://internal.test/", ""},
		{"allowed network, mapped", allowTen, "http://[::ffff:10.1.2.3]/", ""},
		{"allowed network leaves others refused", allowTen, "http://127.0.0.1/", "URL refused: host is a loopback address"},
		{"allowed host", allowHost, "http://registry.internal/", ""},
		{"allowed host, other spelling", allowHost, "http://REGISTRY.internal./", ""},
		{"allowed IP literal", allowHost, "http://127.0.0.1:8080/", ""},
		{"allowed host leaves others refused", allowHost, "http://internal.test/", "URL refused: host resolves to a private address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.policy.Check(context.Background(), tt.url)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if u == nil || u.Hostname() == "" {
					t.Fatalf("Check returned %v", u)
				}
				return
			}
			if err == nil {
				t.Fatal("Check allowed the URL")
			}
			var refused *outbound.RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("err = %T %v, want *RefusedError", err, err)
			}
			if !wharf.IsCode(err, wharf.Invalid) || wharf.ErrorMessage(err) != tt.want {
				t.Errorf("got %q (%s), want %q (invalid)", wharf.ErrorMessage(err), wharf.ErrorCode(err), tt.want)
			}
		})
	}
}

func TestRefusedErrorShowsAddressOnlyInLogs(t *testing.T) {
	p := &outbound.Policy{Resolver: dns}
	_, err := p.Check(context.Background(), "http://alice:secret@localhost:5000/x?token=t#f")
	var refused *outbound.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v", err)
	}
	// Refused for credentials before any lookup.
	if refused.URL != "http://localhost:5000/x" {
		t.Errorf("URL = %q, want it without credentials, query and fragment", refused.URL)
	}

	_, err = p.Check(context.Background(), "http://localhost:5000/x?token=t")
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v", err)
	}
	if want := "URL refused: host resolves to a loopback address (127.0.0.1)"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if msg := wharf.ErrorMessage(err); strings.Contains(msg, "127.0.0.1") {
		t.Errorf("user message %q reveals the resolved address", msg)
	}
	if refused.URL != "http://localhost:5000/x" {
		t.Errorf("URL = %q", refused.URL)
	}
}

func TestCheckCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &outbound.Policy{Resolver: dns}
	if _, err := p.Check(ctx, "https://example.com/"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		"https://example.com/a?b#c", "http://user:pass@10.0.0.1:80/", "http://[::ffff:127.0.0.1]/",
		"http://0x7f.1/", "http://2130706433/", "http://[fe80::1%25eth0]:8080/", "ftp://x/", "http:x",
		"http://[64:ff9b::7f00:1]/", "//example.com", "http://example.com:65536/",
	} {
		f.Add(seed)
	}
	// Every name resolves to a public address, so what is refused is
	// refused for the URL's own shape.
	p := &outbound.Policy{Resolver: anyName{}}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := p.Check(context.Background(), raw)
		if err != nil {
			var refused *outbound.RefusedError
			if !errors.As(err, &refused) || !wharf.IsCode(err, wharf.Invalid) {
				t.Fatalf("err = %T %v, want an invalid *RefusedError", err, err)
			}
			if r, err := url.Parse(refused.URL); refused.URL != "" && (err != nil || r.User != nil || r.RawQuery != "") {
				t.Errorf("redacted URL %q of %q holds credentials or a query", refused.URL, raw)
			}
			return
		}
		if u.User != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
			t.Errorf("allowed %q: %#v", raw, u)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && (!a.Unmap().IsGlobalUnicast() || a.Unmap().IsPrivate()) {
			t.Errorf("allowed %q, whose address %v is not global unicast", raw, a)
		}
	})
}

type anyName struct{}

func (anyName) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr(public)}, nil
}
