package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/wharf-registry/wharf/internal/logexport"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// invalidResponse is Quay's InvalidResponse: a 400 that some endpoints
// answer for a missing object (the superuser build views, spec §2.22).
const invalidResponse wharf.Code = "invalid_response"

// problemType is Quay's error_type for each wharf code, with its status.
var problemTypes = map[wharf.Code]struct {
	status int
	kind   string
}{
	wharf.Invalid:              {http.StatusBadRequest, "invalid_request"},
	invalidResponse:            {http.StatusBadRequest, "invalid_response"},
	wharf.Unauthenticated:      {http.StatusUnauthorized, "invalid_token"},
	wharf.FreshLoginRequired:   {http.StatusUnauthorized, "fresh_login_required"},
	wharf.Forbidden:            {http.StatusForbidden, "insufficient_scope"},
	wharf.NotFound:             {http.StatusNotFound, "not_found"},
	wharf.Conflict:             {http.StatusConflict, "conflict"},
	wharf.TooLarge:             {http.StatusRequestEntityTooLarge, "request_too_large"},
	wharf.UnsupportedMediaType: {http.StatusUnsupportedMediaType, "unsupported_media_type"},
	wharf.TooManyRequests:      {http.StatusTooManyRequests, "too_many_requests"},
	wharf.Unavailable:          {http.StatusServiceUnavailable, "service_unavailable"},
	wharf.Internal:             {http.StatusInternalServerError, "internal_error"},
}

// problem is the one error body of /api/v1: Quay's ApiException JSON plus
// "message" (same text as detail) for clients that read Quay's other format.
type problem struct {
	Detail       string `json:"detail"`
	ErrorMessage string `json:"error_message"`
	ErrorType    string `json:"error_type"`
	Title        string `json:"title"`
	Type         string `json:"type"`
	Status       int    `json:"status"`
	Message      string `json:"message"`
}

// WriteError is the single place where /api/v1 errors become HTTP. Internal
// faults are logged with their cause and shown as a generic message.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	code := wharf.ErrorCode(err)
	requestlog.FromContext(r.Context()).SetError(string(code))
	pt, ok := problemTypes[code]
	if !ok {
		pt = problemTypes[wharf.Internal]
	}
	msg := wharf.ErrorMessage(err)
	if code == wharf.Internal {
		s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("path", logexport.RedactPath(r.URL.Path)), slog.Any("err", err))
	}
	if secs, ok := wharf.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	body := problem{Detail: msg, ErrorMessage: msg, ErrorType: pt.kind, Title: pt.kind,
		Type: s.site.baseURL(r) + "/api/v1/error/" + pt.kind, Status: pt.status, Message: msg}
	writeJSON(w, pt.status, body)
}

// errorDescriptions documents each error type at GET /api/v1/error/{type}.
var errorDescriptions = map[string]string{
	"invalid_request":        "The request is missing a required parameter, includes an invalid parameter value, or is otherwise malformed.",
	"invalid_response":       "The response was invalid: the object it is about cannot be found.",
	"invalid_token":          "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
	"fresh_login_required":   "The action requires a fresh login to succeed.",
	"insufficient_scope":     "The request requires higher privileges than provided by the access token.",
	"not_found":              "The resource does not exist.",
	"conflict":               "The request conflicts with the current state of the resource.",
	"request_too_large":      "The request body is larger than the server accepts.",
	"too_many_requests":      "A limit refuses the request for now: try again later.",
	"unsupported_media_type": "The request body must be JSON sent with Content-Type: application/json.",
	"service_unavailable":    "The service refuses this call for now: the registry is read-only (pulls work, writes are suspended), or its database cannot be reached.",
	"internal_error":         "An internal error occurred; the server logged the details.",
}

func (s *Server) getErrorType(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	kind := r.PathValue("error_type")
	desc, ok := errorDescriptions[kind]
	if !ok {
		return wharf.Errorf(wharf.NotFound, "Not Found")
	}
	writeJSON(w, http.StatusOK, map[string]string{"type": s.site.baseURL(r) + "/api/v1/error/" + kind, "title": kind, "description": desc})
	return nil
}

// writeJSON writes v as the response body with status.
// viewBuffers keep the buffers typed views are written into: a page of a
// hundred users is some 60 KB, and growing a fresh buffer to that size
// by doubling cost more than writing it. Buffers past maxPooledView (a
// rare huge page) are left to the collector rather than kept.
var viewBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledView = 1 << 20

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusNoContent {
		return
	}
	if a, ok := v.(jsonAppender); ok {
		bp := viewBuffers.Get().(*[]byte)
		b := append(a.appendJSON((*bp)[:0]), '\n') // as Encoder.Encode ends a value
		w.Write(b)
		if cap(b) <= maxPooledView {
			*bp = b
			viewBuffers.Put(bp)
		}
		return
	}
	json.NewEncoder(w).Encode(v)
}

var errNotFound = wharf.Errorf(wharf.NotFound, "Not Found")
