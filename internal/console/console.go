// Package console serves wharf's web console: a single-page application of
// plain ES modules and hand-written CSS, embedded in the binary, that acts
// only as a client of /api/v1 (a session cookie plus its CSRF token), so
// every decision it shows was made by the application core.
//
//	GET /                        index.html (no-cache): the shell that loads the modules
//	GET /<page path>             the same shell; the router reads the page from the URL
//	GET /static/<version>/<file> an embedded asset, gzip'd once at start, cached for a year
//
// <version> is a digest of every embedded asset, so a new binary's assets
// have new URLs and a browser never mixes two versions' modules. Every
// response carries a strict Content-Security-Policy: scripts, styles,
// images and connections from this origin only, no inline script or
// style, no eval, and the console may not be framed.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed assets
var embedded embed.FS

// CSP is the Content-Security-Policy of every console response.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// pagePrefixes are the first path segments of the console's pages: the
// front sends these (and "/") to the console, everything else to the API
// and the registry as before.
var pagePrefixes = map[string]bool{
	"static": true, "signin": true, "setup": true, "superuser": true, "account": true,
	"organization": true, "repository": true, "user": true,
}

// Owns reports whether path is the console's: "/" or a page or asset path.
func Owns(path string) bool {
	if path == "/" {
		return true
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return pagePrefixes[first]
}

// asset is one embedded file, ready to serve.
type asset struct {
	body, gz    []byte
	contentType string
	etag        string
}

// Handler serves the console.
type Handler struct {
	assets  map[string]*asset // by path under assets/
	index   *asset
	version string
}

// New reads and compresses the embedded assets once.
func New() (*Handler, error) {
	h := &Handler{assets: map[string]*asset{}}
	sum := sha256.New()
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		sum.Write([]byte(name))
		sum.Write(body)
		h.assets[name] = newAsset(name, body)
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:16]
	shell := h.assets["index.html"]
	delete(h.assets, "index.html")
	h.index = newAsset("index.html", bytes.ReplaceAll(shell.body, []byte("{{version}}"), []byte(h.version)))
	return h, nil
}

func newAsset(name string, body []byte) *asset {
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // not left to the system's MIME tables
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".html":
		ctype = "text/html; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	tag := sha256.Sum256(body)
	return &asset{body: body, gz: gz.Bytes(), contentType: ctype, etag: `"` + hex.EncodeToString(tag[:8]) + `"`}
}

// Version is the digest in the assets' URLs.
func (h *Handler) Version() string { return h.version }

// ServeHTTP serves an asset under /static/<version>/ or the shell for any
// other console path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", CSP)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/static/"); ok {
		version, name, _ := strings.Cut(rest, "/")
		a := h.assets[name]
		if version != h.version || a == nil {
			http.NotFound(w, r)
			return
		}
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.write(w, r, a)
		return
	}
	hdr.Set("Cache-Control", "no-cache")
	h.write(w, r, h.index)
}

// write sends a, gzip'd when the client accepts it, or 304 when the
// client's copy is current.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, a *asset) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("ETag", a.etag)
	hdr.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		hdr.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip (and
// does not refuse it with q=0).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
