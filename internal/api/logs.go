package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/wharf-registry/wharf/internal/auditlog"
	"github.com/wharf-registry/wharf/internal/pagetoken"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// logs serves the superuser's views of the instance: usage logs, their
// daily counts, the configuration dump and the registry size
// (registrysize.go); its log pages and counts also serve the namespace
// and repository logs (namespacelogs.go).
type logs struct {
	store logStore
	pages *pagetoken.Sealer
	now   func() time.Time
	// configDump returns the masked configuration; nil turns the dump off.
	configDump func() (known, unknown map[string]any)
}

// logStore is what the log and registry-size views read.
type logStore interface {
	ListLogs(ctx context.Context, q wharf.LogQuery) ([]wharf.LogEntry, error)
	AggregateLogs(ctx context.Context, q wharf.LogQuery) ([]wharf.LogCount, error)
	RegistrySizeState(ctx context.Context) (wharf.RegistrySize, error)
	// QueueRegistrySize reports false when a calculation is already queued or running.
	QueueRegistrySize(ctx context.Context) (bool, error)
}

// logsPerPage is Quay's page size for usage logs.
const logsPerPage = 20

// aggregateMaxSpan caps aggregate-log windows at a month, as Quay does (its
// superuser variant crashes past it; wharf answers 400).
const aggregateMaxSpan = 31 * 24 * time.Hour

// logCursor is the keyset cursor of the newest-first log order.
type logCursor struct {
	Time int64 `json:"t"`
	ID   int64 `json:"id"`
}

// listAllLogs serves GET /api/v1/superuser/logs: every namespace's entries
// in the window, newest first, 20 a page.
func (h *logs) listAllLogs(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	return h.writeLogPage(w, r, wharf.LogQuery{}, true)
}

// writeLogPage answers one page of the entries filter selects (its
// AccountID, PerformerID, RepositoryID) within the request's starttime and
// endtime, newest first, from its next_page on: the rules of every log
// list (superuser, organization, user, repository). withNamespace adds the
// namespace block, which only the superuser logs show.
func (h *logs) writeLogPage(w http.ResponseWriter, r *http.Request, filter wharf.LogQuery, withNamespace bool) error {
	q := r.URL.Query()
	if p := q.Get("page"); p != "" {
		// Accepted and type-checked, but ignored, as in Quay: next_page pages.
		if _, err := strconv.Atoi(p); err != nil {
			return wharf.Errorf(wharf.Invalid, "Invalid value for query parameter 'page': expected an integer")
		}
	}
	win, err := auditlog.ParseWindow(q.Get("starttime"), q.Get("endtime"), h.now(), 0)
	if err != nil {
		return err
	}
	query := filter
	query.Start, query.End, query.Limit, query.Raw = win.Start, win.End, logsPerPage, true
	if tok := q.Get("next_page"); tok != "" {
		var cur logCursor
		if err := h.pages.Open("logs", tok, &cur); err != nil {
			return err
		}
		query.After = &wharf.LogCursor{Time: time.UnixMicro(cur.Time), ID: cur.ID}
	}
	entries, err := h.store.ListLogs(r.Context(), query)
	if err != nil {
		return err
	}
	resp := map[string]any{"start_time": formatDate(win.Start), "end_time": formatDate(win.End)}
	if len(entries) > logsPerPage {
		entries = entries[:logsPerPage]
		last := entries[logsPerPage-1]
		next, err := h.pages.Seal("logs", logCursor{Time: last.Time.UnixMicro(), ID: last.ID})
		if err != nil {
			return err
		}
		resp["next_page"] = next
	}
	views := make([]logView, len(entries))
	for i, e := range entries {
		views[i] = viewLog(e)
		if !withNamespace {
			views[i].Namespace = nil
		}
	}
	resp["logs"] = views
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// listAllAggregateLogs serves GET /api/v1/superuser/aggregatelogs: counts
// per kind and day over at most a month.
func (h *logs) listAllAggregateLogs(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	return h.writeAggregate(w, r, wharf.LogQuery{})
}

// writeAggregate answers the counts per kind and day of the entries filter
// selects within the request's window, at most a month: the rules of every
// aggregate view.
func (h *logs) writeAggregate(w http.ResponseWriter, r *http.Request, filter wharf.LogQuery) error {
	q := r.URL.Query()
	win, err := auditlog.ParseWindow(q.Get("starttime"), q.Get("endtime"), h.now(), aggregateMaxSpan)
	if err != nil {
		return err
	}
	filter.Start, filter.End = win.Start, win.End
	counts, err := h.store.AggregateLogs(r.Context(), filter)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(counts))
	for i, c := range counts {
		out[i] = map[string]any{"kind": c.Kind, "count": c.Count, "datetime": formatDate(c.Day)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"aggregated": out})
	return nil
}

// getConfigDump serves GET /api/v1/superuser/config: the configuration with
// every secret masked and unknown keys under "warning". WHARF_* environment
// overrides are already applied in it; unlike Quay, the process environment
// itself is not dumped (it holds secrets no mask list can name).
func (h *logs) getConfigDump(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	if h.configDump == nil {
		return wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	known, unknown := h.configDump()
	writeJSON(w, http.StatusOK, map[string]any{"config": known, "warning": unknown})
	return nil
}
