package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// maxRedirects is how many redirects the Client follows for one request.
const maxRedirects = 5

// Client returns an HTTP client that can only reach what the policy
// allows, whatever URL it is given: its dialer resolves and checks every
// host itself and connects to the checked address, it follows at most 5
// redirects, each checked with Check and never from https to http, and it
// uses no proxy. timeout bounds each request, redirects and body included
// (see http.Client.Timeout).
func (p *Policy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout:       timeout,
		CheckRedirect: p.checkRedirect,
		// Proxy stays nil: environment proxies are not consulted.
		Transport: &http.Transport{
			DialContext:           p.dialContext(dialer),
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          10,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
}

// dialContext resolves and checks the host of addr at connect time and
// dials the checked addresses, never the name: a second lookup by the
// dialer could return another answer than the one checked.
func (p *Policy) dialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if !validPort(port) {
			return nil, &RefusedError{Reason: fmt.Sprintf("port %s is out of range", port)}
		}
		n, _ := strconv.Atoi(port)
		ipNetwork := "ip"
		if v, ok := strings.CutPrefix(network, "tcp"); ok && v != "" {
			ipNetwork += v // tcp4 → ip4, tcp6 → ip6
		}
		addrs, err := p.addrs(ctx, ipNetwork, host)
		if err != nil {
			return nil, err
		}
		var errs []error
		for _, a := range addrs {
			c, err := d.DialContext(ctx, network, netip.AddrPortFrom(a, uint16(n)).String())
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}
}

// checkRedirect checks each redirect target like the first URL, since a
// public server may redirect to an internal one.
func (p *Policy) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return &RefusedError{URL: redact(req.URL), Reason: fmt.Sprintf("it redirects more than %d times", maxRedirects)}
	}
	if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return &RefusedError{URL: redact(req.URL), Reason: "it redirects from https to " + req.URL.Scheme}
	}
	_, err := p.Check(req.Context(), req.URL.String())
	return err
}
