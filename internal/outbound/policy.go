// Package outbound is the one gate for URLs that users give wharf to
// fetch: a build's archive_url today, webhooks and mirrors later.
//
// The threat is server-side request forgery. wharf runs inside a network
// the user cannot reach: its own loopback services, the private network of
// its database and object store, and the cloud metadata endpoint
// (169.254.169.254, fd00:ec2::254) that hands out the host's credentials.
// A URL the user chooses must not make wharf fetch from there for them.
//
//	user URL ──Check──▶ refused with a message (HTTP 400)
//	           │ allowed
//	           ▼
//	Client ──dial──▶ resolve again ──▶ check every address ──▶ connect to that IP
//	   ▲                                                          │
//	   └──────────── redirect: Check the new URL again ◀──────────┘
//
// Check gives the user an early, clear refusal, but the guarantee is in the
// Client: its dialer resolves the host itself, refuses it if any address
// is in a refused range, and connects to the address it checked, so a DNS
// answer that changes between Check and the connection (rebinding) cannot
// lead elsewhere. Proxies from the environment are ignored, since a proxy
// would connect on wharf's behalf to a host the dialer never checked.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Resolver looks up the addresses of a host; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy says which URLs wharf may fetch for a user. The zero Policy
// allows https and http to public addresses only.
type Policy struct {
	// Schemes are the URL schemes allowed; nil means https and http.
	Schemes []string
	// AllowNetworks re-permits addresses in otherwise refused ranges, for
	// an administrator whose archives live on the private network.
	AllowNetworks []netip.Prefix
	// AllowHosts are host names allowed whatever they resolve to, compared
	// exactly but for case and a trailing dot.
	AllowHosts []string
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
}

// RefusedError is a URL the policy refuses. URL is the URL without
// credentials, query or fragment, fit for logs; empty when the URL does not
// parse or would not read back without them. Reason is what the user is
// told; it never holds the resolved address, which would let a user map
// the internal network by asking for names. Addr is that address, if one
// was refused, and Err the cause, if any; both go to logs only.
type RefusedError struct {
	URL    string
	Reason string
	Addr   netip.Addr
	Err    error
}

func (e *RefusedError) Error() string {
	msg := "URL refused: " + e.Reason
	if e.Addr.IsValid() {
		msg += " (" + e.Addr.String() + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns a wharf.Invalid error carrying the user's message, so
// that transports answer 400, and the cause if there is one.
func (e *RefusedError) Unwrap() []error {
	errs := []error{&wharf.Error{Code: wharf.Invalid, Message: "URL refused: " + e.Reason}}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Check parses raw and returns it if the policy allows fetching it. It
// refuses a URL that does not parse, has a scheme not allowed, carries
// credentials, has no host or a port outside 1-65535, names a host in a
// non-standard numeric form ("http://2130706433/"), or whose host is or
// resolves to any address in a refused range (see refusedRanges) that
// AllowNetworks does not re-permit; hosts in AllowHosts skip the address
// checks. Refusals are *RefusedError; a done ctx returns its error.
func (p *Policy) Check(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &RefusedError{Reason: "it is not a valid URL"}
	}
	refuse := func(reason string) error { return &RefusedError{URL: redact(u), Reason: reason} }
	switch {
	case u.Scheme == "":
		return nil, refuse("it has no scheme")
	case !p.schemeAllowed(u.Scheme):
		return nil, refuse(fmt.Sprintf("scheme %q is not allowed", u.Scheme))
	case u.User != nil:
		return nil, refuse("it carries credentials")
	case u.Hostname() == "":
		return nil, refuse("it has no host")
	}
	if port := u.Port(); port != "" && !validPort(port) {
		return nil, refuse(fmt.Sprintf("port %s is out of range", port))
	}
	if _, err := p.addrs(ctx, "ip", u.Hostname()); err != nil {
		if e := (*RefusedError)(nil); errors.As(err, &e) {
			e.URL = redact(u)
		}
		return nil, err
	}
	return u, nil
}

func (p *Policy) schemeAllowed(scheme string) bool {
	schemes := p.Schemes
	if schemes == nil {
		schemes = []string{"https", "http"}
	}
	return slices.ContainsFunc(schemes, func(s string) bool { return strings.EqualFold(s, scheme) })
}

func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// redact drops what must not reach a log: credentials, and the query and
// fragment, which often carry signed tokens.
func redact(u *url.URL) string {
	r := *u
	r.User = nil
	r.RawQuery, r.ForceQuery = "", false
	r.Fragment, r.RawFragment = "", ""
	// String does not always give back what Parse read: "//[::%25\xd6]"
	// becomes text Parse refuses, the path of "//@//@" reads back as
	// credentials. A URL whose text would not read back clean is left
	// out, like one that never parsed.
	s := r.String()
	if back, err := url.Parse(s); err != nil || back.User != nil || back.RawQuery != "" {
		return ""
	}
	return s
}

// addrs returns the addresses to connect to for host, resolved on network
// ("ip", "ip4" or "ip6"), refusing the host unless every address is
// permitted. Check and the Client's dialer share it, so both apply the
// same rules.
func (p *Policy) addrs(ctx context.Context, network, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	allowed := p.hostAllowed(host)
	if a, err := netip.ParseAddr(host); err == nil {
		if why := p.refusal(a); why != "" && !allowed {
			return nil, &RefusedError{Reason: "host is " + why, Addr: a}
		}
		return []netip.Addr{a}, nil
	}
	if endsInNumber(host) && !allowed {
		return nil, &RefusedError{Reason: fmt.Sprintf("host %q is not a standard IP address or name", host)}
	}
	res := p.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	addrs, err := res.LookupNetIP(ctx, network, host)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, &RefusedError{Reason: fmt.Sprintf("host %q cannot be resolved", host), Err: err}
	case len(addrs) == 0:
		return nil, &RefusedError{Reason: fmt.Sprintf("host %q has no address", host)}
	case allowed:
		return addrs, nil
	}
	// Every address, not only the first: the dialer may try any of them.
	for _, a := range addrs {
		if why := p.refusal(a); why != "" {
			return nil, &RefusedError{Reason: "host resolves to " + why, Addr: a}
		}
	}
	return addrs, nil
}

func (p *Policy) hostAllowed(host string) bool {
	return slices.ContainsFunc(p.AllowHosts, func(h string) bool {
		return strings.EqualFold(strings.TrimSuffix(h, "."), host)
	})
}

// endsInNumber reports whether the last label of host is a number as
// inet_aton reads one: decimal, octal or 0x-hex. C resolvers and browsers
// take "2130706433", "0x7f.1" or "0177.0.0.1" for IPv4 addresses (here all
// 127.0.0.1) where netip does not, and no top-level domain is numeric, so
// such a host is refused rather than given to a resolver to interpret.
// This is the WHATWG URL standard's "ends in a number" test.
func endsInNumber(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = rest, "0123456789abcdef"
	}
	return strings.Trim(last, digits) == ""
}

// refusal names the refused range that holds a, as "a loopback address",
// or returns "" if a may be reached.
func (p *Policy) refusal(a netip.Addr) string {
	a = a.WithZone("")
	if slices.ContainsFunc(p.AllowNetworks, func(n netip.Prefix) bool { return n.Contains(a) }) {
		return ""
	}
	// ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address.
	if a.Is4In6() {
		return p.refusal(a.Unmap())
	}
	for _, r := range refusedRanges {
		if !r.prefix.Contains(a) {
			continue
		}
		if r.embedded != nil {
			return p.refusal(r.embedded(a))
		}
		return r.name
	}
	if a.Is6() && !globalUnicast.Contains(a) {
		return "an unallocated address"
	}
	return ""
}
