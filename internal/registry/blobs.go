package registry

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// blobTarget checks that req may do action on its repository and parses
// the blob digest of its path.
func (s *Server) blobTarget(ctx context.Context, req *request, action string) (*wharf.Repository, Digest, error) {
	repo, err := s.authorize(ctx, req, action)
	if err != nil {
		return nil, "", err
	}
	d, err := ParseDigest(req.route.ref)
	if err != nil {
		return nil, "", err
	}
	if repo == nil {
		return nil, "", ociError(errBlobUnknown, "blob unknown to registry")
	}
	return repo, d, nil
}

// blobError reports a store NotFound as the OCI BLOB_UNKNOWN.
func blobError(err error) error {
	if wharf.IsCode(err, wharf.NotFound) {
		return ociError(errBlobUnknown, "blob unknown to registry")
	}
	return err
}

// getBlob serves GET and HEAD of a blob, streaming it from storage, with
// single-range requests answered 206.
func (s *Server) getBlob(w http.ResponseWriter, r *http.Request, req *request) error {
	repo, d, err := s.blobTarget(r.Context(), req, "pull")
	if err != nil {
		return err
	}
	size, err := s.Store.ServedBlobSize(r.Context(), repo.ID, d.String())
	if err != nil {
		return blobError(err)
	}
	start, end, partial, err := parseRange(r.Header.Get("Range"), size)
	if err != nil {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		return err
	}
	// Storage is asked before any header is written, so that a blob whose
	// content is lost gets a whole BLOB_UNKNOWN answer, not a 200's
	// headers over an error body.
	var rd io.ReadCloser
	if r.Method == http.MethodHead {
		_, err = s.Blobs.Stat(r.Context(), blobKey(d))
	} else {
		rd, err = s.Blobs.Reader(r.Context(), blobKey(d), start)
	}
	if wharf.IsCode(err, wharf.NotFound) {
		s.log.ErrorContext(r.Context(), "blob content is missing from storage", slog.String("digest", d.String()))
		return ociError(errBlobUnknown, "blob content is missing from storage")
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Accept-Ranges", "bytes")
	h.Set("Etag", `"`+d.String()+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end-1, 10)+"/"+strconv.FormatInt(size, 10))
	}
	if rd == nil {
		w.WriteHeader(status)
		return nil
	}
	defer rd.Close()
	w.WriteHeader(status)
	// Headers are sent: a failure now can only cut the stream short, which
	// the client detects by Content-Length and digest. A read to the end
	// goes through the driver's WriterTo, which lets the kernel send a file
	// straight to the socket.
	if end == size {
		io.Copy(w, rd)
	} else {
		io.CopyN(w, rd, end-start)
	}
	return nil
}

// parseRange reads a single "bytes=a-b" range over size bytes and returns
// the half-open span [start, end). No header = the whole blob.
func parseRange(header string, size int64) (start, end int64, partial bool, err error) {
	if header == "" {
		return 0, size, false, nil
	}
	bad := ociError(errRangeInvalid, "invalid or unsatisfiable range %q", truncate(header))
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok || strings.Contains(spec, ",") || size == 0 {
		// An empty blob has no byte any range could select.
		return 0, 0, false, bad
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, false, bad
	}
	switch {
	case first == "": // suffix: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false, bad
		}
		return max(size-n, 0), size, true, nil
	default:
		a, err := strconv.ParseInt(first, 10, 64)
		if err != nil || a < 0 || a >= size {
			return 0, 0, false, bad
		}
		b := size - 1
		if last != "" {
			if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
				return 0, 0, false, bad
			}
			b = min(b, size-1)
		}
		return a, b + 1, true, nil
	}
}

// deleteBlob unlinks a blob from the repository (202). Its bytes stay
// while other repositories or manifests use them.
func (s *Server) deleteBlob(w http.ResponseWriter, r *http.Request, req *request) error {
	repo, d, err := s.blobTarget(r.Context(), req, "push")
	if err != nil {
		return err
	}
	if err := s.Store.UnlinkBlob(r.Context(), repo.ID, d.String()); err != nil {
		return blobError(err)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
