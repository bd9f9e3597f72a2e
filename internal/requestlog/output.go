package requestlog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wharf-registry/wharf/internal/jsonstr"
)

// Output is the process's log output: an slog.Handler in slog's text or
// JSON format for ordinary lines, and WriteRequest for the one line every
// request writes, which it formats by hand in the same format. slog's
// handlers walk a general record (groups, attribute rewriting, any value
// kind) and format floats through encoding/json; for the request line,
// whose shape is fixed, that was most of what logging and metrics added to
// a cheap request.
type Output struct {
	slog.Handler
	out  *lockedWriter
	json bool
	bufs sync.Pool
	// second is the time of the last line, formatted to the second: the
	// lines of one second share it, and formatting a time whole was a
	// fifth of a line's cost.
	second atomic.Pointer[formattedSecond]
}

// formattedSecond is one second of one location in RFC 3339, split where
// the fraction goes.
type formattedSecond struct {
	unix       int64
	loc        *time.Location
	date, zone string // "2006-01-02T15:04:05", "Z07:00"
}

// lockedWriter serialises the lines of both paths: each is one Write, and
// a test's writer (a bytes.Buffer) may not be safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// NewOutput returns an Output writing to out, in JSON when json is set and
// in slog's key=value text otherwise, at slog's default level (info).
func NewOutput(out io.Writer, json bool) *Output {
	o := &Output{out: &lockedWriter{w: out}, json: json}
	if json {
		o.Handler = slog.NewJSONHandler(o.out, nil)
	} else {
		o.Handler = slog.NewTextHandler(o.out, nil)
	}
	o.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	return o
}

// Request is what a request line says; Record supplies the id, route,
// caller and error.
type Request struct {
	Level     slog.Level
	Record    *Record
	Face      string
	Method    string
	Path      string
	Status    int
	BytesOut  int64
	BytesIn   int64
	Took      time.Duration
	IP        string
	Completed time.Time
}

// WriteRequest writes req's line (message "request") if its level is
// enabled. The attributes and their order are those of the line slog
// would write for the same values.
func (o *Output) WriteRequest(ctx context.Context, req *Request) {
	if !o.Enabled(ctx, req.Level) {
		return
	}
	bp := o.bufs.Get().(*[]byte)
	b := (*bp)[:0]
	rec := req.Record
	if o.json {
		b = append(b, `{"time":"`...)
		b = o.appendTime(b, req.Completed, false)
		b = append(b, `","level":"`...)
		b = appendLevel(b, req.Level)
		b = append(b, `","msg":"request"`...)
	} else {
		b = append(b, "time="...)
		b = o.appendTime(b, req.Completed, true)
		b = append(b, " level="...)
		b = appendLevel(b, req.Level)
		b = append(b, " msg=request"...)
	}
	b = o.appendString(b, "request_id", rec.ID)
	b = o.appendString(b, "face", req.Face)
	b = o.appendString(b, "method", req.Method)
	b = o.appendString(b, "route", rec.Route)
	b = o.appendString(b, "path", req.Path)
	b = o.appendInt(b, "status", int64(req.Status))
	b = o.appendInt(b, "bytes", req.BytesOut)
	b = o.appendInt(b, "bytes_in", req.BytesIn)
	b = appendMillis(o.appendKey(b, "duration_ms"), req.Took.Microseconds())
	b = o.appendString(b, "ip", req.IP)
	if rec.CallerKind != "" {
		b = o.appendString(b, "caller_kind", rec.CallerKind)
		b = o.appendString(b, "caller", rec.CallerName)
	}
	if rec.Error != "" {
		b = o.appendString(b, "error", rec.Error)
	}
	if o.json {
		b = append(b, '}')
	}
	b = append(b, '\n')
	o.out.Write(b) // as slog's handlers: a log line that cannot be written is lost
	*bp = b
	o.bufs.Put(bp)
}

func (o *Output) appendKey(b []byte, key string) []byte {
	if o.json {
		return append(append(append(b, `,"`...), key...), `":`...)
	}
	return append(append(append(b, ' '), key...), '=')
}

func (o *Output) appendInt(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(o.appendKey(b, key), v, 10)
}

func (o *Output) appendString(b []byte, key, v string) []byte {
	b = o.appendKey(b, key)
	if o.json {
		return jsonstr.Append(b, v, jsonstr.Slog)
	}
	if needsQuoting(v) {
		return strconv.AppendQuote(b, v)
	}
	return append(b, v...)
}

// appendMillis appends µs in milliseconds with up to three decimals, the
// digits slog writes for the float64 µs/1000 (its shortest form), without
// the float formatting.
func appendMillis(b []byte, us int64) []byte {
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	b = strconv.AppendInt(b, us/1000, 10)
	return appendFraction(b, us%1000, 3, true)
}

// appendFraction appends "." and frac, a count of 10^-places, in places
// digits; trim drops trailing zeros, and the whole fraction when it is 0.
func appendFraction(b []byte, frac int64, places int, trim bool) []byte {
	var digits [9]byte
	for i := places - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := places
	for trim && n > 0 && digits[n-1] == '0' {
		n--
	}
	if n == 0 {
		return b
	}
	return append(append(b, '.'), digits[:n]...)
}

// appendTime appends t as slog writes it: RFC 3339 with the nanoseconds
// trimmed of trailing zeros (JSON, time.RFC3339Nano) or with exactly three
// fraction digits (text).
func (o *Output) appendTime(b []byte, t time.Time, millis bool) []byte {
	sec := o.second.Load()
	if sec == nil || sec.unix != t.Unix() || sec.loc != t.Location() {
		sec = &formattedSecond{unix: t.Unix(), loc: t.Location(),
			date: t.Format("2006-01-02T15:04:05"), zone: t.Format("Z07:00")}
		o.second.Store(sec)
	}
	b = append(b, sec.date...)
	ns := int64(t.Nanosecond())
	if millis {
		b = appendFraction(b, ns/1e6, 3, false)
	} else {
		b = appendFraction(b, ns, 9, true)
	}
	return append(b, sec.zone...)
}

// appendLevel appends l's name; the request levels' without formatting.
func appendLevel(b []byte, l slog.Level) []byte {
	switch l {
	case slog.LevelInfo:
		return append(b, "INFO"...)
	case slog.LevelDebug:
		return append(b, "DEBUG"...)
	}
	return append(b, l.String()...)
}

// needsQuoting says whether a text value must be quoted, by slog's rule:
// empty, or holding a space, '=', '"', an ASCII control character below
// the space, a non-ASCII space or non-printing character, or invalid UTF-8.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
