package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"time"

	"github.com/wharf-registry/wharf/internal/pagetoken"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// consoleLogs serves the console's usage-log page: entries over any
// window with filters, their counts for the chart, and the whole selection
// as a streamed download.
type consoleLogs struct {
	store consoleStore
	pages *pagetoken.Sealer
	now   func() time.Time
}

// consoleLogsPerPage is the console's page of log entries.
const consoleLogsPerPage = 50

// exportBatch is how many entries an export reads per query.
const exportBatch = 1000

// logSearch reads the window and filters of a console log request:
// starttime and endtime as RFC 3339 or YYYY-MM-DD (an end date includes
// its day), default the last 7 days; kind, performer, namespace and
// repository as exact values.
func (h *consoleLogs) logSearch(r *http.Request) (wharf.LogSearch, error) {
	q := r.URL.Query()
	end := h.now()
	start := end.Add(-7 * 24 * time.Hour)
	if v := q.Get("starttime"); v != "" {
		t, err := parseConsoleTime(v, false)
		if err != nil {
			return wharf.LogSearch{}, wharf.Errorf(wharf.Invalid, "Invalid starttime %q: expected RFC 3339 or YYYY-MM-DD", v)
		}
		start = t
	}
	if v := q.Get("endtime"); v != "" {
		t, err := parseConsoleTime(v, true)
		if err != nil {
			return wharf.LogSearch{}, wharf.Errorf(wharf.Invalid, "Invalid endtime %q: expected RFC 3339 or YYYY-MM-DD", v)
		}
		end = t
	}
	if !end.After(start) {
		return wharf.LogSearch{}, wharf.Errorf(wharf.Invalid, "endtime must be after starttime")
	}
	return wharf.LogSearch{Start: start, End: end, Kind: q.Get("kind"), Performer: q.Get("performer"),
		Namespace: q.Get("namespace"), Repository: q.Get("repository"), Raw: true}, nil
}

// parseConsoleTime parses RFC 3339 or a date; a date that ends a window
// means the end of that day.
func parseConsoleTime(v string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, err
	}
	if end {
		t = t.Add(24 * time.Hour)
	}
	return t, nil
}

// listLogs serves GET /api/v1/console/logs: a page of entries, newest
// first, with next_page while more follow.
func (h *consoleLogs) listLogs(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	q, err := h.logSearch(r)
	if err != nil {
		return err
	}
	q.Limit = consoleLogsPerPage
	if tok := r.URL.Query().Get("next_page"); tok != "" {
		var cur logCursor
		if err := h.pages.Open("console-logs", tok, &cur); err != nil {
			return err
		}
		q.After = &wharf.LogCursor{Time: time.UnixMicro(cur.Time), ID: cur.ID}
	}
	entries, err := h.store.SearchLogs(r.Context(), q)
	if err != nil {
		return err
	}
	resp := map[string]any{"start_time": q.Start.UTC().Format(time.RFC3339), "end_time": q.End.UTC().Format(time.RFC3339)}
	if len(entries) > q.Limit {
		entries = entries[:q.Limit]
		last := entries[q.Limit-1]
		next, err := h.pages.Seal("console-logs", logCursor{Time: last.Time.UnixMicro(), ID: last.ID})
		if err != nil {
			return err
		}
		resp["next_page"] = next
	}
	views := make([]logView, len(entries))
	for i, e := range entries {
		views[i] = viewLog(e)
	}
	resp["logs"] = views
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// chartBucket is the width of the chart's bars for a window: hours up to
// two days, days up to half a year, weeks beyond.
func chartBucket(span time.Duration) time.Duration {
	switch {
	case span <= 48*time.Hour:
		return time.Hour
	case span <= 183*24*time.Hour:
		return 24 * time.Hour
	}
	return 7 * 24 * time.Hour
}

// countLogs serves GET /api/v1/console/logs/counts: how many entries the
// filters select, by kind and bar of the chart, over any window. Bars are
// whole UTC hours, days or weeks (origin is where the first one starts),
// so that a bar is a window a filter can name.
func (h *consoleLogs) countLogs(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	q, err := h.logSearch(r)
	if err != nil {
		return err
	}
	bucket := chartBucket(q.End.Sub(q.Start))
	origin := q.Start.UTC().Truncate(bucket)
	counts, err := h.store.CountLogs(r.Context(), q, origin, bucket)
	if err != nil {
		return err
	}
	type countView struct {
		Start string `json:"start"`
		Kind  string `json:"kind"`
		Count int64  `json:"count"`
	}
	out := make([]countView, len(counts))
	for i, c := range counts {
		out[i] = countView{Start: c.Day.UTC().Format(time.RFC3339), Kind: c.Kind, Count: c.Count}
	}
	writeJSON(w, http.StatusOK, map[string]any{"start_time": q.Start.UTC().Format(time.RFC3339),
		"end_time": q.End.UTC().Format(time.RFC3339), "origin": origin.Format(time.RFC3339),
		"bucket_seconds": int64(bucket / time.Second), "counts": out})
	return nil
}

// exportLogs serves GET /export/logs: every entry the
// filters select, newest first, as NDJSON (format=ndjson, the default; one
// log view a line) or CSV, streamed a batch at a time, so that no window is
// too large to download.
func (h *consoleLogs) exportLogs(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	q, err := h.logSearch(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "ndjson"
	}
	if format != "ndjson" && format != "csv" {
		return wharf.Errorf(wharf.Invalid, "format must be ndjson or csv")
	}
	q.Limit = exportBatch
	first, err := h.store.SearchLogs(r.Context(), q)
	if err != nil {
		return err
	}
	name := "wharf-logs-" + q.Start.UTC().Format("20060102") + "-" + q.End.UTC().Format("20060102") + "." + format
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	var out logWriter = &ndjsonLogs{enc: json.NewEncoder(w)}
	if format == "csv" {
		cw := csv.NewWriter(w)
		cw.Write([]string{"datetime", "kind", "namespace", "performer", "ip", "metadata"})
		out = &csvLogs{w: cw}
	}
	flusher, _ := w.(http.Flusher)
	batch := first
	for {
		more := len(batch) > q.Limit
		if more {
			batch = batch[:q.Limit]
		}
		for _, e := range batch {
			if err := out.write(e); err != nil {
				return nil // the client went away; the answer has begun
			}
		}
		out.flush()
		if flusher != nil {
			flusher.Flush()
		}
		if !more {
			return nil
		}
		last := batch[len(batch)-1]
		q.After = &wharf.LogCursor{Time: last.Time, ID: last.ID}
		if batch, err = h.store.SearchLogs(r.Context(), q); err != nil {
			return nil // headers are sent: the download ends short
		}
	}
}

// logWriter writes exported entries in one format.
type logWriter interface {
	write(e wharf.LogEntry) error
	flush()
}

type ndjsonLogs struct{ enc *json.Encoder }

func (n *ndjsonLogs) write(e wharf.LogEntry) error { return n.enc.Encode(viewLog(e)) }
func (n *ndjsonLogs) flush()                       {}

type csvLogs struct{ w *csv.Writer }

func (c *csvLogs) write(e wharf.LogEntry) error {
	meta := string(e.RawMetadata)
	if meta == "" {
		meta = "{}"
	}
	return c.w.Write([]string{e.Time.UTC().Format(time.RFC3339Nano), csvSafe(e.Kind), csvSafe(e.Account.Name),
		csvSafe(e.Performer.Name), csvSafe(e.IP), csvSafe(meta)})
}

func (c *csvLogs) flush() { c.w.Flush() }

// csvSafe keeps a spreadsheet from reading a value as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
