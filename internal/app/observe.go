package app

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/console"
	"github.com/wharf-registry/wharf/internal/logexport"
	"github.com/wharf-registry/wharf/internal/metrics"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Faces as request logs and metrics name them.
const (
	faceAPI      = "api"
	faceRegistry = "registry"
	faceOps      = "ops" // health probes and /metrics
	faceConsole  = "console"
)

// observe is the outermost handler: it answers the operations endpoints
// (ops, by exact path) ahead of both faces, and for every request writes
// one log line and records its metrics once the response is done. The
// request id it makes is in the X-Request-Id header and on every log line
// written with the request's context. out writes the line itself (it
// names the id without the handler that adds it).
//
// What the line says of the route and caller comes from the faces
// (requestlog.Record): the registry names its route kind and its token's
// holder; the API's route is the ServeMux pattern that matched, which the
// mux sets on the request it was given, and the API names the caller it
// authenticated. Probes and scrapes are logged at debug level, so that the
// default level shows requests, not a load balancer's heartbeat.
func observe(next http.Handler, ops map[string]http.Handler, m *metrics.Metrics, out *requestlog.Output) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		x := &exchange{rec: requestlog.Record{ID: requestlog.NewID()}}
		rec, rw, body := &x.rec, &x.rw, &x.body
		x.idHeader[0] = rec.ID
		w.Header()["X-Request-Id"] = x.idHeader[:] // canonical already
		r = r.WithContext(x.ctx.Carry(r.Context(), rec))
		body.ReadCloser = r.Body
		if r.Body != nil { // a server's requests always have one; a test's may not
			r.Body = body
		}
		rw.ResponseWriter = w

		face := faceAPI
		if h, ok := ops[r.URL.Path]; ok {
			face = faceOps
			rec.SetRoute(r.URL.Path)
			h.ServeHTTP(rw, r)
		} else {
			if r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/") {
				face = faceRegistry
			} else if console.Owns(r.URL.Path) {
				face = faceConsole
				rec.SetRoute(consoleRoute(r.URL.Path))
			}
			next.ServeHTTP(rw, r)
		}
		if face == faceAPI && rec.Route == "" {
			rec.SetRoute(apiRoute(r.Pattern))
		}
		status := rw.status
		if status == 0 {
			status = http.StatusOK // a handler that wrote nothing answered 200
		}
		took := time.Since(start)

		m.Request(face, rec.Route, r.Method, status, took)
		if face == faceRegistry {
			switch rec.Route {
			case "upload", "manifest":
				m.Pushed(rec.Route, body.n)
			}
			if (rec.Route == "blob" || rec.Route == "manifest") && r.Method == http.MethodGet {
				m.Pulled(rec.Route, rw.n)
			}
		}
		if rec.Error == string(wharf.QuotaExceeded) {
			m.QuotaRefused(face)
		}

		level := slog.LevelInfo
		if face == faceOps {
			level = slog.LevelDebug
		}
		out.WriteRequest(r.Context(), &requestlog.Request{
			Level: level, Record: rec, Face: face, Method: r.Method, Path: logexport.RedactPath(r.URL.Path), Status: status,
			BytesOut: rw.n, BytesIn: body.n, Took: took, IP: clientIP(r), Completed: start.Add(took),
		})
	})
}

// exchange is what observe keeps of one request, in one allocation.
type exchange struct {
	rec      requestlog.Record
	rw       recorder
	body     countingBody
	idHeader [1]string
	ctx      requestlog.Carrier
}

// apiRoute is the route label of an /api/v1 pattern: without the method
// some patterns start with (the method has its own label); "unmatched"
// for requests no pattern matched (404s, and refusals before the mux).
func apiRoute(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return pattern[i+1:]
	}
	return pattern
}

// consoleRoute is the route label of a console path: its assets, or a page.
func consoleRoute(path string) string {
	if strings.HasPrefix(path, "/static/") {
		return "/static/"
	}
	return "/"
}

// clientIP is the TCP peer's address, without the port.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// recorder notes the status and the number of body bytes of a response.
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 && code >= 200 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(p []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(p)
	rw.n += int64(n)
	return n, err
}

// ReadFrom keeps the server's zero-copy path for blobs (sendfile from a
// local file) while counting the bytes.
func (rw *recorder) ReadFrom(src io.Reader) (int64, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := rw.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{rw.ResponseWriter}, src)
	}
	rw.n += n
	return n, err
}

// Flush passes a flush on, for handlers that stream.
func (rw *recorder) Flush() {
	if f, ok := rw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// writerOnly hides every method but Write, so io.Copy cannot loop back
// into recorder.ReadFrom.
type writerOnly struct{ io.Writer }

// countingBody counts the request body bytes the handler read.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
