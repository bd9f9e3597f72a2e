package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// allowLoopback lets user-given URLs reach the test's loopback callback
// servers, as OUTBOUND_ALLOWED_NETWORKS would let an administrator's
// private network.
func allowLoopback(c *config.Config) { c.OutboundAllowedNetworks = []string{"127.0.0.0/8"} }

// exportedFile is an exported log file as Quay's clients read it.
type exportedFile struct {
	ExportID string           `json:"export_id"`
	Details  map[string]any   `json:"details"`
	Logs     []map[string]any `json:"logs"`
}

// listAllLogs pages through a log list endpoint and returns every entry.
func listAllLogs(t *testing.T, c *client, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	next := ""
	for {
		p := path
		if next != "" {
			p += "&next_page=" + url.QueryEscape(next)
		}
		r := c.do("GET", p, nil)
		mustStatus(t, r, http.StatusOK)
		var page struct {
			Logs     []map[string]any `json:"logs"`
			NextPage string           `json:"next_page"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Logs...)
		if next = page.NextPage; next == "" {
			return out
		}
	}
}

// TestLogExportJob: the job writes a file whose entries are exactly the
// repository log list's for the window (more entries than one batch, none
// from outside the window or from another repository), ending with
// Quay's terminator; it POSTs Quay's callback body, retries after a
// failed callback once the backoff has passed and not before, and the
// exported_data_url downloads the file. A callback that never succeeds is
// abandoned after its attempts; an e-mail is recorded as not sent.
func TestLogExportJob(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newExportFixture(t, store, allowLoopback)
		ctx := t.Context()
		repo, err := store.Registry.RepositoryByName(ctx, "acme", "app")
		if err != nil {
			t.Fatal(err)
		}
		acme := wharf.PartyOf(mustAccount(t, store, "acme"))
		now := time.Now().UTC()
		start := now.Add(-48 * time.Hour)
		var entries []wharf.LogEntry
		for i := range 520 {
			entries = append(entries, wharf.LogEntry{Kind: "push_repo", Account: acme, RepositoryID: repo.ID,
				Time: now.Add(-time.Duration(i) * time.Minute), IP: "10.0.0.5", Metadata: map[string]any{"n": i}})
		}
		// Outside the window, and another repository's.
		entries = append(entries,
			wharf.LogEntry{Kind: "push_repo", Account: acme, RepositoryID: repo.ID, Time: start.Add(-72 * time.Hour), Metadata: map[string]any{"n": "old"}},
			wharf.LogEntry{Kind: "push_repo", Account: acme, RepositoryID: repo.ID + 1000, Time: now, Metadata: map[string]any{"n": "elsewhere"}})
		if err := store.Logs.AppendLogs(ctx, entries...); err != nil {
			t.Fatal(err)
		}
		window := "?starttime=" + start.Format("01/02/2006") + "&endtime=" + now.Format("01/02/2006")
		hook := newCallbackRecorder(t, http.StatusInternalServerError, http.StatusOK)
		r := f.alice.do("POST", "/api/v1/repository/acme/app/exportlogs"+window, map[string]any{"callback_url": hook.srv.URL + "/hook"})
		mustStatus(t, r, http.StatusOK)
		id := r.JSON(t)["export_id"].(string)

		runExports(t, f.e, 0)
		if n := len(hook.calls()); n != 1 {
			t.Fatalf("%d callbacks after the first run, want 1", n)
		}
		x, err := store.LogExports.LogExportByUUID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if x.Status != wharf.ExportSucceeded || x.Delivery != wharf.DeliveryPending || x.Attempts != 1 || !strings.Contains(x.Note, "500") {
			t.Fatalf("after a failed callback: %+v", x)
		}
		runExports(t, f.e, 0) // the backoff has not passed
		if n := len(hook.calls()); n != 1 {
			t.Fatalf("%d callbacks before the backoff passed, want 1", n)
		}
		runExports(t, f.e, 2*time.Minute)
		calls := hook.calls()
		if len(calls) != 2 {
			t.Fatalf("%d callbacks, want 2", len(calls))
		}
		if x, _ = store.LogExports.LogExportByUUID(ctx, id); x.Delivery != wharf.DeliveryDone || x.Attempts != 2 || x.Note != "" {
			t.Errorf("after the callback succeeded: %+v", x)
		}
		cb := calls[1]
		dataURL, _ := cb["exported_data_url"].(string)
		want := map[string]any{"export_id": id, "start_time": start.Format("01/02/2006"), "end_time": now.Format("01/02/2006"),
			"namespace": "acme", "repository": "app", "status": "success", "exported_data_url": f.e.srv.URL + "/exportedlogs/" + x.FileName}
		if !reflect.DeepEqual(cb, want) || !strings.HasPrefix(dataURL, f.e.srv.URL+"/exportedlogs/"+id+"-") {
			t.Errorf("callback %v, want %v at %s/exportedlogs/", cb, want, f.e.srv.URL)
		}

		// The download: the list endpoint's entries, then the terminator.
		resp, err := http.Get(dataURL)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("download: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var file exportedFile
		if err := json.Unmarshal(raw, &file); err != nil {
			t.Fatalf("exported file: %v", err)
		}
		if file.ExportID != id || file.Details["namespace"] != "acme" || file.Details["repository"] != "app" ||
			file.Details["start_time"] != start.Truncate(24*time.Hour).Format("Mon, 02 Jan 2006 15:04:05 -0000") {
			t.Errorf("file header %s %v", file.ExportID, file.Details)
		}
		if n := len(file.Logs); n == 0 || !reflect.DeepEqual(file.Logs[n-1], map[string]any{"terminator": true}) {
			t.Fatalf("the file does not end with Quay's terminator: %d entries", n)
		}
		listed := listAllLogs(t, f.alice, "/api/v1/repository/acme/app/logs"+window)
		if got := file.Logs[:len(file.Logs)-1]; !reflect.DeepEqual(got, listed) {
			t.Errorf("exported %d entries, the list has %d; they differ", len(got), len(listed))
		}
		if len(listed) < 520 {
			t.Errorf("the list has %d entries, want at least the 520 pushes", len(listed))
		}

		// A callback that always fails is given up after 5 attempts; an
		// e-mail is accepted and recorded as not sent.
		broken := newCallbackRecorder(t, http.StatusBadGateway)
		r = f.alice.do("POST", "/api/v1/organization/acme/exportlogs", map[string]any{"callback_url": broken.srv.URL, "callback_email": "ops@example.com"})
		mustStatus(t, r, http.StatusOK)
		id = r.JSON(t)["export_id"].(string)
		for i := range 7 {
			runExports(t, f.e, time.Duration(i)*time.Hour)
		}
		x, _ = store.LogExports.LogExportByUUID(ctx, id)
		if len(broken.calls()) != 5 || x.Delivery != wharf.DeliveryAbandoned || x.Attempts != 5 || !strings.Contains(x.Note, "e-mail not sent") {
			t.Errorf("%d calls; export %+v, want abandoned after 5 attempts", len(broken.calls()), x)
		}
	})
}

// TestLogExportSSRF: callback URLs to loopback, link-local (the cloud
// metadata address) and private hosts are refused when the configuration
// does not allow them — by the API (400, nothing queued) and, for a URL
// that passed the check and now points inside (DNS rebinding), by the
// job's client, which never connects.
func TestLogExportSSRF(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newExportFixture(t, store, nil)
		inside := newCallbackRecorder(t, http.StatusOK)
		for _, u := range []string{inside.srv.URL + "/hook", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
			"http://localhost/", "http://10.0.0.1/", "http://0x7f.1/", "http://2130706433/"} {
			t.Run(u, func(t *testing.T) {
				wantError(t, f.alice.do("POST", "/api/v1/user/exportlogs", map[string]any{"callback_url": u}), http.StatusBadRequest, "Invalid callback URL")
			})
		}
		if _, err := store.LogExports.NextLogExport(t.Context(), time.Now().Add(time.Hour)); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("a refused export was queued: %v", err)
		}
		alice := mustAccount(t, store, "alice")
		x := &wharf.LogExport{UUID: wharf.NewUUID(), NamespaceID: alice.ID, NamespaceName: "alice",
			Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour), CallbackURL: inside.srv.URL + "/hook"}
		x.FileName = x.UUID + "-" + wharf.NewUUID()
		if err := store.LogExports.QueueLogExport(t.Context(), x, 1); err != nil {
			t.Fatal(err)
		}
		runExports(t, f.e, 0)
		if n := len(inside.calls()); n != 0 {
			t.Fatalf("the job called a loopback callback %d times", n)
		}
		x, _ = store.LogExports.LogExportByUUID(t.Context(), x.UUID)
		if x.Attempts != 1 || !strings.Contains(x.Note, "refused") {
			t.Errorf("refused callback recorded as %+v", x)
		}
	})
}

// TestExportedLogsDownload: only an export's file name downloads, and only
// once the file is written and until it expires; anything else is 404
// with the error JSON.
func TestExportedLogsDownload(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newExportFixture(t, store, nil)
		r := f.alice.do("POST", "/api/v1/user/exportlogs", map[string]any{})
		mustStatus(t, r, http.StatusOK)
		x, err := store.LogExports.LogExportByUUID(t.Context(), r.JSON(t)["export_id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		anonymous := f.e.anonymous()
		for _, name := range []string{x.FileName, x.UUID, wharf.NewUUID() + "-" + wharf.NewUUID(), "..%2F..%2Fetc%2Fpasswd"} {
			if r := anonymous.do("GET", "/exportedlogs/"+name, nil); r.Status != http.StatusNotFound || r.JSON(t)["error_type"] != "not_found" {
				t.Errorf("%s before the export ran: %d %s", name, r.Status, r.Body)
			}
		}
		runExports(t, f.e, 0)
		r = anonymous.do("GET", "/exportedlogs/"+x.FileName, nil)
		mustStatus(t, r, http.StatusOK)
		var file exportedFile
		if err := json.Unmarshal(r.Body, &file); err != nil || file.ExportID != x.UUID || file.Details["repository"] != nil {
			t.Errorf("downloaded %v %s", err, r.Body)
		}
		// EXPORT_ACTION_LOGS_SECONDS (an hour) later the job removes it.
		runExports(t, f.e, time.Hour+time.Minute)
		if r := anonymous.do("GET", "/exportedlogs/"+x.FileName, nil); r.Status != http.StatusNotFound {
			t.Errorf("an expired file: %d", r.Status)
		}
		if x, _ = store.LogExports.LogExportByUUID(t.Context(), x.UUID); !x.FileExpiresAt.IsZero() || x.Status != wharf.ExportSucceeded {
			t.Errorf("after the file expired: %+v", x)
		}
	})
}

// TestLogExportFeatureOff: with FEATURE_LOG_EXPORT false the routes and
// the download do not exist and discovery does not list them; on, it
// lists Quay's operation ids.
func TestLogExportFeatureOff(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		on := newEnv(t, store, nil)
		admin := on.bootstrap()
		ops := discoveryOperations(t, admin)
		for _, op := range []string{"exportOrgLogs", "exportUserLogs", "exportRepoLogs"} {
			if !ops[op] {
				t.Errorf("discovery lacks %s", op)
			}
		}
		off := newEnv(t, store, func(c *config.Config) { c.FeatureLogExport = false })
		c := off.withToken(admin.token)
		if r := c.do("POST", "/api/v1/user/exportlogs", map[string]any{}); r.Status != http.StatusNotFound {
			t.Errorf("export with the feature off: %d", r.Status)
		}
		// An unknown file: the download route's own 404 when on, no route
		// answering when off.
		name := "/exportedlogs/" + wharf.NewUUID() + "-" + wharf.NewUUID()
		if r := on.withToken(admin.token).do("GET", name, nil); r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), `"error_type":"not_found"`) {
			t.Errorf("download of an unknown file with the feature on: %d %s", r.Status, r.Body)
		}
		if r := c.do("GET", name, nil); r.Status != http.StatusNotFound || strings.Contains(string(r.Body), `"error_type"`) {
			t.Errorf("download with the feature off: %d %s; want no route to answer", r.Status, r.Body)
		}
		if off.app.LogExporter() != nil {
			t.Error("the export job exists with the feature off")
		}
		if discoveryOperations(t, c)["exportUserLogs"] {
			t.Error("discovery lists exportUserLogs with the feature off")
		}
	})
}

// discoveryOperations returns the operation ids of the discovery document.
func discoveryOperations(t *testing.T, c *client) map[string]bool {
	t.Helper()
	r := c.do("GET", "/api/v1/discovery", nil)
	mustStatus(t, r, http.StatusOK)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, methods := range doc.Paths {
		for _, raw := range methods {
			var op struct {
				OperationID string `json:"operationId"`
			}
			if json.Unmarshal(raw, &op) == nil && op.OperationID != "" {
				ops[op.OperationID] = true
			}
		}
	}
	return ops
}
