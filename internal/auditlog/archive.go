// Package auditlog holds the rules of wharf's action log that are not
// storage: the time windows clients ask for (window.go) and log retention
// (archive.go).
package auditlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// ArchiveStore is the log storage retention needs.
type ArchiveStore interface {
	// OldestLogs returns up to limit entries older than cutoff, oldest first.
	OldestLogs(ctx context.Context, cutoff time.Time, limit int) ([]wharf.LogEntry, error)
	DeleteLogs(ctx context.Context, ids []int64) error
}

// BlobWriter is where archives go: the blob storage driver.
type BlobWriter interface {
	PutContent(ctx context.Context, path string, content []byte) error
}

// Archiver moves entries older than the retention threshold
// (ACTION_LOG_ROTATION_THRESHOLD) out of the database into blob storage as
// JSON lines, one object per batch under logarchive/YYYY/MM/DD/.
type Archiver struct {
	Store     ArchiveStore
	Blobs     BlobWriter
	Threshold time.Duration
	BatchSize int
	Now       func() time.Time
}

// archivedEntry is one JSON line of an archive.
type archivedEntry struct {
	ID        int64          `json:"id"`
	Kind      string         `json:"kind"`
	Datetime  time.Time      `json:"datetime"`
	IP        string         `json:"ip,omitempty"`
	Account   *archivedParty `json:"namespace,omitempty"`
	Performer *archivedParty `json:"performer,omitempty"`
	Metadata  map[string]any `json:"metadata"`
}

type archivedParty struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

func party(p wharf.LogParty) *archivedParty {
	if p.Name == "" {
		return nil
	}
	return &archivedParty{ID: p.ID, Name: p.Name, Kind: string(p.Kind)}
}

// Run archives every entry older than the threshold, a batch at a time, and
// returns how many it moved. Each batch is written before it is deleted, and
// its object name is derived from its contents, so a crash between the two
// steps only causes the same batch to be written again.
func (a *Archiver) Run(ctx context.Context) (int, error) {
	cutoff := a.Now().Add(-a.Threshold)
	moved := 0
	for {
		entries, err := a.Store.OldestLogs(ctx, cutoff, a.BatchSize)
		if err != nil || len(entries) == 0 {
			return moved, err
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		ids := make([]int64, len(entries))
		for i, e := range entries {
			ids[i] = e.ID
			if err := enc.Encode(archivedEntry{ID: e.ID, Kind: e.Kind, Datetime: e.Time, IP: e.IP,
				Account: party(e.Account), Performer: party(e.Performer), Metadata: e.Metadata}); err != nil {
				return moved, wharf.Wrap(err, "encode archived log")
			}
		}
		first, last := entries[0], entries[len(entries)-1]
		key := fmt.Sprintf("logarchive/%s/%d-%d-%d.jsonl", first.Time.UTC().Format("2006/01/02"),
			first.Time.UnixMicro(), first.ID, last.ID)
		if err := a.Blobs.PutContent(ctx, key, buf.Bytes()); err != nil {
			return moved, err
		}
		if err := a.Store.DeleteLogs(ctx, ids); err != nil {
			return moved, err
		}
		moved += len(entries)
	}
}
