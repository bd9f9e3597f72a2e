package logexport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// JobStore is what the export job reads and writes.
type JobStore interface {
	// NextLogExport returns the pending export due longest at now;
	// NotFound if none is.
	NextLogExport(ctx context.Context, now time.Time) (*wharf.LogExport, error)
	// UpdateLogExport stores an export's status, delivery, attempts, next
	// attempt and note.
	UpdateLogExport(ctx context.Context, x *wharf.LogExport) error
	// ListLogs returns up to q.Limit+1 entries of q, newest first.
	ListLogs(ctx context.Context, q wharf.LogQuery) ([]wharf.LogEntry, error)
	// ExpiredLogExportFiles returns up to limit exports whose file
	// expired at now.
	ExpiredLogExportFiles(ctx context.Context, now time.Time, limit int) ([]*wharf.LogExport, error)
}

// Exporter is the export job: it writes the file of every pending export
// and POSTs its callback, retrying a failed callback a bounded number of
// times. One process runs it at a time (a worker lease); a process that
// stops mid-export leaves the export pending, and the next run writes its
// file again from the start.
type Exporter struct {
	Store JobStore
	Blobs storage.Driver
	// Client POSTs callbacks: the outbound client, which reaches only
	// what the SSRF policy allows whatever the URL says, with
	// CallbackTimeout.
	Client *http.Client
	// View renders an entry as the namespace log lists do.
	View func(wharf.LogEntry) any
	// FileURL is the download URL of an exported file.
	FileURL func(fileName string) string
	Now     func() time.Time
	Log     *slog.Logger
	// MaxDuration bounds the writing of one file (Quay's
	// EXPORT_ACTION_LOGS_MAXIMUM_SECONDS): past it the export is timedout.
	MaxDuration time.Duration
	// FileLifetime is how long a written file is served before it is
	// removed (EXPORT_ACTION_LOGS_SECONDS).
	FileLifetime time.Duration
}

// Callback retries: a callback that does not answer 2xx is tried again
// after callbackBackoff, doubled each time, callbackAttempts times in all.
const (
	callbackAttempts = 5
	callbackBackoff  = time.Minute
)

// exportBatch is how many entries one query reads: the file is written a
// batch at a time, never the whole log set in memory.
const exportBatch = 500

// Run removes the files past their lifetime, then works on every export
// due, oldest first, and returns how many it finished (done or
// abandoned). It stops at the first store error.
func (j *Exporter) Run(ctx context.Context) (int, error) {
	if err := j.removeExpired(ctx); err != nil {
		return 0, err
	}
	finished := 0
	for {
		x, err := j.Store.NextLogExport(ctx, j.Now())
		if wharf.IsCode(err, wharf.NotFound) {
			return finished, nil
		}
		if err != nil {
			return finished, err
		}
		if err := j.process(ctx, x); err != nil {
			return finished, err
		}
		if x.Delivery != wharf.DeliveryPending {
			finished++
		}
	}
}

// process writes x's file if it is not written yet, then notifies the
// requester, and stores where x stands.
func (j *Exporter) process(ctx context.Context, x *wharf.LogExport) error {
	if x.Status == "" {
		x.Status = j.write(ctx, x)
		if ctx.Err() != nil {
			return ctx.Err() // shutting down: the export stays pending, to be written again
		}
		if x.Status == wharf.ExportSucceeded {
			x.FileExpiresAt = j.Now().Add(j.FileLifetime)
		}
		// Recorded before anyone is told: a callback's receiver may
		// download the file at once, and an error after the callback must
		// not write the file again.
		if err := j.Store.UpdateLogExport(context.WithoutCancel(ctx), x); err != nil {
			return err
		}
	}
	var notes []string
	if x.CallbackEmail != "" {
		notes = append(notes, "e-mail not sent: wharf has no mail sender")
	}
	x.Delivery = wharf.DeliveryDone
	if x.CallbackURL != "" {
		x.Attempts++
		if err := j.callback(ctx, x); err != nil {
			notes = append(notes, fmt.Sprintf("callback attempt %d failed: %v", x.Attempts, err))
			j.Log.Warn("log export callback failed", slog.String("export_id", x.UUID), slog.Int("attempt", x.Attempts), slog.Any("err", err))
			x.Delivery = wharf.DeliveryAbandoned
			if x.Attempts < callbackAttempts {
				x.Delivery = wharf.DeliveryPending
				x.NextAttemptAt = j.Now().Add(callbackBackoff << (x.Attempts - 1))
			}
		}
	}
	x.Note = strings.Join(notes, "; ")
	return j.Store.UpdateLogExport(context.WithoutCancel(ctx), x)
}

// removeExpired removes the files whose lifetime is over, a batch at a
// time; an export forgets its file once it is gone. A file storage will
// not delete is logged and left for the next run: it must not hold up
// the exports behind it.
func (j *Exporter) removeExpired(ctx context.Context) error {
	for {
		expired, err := j.Store.ExpiredLogExportFiles(ctx, j.Now(), exportBatch)
		if err != nil || len(expired) == 0 {
			return err
		}
		removed := 0
		for _, x := range expired {
			if err := j.Blobs.Delete(ctx, storagePrefix+x.FileName); err != nil && !wharf.IsCode(err, wharf.NotFound) {
				j.Log.Warn("remove expired log export file", slog.String("export_id", x.UUID), slog.Any("err", err))
				continue
			}
			x.FileExpiresAt = time.Time{}
			if err := j.Store.UpdateLogExport(ctx, x); err != nil {
				return err
			}
			removed++
		}
		if removed < len(expired) {
			return nil // the batch would come back whole: the rest waits for the next run
		}
	}
}

// write streams x's entries to its file and returns the export's status.
func (j *Exporter) write(ctx context.Context, x *wharf.LogExport) string {
	wctx, cancel := context.WithTimeout(ctx, j.MaxDuration)
	defer cancel()
	err := j.writeFile(wctx, x)
	switch {
	case err == nil:
		return wharf.ExportSucceeded
	case ctx.Err() != nil:
		return "" // the run ends (a shutdown, the lease): the export stays due, nothing failed
	case errors.Is(err, context.DeadlineExceeded):
		j.Log.Warn("log export timed out", slog.String("export_id", x.UUID), slog.Duration("limit", j.MaxDuration))
		return wharf.ExportTimedOut
	default:
		j.Log.Error("log export failed", slog.String("export_id", x.UUID), slog.Any("err", err))
		return wharf.ExportFailed
	}
}

// writeFile writes Quay's export document: the export_id, the details of
// the window, and the entries newest first, ending with Quay's
// {"terminator": true} element. Nothing is visible until Commit.
func (j *Exporter) writeFile(ctx context.Context, x *wharf.LogExport) (err error) {
	fw, err := j.Blobs.Writer(ctx, storagePrefix+x.FileName, false)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fw.Cancel(context.WithoutCancel(ctx))
		}
	}()
	out := bufio.NewWriterSize(fw, 64<<10)
	header, err := json.Marshal(map[string]any{"export_id": x.UUID, "details": map[string]any{
		"start_time": quayDate(x.Start), "end_time": quayDate(x.End),
		"namespace": x.NamespaceName, "repository": nullable(x.RepositoryName)}})
	if err != nil {
		return wharf.Wrap(err, "encode export header")
	}
	// The header object, opened again to append the "logs" array.
	out.Write(header[:len(header)-1])
	out.WriteString(`,"logs":[`)
	q := wharf.LogQuery{Start: x.Start, End: x.End, AccountID: x.NamespaceID, RepositoryID: x.RepositoryID,
		Limit: exportBatch, Raw: true}
	for {
		batch, err := j.Store.ListLogs(ctx, q)
		if err != nil {
			return err
		}
		more := len(batch) > q.Limit
		if more {
			batch = batch[:q.Limit]
		}
		for _, e := range batch {
			line, err := json.Marshal(j.View(e))
			if err != nil {
				return wharf.Wrap(err, "encode exported log")
			}
			if _, err := out.Write(append(line, ',')); err != nil {
				return err
			}
		}
		if !more {
			break
		}
		last := batch[len(batch)-1]
		q.After = &wharf.LogCursor{Time: last.Time, ID: last.ID}
	}
	out.WriteString(`{"terminator":true}]}`)
	if err := out.Flush(); err != nil {
		return err
	}
	return fw.Commit(ctx)
}

// quayDate is Quay's format_date: RFC 2822 with -0000, in UTC.
func quayDate(t time.Time) string { return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0000") }

// callbackDate is the MM/DD/YYYY of Quay's callback body.
func callbackDate(t time.Time) string { return t.UTC().Format("01/02/2006") }

// CallbackTimeout bounds one callback POST: the timeout of the client the
// Exporter is given.
const CallbackTimeout = 30 * time.Second

// callback POSTs Quay's callback body to x's callback URL; an answer
// other than 2xx is an error. Redirects are not followed (Quay's
// allow_redirects=False): a 3xx is a failure like any other.
func (j *Exporter) callback(ctx context.Context, x *wharf.LogExport) error {
	var dataURL any
	if x.Status == wharf.ExportSucceeded {
		dataURL = j.FileURL(x.FileName)
	}
	body, err := json.Marshal(map[string]any{"export_id": x.UUID, "start_time": callbackDate(x.Start),
		// The window ends at midnight after its last day.
		"end_time": callbackDate(x.End.Add(-24 * time.Hour)), "namespace": x.NamespaceName,
		"repository": nullable(x.RepositoryName), "exported_data_url": dataURL, "status": x.Status})
	if err != nil {
		return wharf.Wrap(err, "encode callback")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	client := *j.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
		// Without the URL, whose query may hold the receiver's secret: the
		// error goes to the log and the export's note.
		return uerr.Err
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the callback answered %s", resp.Status)
	}
	return nil
}
