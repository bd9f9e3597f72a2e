package auditlog_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/auditlog"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func TestArchiverMovesOldEntriesToBlobStorage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var entries []wharf.LogEntry
		for i := range 25 {
			// 10 entries older than the 30-day threshold, 15 newer.
			age := time.Duration(40-i) * 24 * time.Hour
			entries = append(entries, wharf.LogEntry{Kind: "user_create", Time: now.Add(-age),
				Account: wharf.LogParty{ID: 7, Name: "acme", Kind: wharf.KindOrg}, Metadata: map[string]any{"n": float64(i)}})
		}
		if err := store.Logs.AppendLogs(ctx, entries...); err != nil {
			t.Fatal(err)
		}
		blobs, err := filesystem.New(t.TempDir(), filesystem.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a := &auditlog.Archiver{Store: store.Logs, Blobs: blobs, Threshold: 30 * 24 * time.Hour, BatchSize: 4, Now: func() time.Time { return now }}
		moved, err := a.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if moved != 10 {
			t.Fatalf("moved %d entries, want 10", moved)
		}
		left, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: time.Unix(0, 0), End: now.Add(time.Hour), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 15 {
			t.Fatalf("%d entries left in the database, want 15", len(left))
		}
		for _, e := range left {
			if e.Time.Before(now.Add(-30 * 24 * time.Hour)) {
				t.Fatalf("entry %d from %v survived", e.ID, e.Time)
			}
		}
		var archived []map[string]any
		err = blobs.Walk(ctx, "logarchive", func(fi storage.FileInfo) error {
			content, err := blobs.GetContent(ctx, fi.Path)
			if err != nil {
				return err
			}
			sc := bufio.NewScanner(bytes.NewReader(content))
			for sc.Scan() {
				var line map[string]any
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("%s: bad JSON line %q: %v", fi.Path, sc.Text(), err)
				}
				archived = append(archived, line)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(archived) != 10 {
			t.Fatalf("archive holds %d entries, want 10", len(archived))
		}
		seen := map[float64]bool{}
		for _, line := range archived {
			seen[line["metadata"].(map[string]any)["n"].(float64)] = true
			if line["kind"] != "user_create" || line["namespace"].(map[string]any)["name"] != "acme" {
				t.Fatalf("archived line lost data: %v", line)
			}
		}
		if len(seen) != 10 {
			t.Fatalf("archive repeats entries: %v", seen)
		}
		if moved, err := a.Run(ctx); err != nil || moved != 0 {
			t.Fatalf("second run moved %d, %v; want 0", moved, err)
		}
	})
}
