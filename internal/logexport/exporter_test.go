package logexport

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// fakeJobStore holds one export and serves its log entries a page at a
// time, recording every query; failAfter > 0 makes that query fail, and
// block makes every query wait for its context.
type fakeJobStore struct {
	mu        sync.Mutex
	export    *wharf.LogExport
	entries   []wharf.LogEntry // newest first
	queries   []wharf.LogQuery
	failAfter int
	block     bool
}

func (s *fakeJobStore) NextLogExport(_ context.Context, now time.Time) (*wharf.LogExport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.export.Delivery != wharf.DeliveryPending || s.export.NextAttemptAt.After(now) {
		return nil, wharf.Errorf(wharf.NotFound, "none due")
	}
	x := *s.export
	return &x, nil
}

func (s *fakeJobStore) UpdateLogExport(_ context.Context, x *wharf.LogExport) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *x
	s.export = &c
	return nil
}

func (s *fakeJobStore) ExpiredLogExportFiles(_ context.Context, now time.Time, _ int) ([]*wharf.LogExport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.export.FileExpiresAt.IsZero() || s.export.FileExpiresAt.After(now) {
		return nil, nil
	}
	x := *s.export
	return []*wharf.LogExport{&x}, nil
}

// LogExportByUUID, QueueLogExport and AppendLogs make the fake the
// Service's store too.
func (s *fakeJobStore) LogExportByUUID(_ context.Context, uuid string) (*wharf.LogExport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.export.UUID != uuid {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	x := *s.export
	return &x, nil
}

func (s *fakeJobStore) QueueLogExport(context.Context, *wharf.LogExport, int, ...wharf.LogEntry) error {
	return errors.New("not used")
}

func (s *fakeJobStore) AppendLogs(context.Context, ...wharf.LogEntry) error {
	return errors.New("not used")
}

func (s *fakeJobStore) ListLogs(ctx context.Context, q wharf.LogQuery) ([]wharf.LogEntry, error) {
	s.mu.Lock()
	s.queries = append(s.queries, q)
	n := len(s.queries)
	s.mu.Unlock()
	if s.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if n == s.failAfter {
		return nil, errors.New("database gone")
	}
	var out []wharf.LogEntry
	for _, e := range s.entries {
		if q.After != nil && (e.Time.After(q.After.Time) || e.Time.Equal(q.After.Time) && e.ID >= q.After.ID) {
			continue
		}
		if out = append(out, e); len(out) == q.Limit+1 {
			break
		}
	}
	return out, nil
}

type exporterHarness struct {
	store     *fakeJobStore
	exporter  *Exporter
	callbacks chan map[string]any
}

func newExporterHarness(t *testing.T, entries int) *exporterHarness {
	blobs, err := filesystem.New(t.TempDir(), filesystem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &exporterHarness{callbacks: make(chan map[string]any, 10)}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		h.callbacks <- body
	}))
	t.Cleanup(hook.Close)
	now := time.Now().UTC()
	h.store = &fakeJobStore{export: &wharf.LogExport{ID: 1, UUID: wharf.NewUUID(), NamespaceID: 7, NamespaceName: "acme",
		Start: now.Add(-time.Hour), End: now.Add(time.Hour), CallbackURL: hook.URL + "/?token=hook-secret", Delivery: wharf.DeliveryPending}}
	h.store.export.FileName = h.store.export.UUID + "-" + wharf.NewUUID()
	for i := range entries {
		h.store.entries = append(h.store.entries, wharf.LogEntry{ID: int64(entries - i), Kind: "push_repo",
			Time: now.Add(-time.Duration(i) * time.Second), Metadata: map[string]any{"n": i}})
	}
	h.exporter = &Exporter{Store: h.store, Blobs: blobs, Client: http.DefaultClient,
		View:    func(e wharf.LogEntry) any { return map[string]any{"id": e.ID} },
		FileURL: func(name string) string { return "http://wharf.test/exportedlogs/" + name },
		Now:     time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxDuration: time.Minute, FileLifetime: time.Hour}
	return h
}

// TestExporterStreamsInBatches: the file is written from queries of at
// most exportBatch entries, each after the last entry of the one before,
// and holds every entry once, newest first.
func TestExporterStreamsInBatches(t *testing.T) {
	h := newExporterHarness(t, 2*exportBatch+7)
	if _, err := h.exporter.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(h.store.queries) != 3 {
		t.Fatalf("%d queries, want 3 batches", len(h.store.queries))
	}
	for i, q := range h.store.queries {
		if q.Limit != exportBatch || q.AccountID != 7 || (i > 0) != (q.After != nil) {
			t.Errorf("query %d: %+v", i, q)
		}
	}
	raw, err := h.exporter.Blobs.GetContent(t.Context(), storagePrefix+h.store.export.FileName)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Logs []map[string]any `json:"logs"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if n := len(file.Logs); n != 2*exportBatch+8 || file.Logs[n-1]["terminator"] != true {
		t.Fatalf("%d elements, want %d entries and the terminator", n, 2*exportBatch+7)
	}
	for i, l := range file.Logs[:len(file.Logs)-1] {
		if l["id"] != float64(2*exportBatch+7-i) {
			t.Fatalf("element %d is %v", i, l)
		}
	}
	if cb := <-h.callbacks; cb["status"] != "success" || cb["exported_data_url"] == nil {
		t.Errorf("callback %v", cb)
	}
}

// TestExporterFailures: a store failure mid-export and an export that
// outlasts MaxDuration leave no file, and the callback says failed or
// timedout with no URL, as Quay's does.
func TestExporterFailures(t *testing.T) {
	for _, c := range []struct {
		name, status string
		setup        func(h *exporterHarness)
	}{
		{"store fails", wharf.ExportFailed, func(h *exporterHarness) { h.store.failAfter = 2 }},
		{"too slow", wharf.ExportTimedOut, func(h *exporterHarness) {
			h.store.block, h.exporter.MaxDuration = true, 50*time.Millisecond
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newExporterHarness(t, 2*exportBatch)
			c.setup(h)
			if _, err := h.exporter.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, err := h.exporter.Blobs.Stat(t.Context(), storagePrefix+h.store.export.FileName); !wharf.IsCode(err, wharf.NotFound) {
				t.Errorf("a file was left: %v", err)
			}
			cb := <-h.callbacks
			if cb["status"] != c.status || cb["exported_data_url"] != nil {
				t.Errorf("callback %v, want status %s and no URL", cb, c.status)
			}
			if x := h.store.export; x.Status != c.status || x.Delivery != wharf.DeliveryDone {
				t.Errorf("export %+v", x)
			}
		})
	}
}

// TestExportedFileLifetime: a written file is served under its exact name
// until FileLifetime has passed, then the job removes it.
func TestExportedFileLifetime(t *testing.T) {
	h := newExporterHarness(t, 3)
	if _, err := h.exporter.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-h.callbacks
	x := h.store.export
	if d := time.Until(x.FileExpiresAt); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("file expires in %v, want an hour", d)
	}
	at := time.Now()
	svc := NewService(h.store, nil, h.exporter.Blobs, func() time.Time { return at })
	open := func(name string) error {
		rc, _, err := svc.Open(t.Context(), name)
		if err == nil {
			rc.Close()
		}
		return err
	}
	if err := open(x.FileName); err != nil {
		t.Fatalf("open the file: %v", err)
	}
	if err := open(x.UUID + "-" + wharf.NewUUID()); !wharf.IsCode(err, wharf.NotFound) {
		t.Errorf("another random half: %v, want NotFound", err)
	}
	at = x.FileExpiresAt
	if err := open(x.FileName); !wharf.IsCode(err, wharf.NotFound) {
		t.Errorf("an expired file: %v, want NotFound", err)
	}
	h.exporter.Now = func() time.Time { return x.FileExpiresAt }
	if _, err := h.exporter.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.exporter.Blobs.Stat(t.Context(), storagePrefix+x.FileName); !wharf.IsCode(err, wharf.NotFound) {
		t.Errorf("the expired file is still stored: %v", err)
	}
	if !h.store.export.FileExpiresAt.IsZero() {
		t.Errorf("the export still names a file: %+v", h.store.export)
	}
}

// TestValidFileName: only two UUIDs joined by '-' name a file.
func TestValidFileName(t *testing.T) {
	id := wharf.NewUUID() + "-" + wharf.NewUUID()
	for name, want := range map[string]bool{
		id: true, wharf.NewUUID(): false, id + "x": false, "../" + id[3:]: false,
		id[:36] + "/" + id[37:]: false, "": false,
	} {
		if got := validFileName(name); got != want {
			t.Errorf("validFileName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestCallbackFailureKeepsURLSecret: a callback that cannot be reached
// is recorded and logged without its URL, whose query may hold the
// receiver's secret.
func TestCallbackFailureKeepsURLSecret(t *testing.T) {
	h := newExporterHarness(t, 1)
	var logged strings.Builder
	h.exporter.Log = slog.New(slog.NewTextHandler(&logged, nil))
	h.store.export.CallbackURL = "http://127.0.0.1:1/hook?token=hook-secret"
	if _, err := h.exporter.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	x := h.store.export
	if x.Delivery != wharf.DeliveryPending || x.Attempts != 1 || !strings.Contains(x.Note, "callback attempt 1 failed") {
		t.Fatalf("export %+v", x)
	}
	if strings.Contains(x.Note, "hook-secret") || strings.Contains(logged.String(), "hook-secret") {
		t.Errorf("the callback URL's secret was recorded: note %q, log %s", x.Note, logged.String())
	}
}

// TestCallbackReceiverDownloads: the export is recorded before its
// callback, so a receiver that downloads exported_data_url while it
// handles the callback gets the file.
func TestCallbackReceiverDownloads(t *testing.T) {
	h := newExporterHarness(t, 3)
	svc := NewService(h.store, nil, h.exporter.Blobs, time.Now)
	opened := make(chan error, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		url, _ := body["exported_data_url"].(string)
		rc, _, err := svc.Open(r.Context(), url[strings.LastIndex(url, "/")+1:])
		if err == nil {
			rc.Close()
		}
		opened <- err
	}))
	defer hook.Close()
	h.store.export.CallbackURL = hook.URL
	if _, err := h.exporter.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-opened; err != nil {
		t.Errorf("download from inside the callback: %v", err)
	}
}

// undeletable is storage that refuses every delete.
type undeletable struct{ storage.Driver }

func (undeletable) Delete(context.Context, string) error { return errors.New("storage refuses") }

// TestUndeletableFileDoesNotBlockExports: an expired file storage will not
// delete is left for a later run; the exports due (here a callback
// retry) still go on.
func TestUndeletableFileDoesNotBlockExports(t *testing.T) {
	h := newExporterHarness(t, 3)
	x := h.store.export
	x.Status, x.Attempts, x.FileExpiresAt = wharf.ExportSucceeded, 1, time.Now().Add(-time.Second)
	h.exporter.Blobs = undeletable{h.exporter.Blobs}
	if _, err := h.exporter.Run(t.Context()); err != nil {
		t.Fatalf("run with an undeletable expired file: %v", err)
	}
	select {
	case <-h.callbacks:
	default:
		t.Fatal("the callback due was not made")
	}
	if h.store.export.FileExpiresAt.IsZero() {
		t.Error("the export forgot a file storage still holds")
	}
}

// TestRedactPath: a download path loses its random half in any log, and
// every other path is logged as it is.
func TestRedactPath(t *testing.T) {
	id, secret := wharf.NewUUID(), wharf.NewUUID()
	for path, want := range map[string]string{
		FilePathPrefix + id + "-" + secret: FilePathPrefix + id + "-…",
		FilePathPrefix + id:                FilePathPrefix + id,
		"/api/v1/user/exportlogs":          "/api/v1/user/exportlogs",
		"/v2/acme/exportedlogs/" + secret:  "/v2/acme/exportedlogs/" + secret,
	} {
		if got := RedactPath(path); got != want || strings.Contains(got, secret) && strings.HasPrefix(path, FilePathPrefix) {
			t.Errorf("RedactPath(%q) = %q, want %q", path, got, want)
		}
	}
}
