package dbtest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Outage stands between wharf and the test PostgreSQL as a TCP proxy that
// a test can cut and restore, to see how wharf lives through a database
// outage without stopping the PostgreSQL other tests share. Cut closes
// every proxied connection and the listening port, so connecting is
// refused as it is when the server is down; Restore listens again on the
// same port.
type Outage struct {
	t      testing.TB
	target string // host:port of the real server
	addr   string // host:port of the proxy

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// NewOutage returns a proxy in front of the PostgreSQL of uri (a URI from
// URI) and the same URI pointing at the proxy. The proxy stops when the
// test ends.
func NewOutage(t testing.TB, uri string) (*Outage, string) {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		t.Fatalf("outage proxy: %q is not a PostgreSQL URI with a host", uri)
	}
	o := &Outage{t: t, target: u.Host, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.addr = ln.Addr().String()
	o.serve(ln)
	t.Cleanup(func() {
		o.Cut()
		o.wg.Wait()
	})
	u.Host = o.addr
	return o, u.String()
}

// Cut makes the database unreachable: open connections are closed and new
// ones refused.
func (o *Outage) Cut() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ln != nil {
		o.ln.Close()
		o.ln = nil
	}
	for c := range o.conns {
		c.Close()
	}
	clear(o.conns)
}

// Restore makes the database reachable again on the same address.
func (o *Outage) Restore() {
	o.t.Helper()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		o.t.Fatalf("outage proxy: listen again on %s: %v", o.addr, err)
	}
	o.serve(ln)
}

func (o *Outage) serve(ln net.Listener) {
	o.mu.Lock()
	o.ln = ln
	o.mu.Unlock()
	o.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // cut
			}
			o.wg.Go(func() { o.pipe(c) })
		}
	})
}

// pipe copies between one client and the real server until either side
// or a Cut closes the connection.
func (o *Outage) pipe(client net.Conn) {
	server, err := net.Dial("tcp", o.target)
	if err != nil {
		client.Close()
		return
	}
	o.mu.Lock()
	if o.ln == nil { // cut while dialling
		o.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	o.conns[client], o.conns[server] = true, true
	o.mu.Unlock()
	var wg sync.WaitGroup
	// Either direction ending (a close, a reset, a Cut) ends both.
	copyThenClose := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	wg.Go(func() { copyThenClose(server, client) })
	wg.Go(func() { copyThenClose(client, server) })
	wg.Wait()
	o.mu.Lock()
	delete(o.conns, client)
	delete(o.conns, server)
	o.mu.Unlock()
}
