// Package requestlog carries what one HTTP request's log line and metrics
// say about it. The front of the server (package app) puts a Record in the
// request's context; the face that serves the request fills it in as it
// learns things — the route it matched, the caller once it has
// authenticated, the error code it answered with — so the line written
// after the response says what the faces decided, without parsing
// credentials or paths a second time.
//
//	app front ──NewContext(rec)──► api / registry ──SetRoute, SetCaller, SetError──► rec
//	    └──────── after the response: one log line + metrics from rec ◄──────────────┘
//
// Every method is safe on a nil *Record (a request served without the
// front, as some tests and benchmarks do), so faces need not check.
package requestlog

import (
	"context"
	"log/slog"
	"math/rand/v2"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Caller kinds, as the log line names them.
const (
	Anonymous = "anonymous"
	User      = "user"    // a user's password (Basic auth, /v2/auth)
	Session   = "session" // a browser session cookie
	OAuth     = "oauth"   // an OAuth access token, or a registry token earned with one
	Robot     = "robot"   // a robot's token
	Build     = "build"   // a build worker's token
)

// Record is what is known about one request. Only the goroutine serving
// the request writes it, and the front reads it once the face returned, so
// it needs no lock.
type Record struct {
	// ID identifies the request in every log line about it and in the
	// X-Request-Id response header.
	ID string
	// Route is the face's name for what the request addressed: an
	// /api/v1 ServeMux pattern, a /v2 route kind. Never a raw path.
	Route string
	// CallerKind and CallerName say who the faces found the caller to be
	// (a kind constant and an account name); "" until a face says.
	CallerKind, CallerName string
	// Error is the code of the error the face answered with, in the
	// face's words: a wharf code ("quota_exceeded", "internal") or, on
	// /v2, an OCI code of the registry's own ("BLOB_UNKNOWN").
	Error string
}

// NewID returns a fresh request id: 16 random hex digits. An id names a
// request in logs, it guards nothing, so it comes from the runtime's fast
// per-thread generator rather than the operating system's.
func NewID() string {
	const digits = "0123456789abcdef"
	var b [16]byte
	v := rand.Uint64()
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}

type contextKey struct{}

// NewContext returns ctx carrying rec.
func NewContext(ctx context.Context, rec *Record) context.Context {
	return context.WithValue(ctx, contextKey{}, rec)
}

// Carrier is a context carrying a Record, as NewContext's is. Kept beside
// the Record it carries (the front keeps one per request), it spares the
// allocation of NewContext's on every request.
type Carrier struct {
	context.Context
	rec *Record
}

// Carry makes c parent carrying rec and returns it.
func (c *Carrier) Carry(parent context.Context, rec *Record) context.Context {
	c.Context, c.rec = parent, rec
	return c
}

// Value returns the record for FromContext and asks the parent otherwise.
func (c *Carrier) Value(key any) any {
	if _, ok := key.(contextKey); ok {
		return c.rec
	}
	return c.Context.Value(key)
}

// FromContext returns the record ctx carries, nil when none.
func FromContext(ctx context.Context) *Record {
	rec, _ := ctx.Value(contextKey{}).(*Record)
	return rec
}

// SetRoute records the route the request matched.
func (r *Record) SetRoute(route string) {
	if r != nil {
		r.Route = route
	}
}

// SetCaller records the caller by kind and account name.
func (r *Record) SetCaller(kind, name string) {
	if r != nil {
		r.CallerKind, r.CallerName = kind, name
	}
}

// SetWharfCaller records c, as a face learned it from a login.
func (r *Record) SetWharfCaller(c *wharf.Caller) {
	if r != nil {
		r.SetCaller(KindOf(c), c.Name())
	}
}

// SetError records the code of the error the face answered with.
func (r *Record) SetError(code string) {
	if r != nil {
		r.Error = code
	}
}

// KindOf names the credential c presented.
func KindOf(c *wharf.Caller) string {
	switch {
	case c == nil:
		return Anonymous
	case c.Build != nil:
		return Build
	case c.Robot != nil:
		return Robot
	case c.Token != nil:
		return OAuth
	case c.Session != nil:
		return Session
	case c.Account != nil:
		return User
	}
	return Anonymous
}

// Handler adds the request id to every record logged with a context that
// carries one, so that a fault a face logs can be matched with the
// request's line (the id is the "request_id" attribute).
type Handler struct{ slog.Handler }

// Handle adds request_id when ctx carries a Record.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	if rec := FromContext(ctx); rec != nil {
		r.AddAttrs(slog.String("request_id", rec.ID))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the request id on loggers derived with With.
func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the request id on loggers derived with WithGroup.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{h.Handler.WithGroup(name)}
}
