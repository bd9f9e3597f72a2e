package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// errCode is one OCI distribution error code with its HTTP status.
type errCode struct {
	name   string
	status int
}

// The OCI distribution-spec error codes wharf answers with.
var (
	errBlobUnknown        = errCode{"BLOB_UNKNOWN", http.StatusNotFound}
	errBlobUploadInvalid  = errCode{"BLOB_UPLOAD_INVALID", http.StatusBadRequest}
	errBlobUploadUnknown  = errCode{"BLOB_UPLOAD_UNKNOWN", http.StatusNotFound}
	errDigestInvalid      = errCode{"DIGEST_INVALID", http.StatusBadRequest}
	errManifestBlobUnkown = errCode{"MANIFEST_BLOB_UNKNOWN", http.StatusBadRequest}
	errManifestInvalid    = errCode{"MANIFEST_INVALID", http.StatusBadRequest}
	errManifestUnknown    = errCode{"MANIFEST_UNKNOWN", http.StatusNotFound}
	errNameInvalid        = errCode{"NAME_INVALID", http.StatusBadRequest}
	errNameUnknown        = errCode{"NAME_UNKNOWN", http.StatusNotFound}
	errTooLarge           = errCode{"SIZE_INVALID", http.StatusRequestEntityTooLarge}
	errRangeInvalid       = errCode{"BLOB_UPLOAD_INVALID", http.StatusRequestedRangeNotSatisfiable}
	errTagInvalid         = errCode{"TAG_INVALID", http.StatusBadRequest}
	errUnauthorized       = errCode{"UNAUTHORIZED", http.StatusUnauthorized}
	errDenied             = errCode{"DENIED", http.StatusForbidden}
	errUnsupported        = errCode{"UNSUPPORTED", http.StatusMethodNotAllowed}
	errPaginationInvalid  = errCode{"PAGINATION_NUMBER_INVALID", http.StatusBadRequest}
	errTooManyRequests    = errCode{"TOOMANYREQUESTS", http.StatusTooManyRequests}
	errUnknown            = errCode{"UNKNOWN", http.StatusInternalServerError}
	errUnavailable        = errCode{"UNAVAILABLE", http.StatusServiceUnavailable}
)

// registryError is an error the /v2 API reports in the OCI envelope.
type registryError struct {
	code    errCode
	message string
	detail  any
}

func (e *registryError) Error() string { return e.code.name + ": " + e.message }

func ociError(code errCode, format string, args ...any) *registryError {
	return &registryError{code: code, message: fmt.Sprintf(format, args...)}
}

type errorBody struct {
	Errors []errorItem `json:"errors"`
}

type errorItem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// WriteError is the one place /v2 errors become HTTP. Domain errors map by
// code; anything unclassified is an internal fault, logged, shown generically.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var re *registryError
	rec := requestlog.FromContext(r.Context())
	if errors.As(err, &re) {
		rec.SetError(re.code.name)
	} else {
		rec.SetError(string(wharf.ErrorCode(err)))
		switch wharf.ErrorCode(err) {
		case wharf.Invalid:
			re = ociError(errBlobUploadInvalid, "%s", wharf.ErrorMessage(err))
		case wharf.NotFound:
			re = ociError(errNameUnknown, "%s", wharf.ErrorMessage(err))
		case wharf.Forbidden:
			re = ociError(errDenied, "%s", wharf.ErrorMessage(err))
		case wharf.Unauthenticated:
			re = ociError(errUnauthorized, "%s", wharf.ErrorMessage(err))
		case wharf.QuotaExceeded:
			re = ociError(errDenied, "%s", wharf.ErrorMessage(err))
		case wharf.TooLarge:
			re = ociError(errTooLarge, "%s", wharf.ErrorMessage(err))
		case wharf.Unavailable:
			re = ociError(errUnavailable, "%s", wharf.ErrorMessage(err))
		case wharf.TooManyRequests:
			re = ociError(errTooManyRequests, "%s", wharf.ErrorMessage(err))
		case wharf.Internal:
			if r.Context().Err() != nil {
				// The client went away (crane cancels a push's parallel
				// uploads once one fails): no fault of ours.
				s.log.InfoContext(r.Context(), "registry request abandoned by the client", slog.String("method", r.Method),
					slog.String("path", r.URL.Path), slog.Any("err", err))
			} else {
				s.log.ErrorContext(r.Context(), "registry request failed", slog.String("method", r.Method),
					slog.String("path", r.URL.Path), slog.Any("err", err))
			}
			re = ociError(errUnknown, "internal server error")
		default:
			s.log.ErrorContext(r.Context(), "registry request failed", slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.Any("err", err))
			re = ociError(errUnknown, "internal server error")
		}
	}
	if re.code.status == http.StatusUnauthorized {
		s.challenge(w, r, nil)
	}
	if secs, ok := wharf.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(re.code.status)
	if r.Method == http.MethodHead {
		return
	}
	json.NewEncoder(w).Encode(errorBody{Errors: []errorItem{{Code: re.code.name, Message: re.message, Detail: re.detail}}})
}
