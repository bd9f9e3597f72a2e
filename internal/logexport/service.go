// Package logexport exports a namespace's or a repository's action log to
// a file, as Quay's POST …/exportlogs and its export worker do:
//
//	POST …/exportlogs ──Queue──▶ log_export row (pending) + export_logs_success
//	                    └─ refused input ─▶ export_logs_failure, 400
//	export job ──NextLogExport──▶ write exportedactionlogs/<export_id>-<random> (streamed)
//	            ──▶ POST the callback URL (outbound client; retried while it fails)
//	            ──▶ done / abandoned
//	GET /exportedlogs/<export_id>-<random> ──Open──▶ the file
//
// The file name holds a random UUID beside the export_id, so that knowing
// an export_id (it is in the action log) is not enough to download it.
// wharf has no mail sender: a callback e-mail is accepted, as Quay
// accepts it, and recorded as not sent.
package logexport

import (
	"context"
	"crypto/subtle"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/auditlog"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is what queueing an export writes.
type Store interface {
	// QueueLogExport stores x, due at once, with entries; TooManyRequests
	// when its namespace has maxWaiting exports not written yet.
	QueueLogExport(ctx context.Context, x *wharf.LogExport, maxWaiting int, entries ...wharf.LogEntry) error
	// AppendLogs writes entries that accompany no other change.
	AppendLogs(ctx context.Context, entries ...wharf.LogEntry) error
	// LogExportByUUID returns the export uuid; NotFound if there is none.
	LogExportByUUID(ctx context.Context, uuid string) (*wharf.LogExport, error)
}

// URLChecker vets a user-given URL (outbound.Policy): a refusal is a
// wharf.Invalid error.
type URLChecker interface {
	Check(ctx context.Context, raw string) (*url.URL, error)
}

// Service queues exports and opens the files the export job wrote.
type Service struct {
	store Store
	urls  URLChecker
	blobs storage.Driver
	now   func() time.Time
}

// NewService returns a Service storing requests in store, vetting
// callback URLs with urls and reading exported files from blobs.
func NewService(store Store, urls URLChecker, blobs storage.Driver, now func() time.Time) *Service {
	return &Service{store: store, urls: urls, blobs: blobs, now: now}
}

// Request is one export request, from a caller already allowed to make it.
type Request struct {
	Namespace  *wharf.Account
	Repository *wharf.Repository // nil: the whole namespace
	// StartTime and EndTime are the request's starttime and endtime, read
	// as the log lists read them (auditlog.ParseWindow).
	StartTime, EndTime string
	CallbackURL        string // "": none
	CallbackEmail      string // "": none
}

// uuidLen is the length of a UUID's text.
const uuidLen = 36

// storagePrefix is where exported files go (Quay's
// EXPORT_ACTION_LOGS_STORAGE_PATH default).
const storagePrefix = "exportedactionlogs/"

// maxWaitingExports bounds the exports of one namespace waiting for their
// file: the job writes them one at a time, so one caller's loop of
// requests must not starve everyone else's.
const maxWaitingExports = 10

// Queue validates r and queues its export, logging export_logs_success,
// and returns the export_id. Invalid input (a bad window, a callback URL
// the outbound policy refuses, an e-mail without '@') is logged as
// export_logs_failure and returned as a wharf.Invalid error.
func (s *Service) Queue(ctx context.Context, c *wharf.Caller, r Request) (string, error) {
	now := s.now()
	win, err := s.validate(ctx, r, now)
	if err != nil && !wharf.IsCode(err, wharf.Invalid) {
		return "", err // not the request's fault (a done context): nothing to log
	}
	if err != nil {
		meta := s.metadata(r, now)
		meta["error"] = wharf.ErrorMessage(err)
		if lerr := s.store.AppendLogs(ctx, s.entry(c, "export_logs_failure", r, meta)); lerr != nil {
			return "", lerr
		}
		return "", err
	}
	id := wharf.NewUUID()
	x := &wharf.LogExport{UUID: id, FileName: id + "-" + wharf.NewUUID(),
		NamespaceID: r.Namespace.ID, NamespaceName: r.Namespace.Name,
		Start: win.Start, End: win.End, CallbackURL: r.CallbackURL, CallbackEmail: r.CallbackEmail}
	if r.Repository != nil {
		x.RepositoryID, x.RepositoryName = r.Repository.ID, r.Repository.Name
	}
	meta := s.metadata(r, now)
	meta["export_id"], meta["message"] = id, "queued for export"
	if err := s.store.QueueLogExport(ctx, x, maxWaitingExports, s.entry(c, "export_logs_success", r, meta)); err != nil {
		return "", err
	}
	return id, nil
}

// validate checks r in Quay's order (callback URL, e-mail, window) and
// returns its window.
func (s *Service) validate(ctx context.Context, r Request, now time.Time) (auditlog.Window, error) {
	if r.CallbackURL != "" {
		if _, err := s.urls.Check(ctx, r.CallbackURL); err != nil {
			if !wharf.IsCode(err, wharf.Invalid) {
				return auditlog.Window{}, err
			}
			return auditlog.Window{}, wharf.Errorf(wharf.Invalid, "Invalid callback URL")
		}
	}
	if r.CallbackEmail != "" && !strings.Contains(r.CallbackEmail, "@") {
		return auditlog.Window{}, wharf.Errorf(wharf.Invalid, "Invalid callback e-mail")
	}
	return auditlog.ParseWindow(r.StartTime, r.EndTime, now, 0)
}

// metadata is what both export log kinds record, as Quay does.
func (s *Service) metadata(r Request, now time.Time) map[string]any {
	meta := map[string]any{"date/time": now.UTC().Format(pythonDatetime), "url": nullable(r.CallbackURL),
		"email": nullable(r.CallbackEmail)}
	if r.Repository != nil {
		meta["repo"] = r.Repository.Name
	}
	return meta
}

// pythonDatetime is how Quay's str(datetime.utcnow()) reads.
const pythonDatetime = "2006-01-02 15:04:05.000000"

func (s *Service) entry(c *wharf.Caller, kind string, r Request, meta map[string]any) wharf.LogEntry {
	if r.Repository != nil {
		return c.RepositoryEntry(kind, r.Repository, meta)
	}
	return c.Entry(kind, r.Namespace, meta)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Open returns the exported file named name and its size. NotFound for a
// name that is not an export's, or whose file is not written (yet) or
// has expired.
func (s *Service) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	notFound := wharf.Errorf(wharf.NotFound, "Not Found")
	if !validFileName(name) {
		return nil, 0, notFound
	}
	x, err := s.store.LogExportByUUID(ctx, name[:uuidLen])
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, 0, notFound
	}
	if err != nil {
		return nil, 0, err
	}
	// The name is the credential: compared in constant time.
	if subtle.ConstantTimeCompare([]byte(x.FileName), []byte(name)) != 1 || !s.now().Before(x.FileExpiresAt) {
		return nil, 0, notFound
	}
	info, err := s.blobs.Stat(ctx, storagePrefix+name)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, 0, notFound
	}
	if err != nil {
		return nil, 0, err
	}
	rc, err := s.blobs.Reader(ctx, storagePrefix+name, 0)
	return rc, info.Size, err
}

// validFileName reports whether name has the form of an export's file
// name, two UUIDs joined by '-', before it becomes a storage key.
func validFileName(name string) bool {
	if len(name) != 2*uuidLen+1 || name[uuidLen] != '-' {
		return false
	}
	for _, c := range name {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}

// FilePathPrefix starts the download path of exported files,
// /exportedlogs/<export_id>-<random uuid>.
const FilePathPrefix = "/exportedlogs/"

// RedactPath is path as logs may show it: an exported file's download
// path keeps its export_id and loses the random half, the download's only
// credential; any other path is unchanged.
func RedactPath(path string) string {
	if rest, ok := strings.CutPrefix(path, FilePathPrefix); ok && len(rest) > uuidLen {
		return FilePathPrefix + rest[:uuidLen] + "-…"
	}
	return path
}
