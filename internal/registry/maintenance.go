package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// CheckStore is what the consistency check reads.
type CheckStore interface {
	ReferencedBlobs(ctx context.Context, fn func(digest string, size int64) error) error
}

// Check verifies that every blob the database says a repository or a
// manifest uses is in storage with the recorded size, and calls report
// for each one that is not. It returns how many blobs it checked.
func Check(ctx context.Context, store CheckStore, blobs storage.Driver, report func(problem string)) (int, error) {
	n := 0
	err := store.ReferencedBlobs(ctx, func(digest string, size int64) error {
		n++
		d, err := ParseDigest(digest)
		if err != nil {
			report(fmt.Sprintf("%s: not a valid digest", digest))
			return nil
		}
		fi, err := blobs.Stat(ctx, blobKey(d))
		switch {
		case wharf.IsCode(err, wharf.NotFound):
			report(fmt.Sprintf("%s: missing from storage", digest))
		case err != nil:
			return err
		case fi.Size != size:
			report(fmt.Sprintf("%s: storage holds %d bytes, the database records %d", digest, fi.Size, size))
		}
		return nil
	})
	return n, err
}

// UploadStore is what upload expiry needs.
type UploadStore interface {
	StaleUploads(ctx context.Context, before time.Time, limit int) ([]string, error)
	DeleteUpload(ctx context.Context, id string) error
}

// ExpireUploads removes uploads idle for longer than maxIdle, with their
// data, and returns how many it removed.
func ExpireUploads(ctx context.Context, store UploadStore, blobs storage.Driver, now time.Time, maxIdle time.Duration) (int, error) {
	removed := 0
	for {
		ids, err := store.StaleUploads(ctx, now.Add(-maxIdle), 500)
		if err != nil || len(ids) == 0 {
			return removed, err
		}
		for _, id := range ids {
			if fw, err := blobs.Writer(ctx, uploadKey(id), true); err == nil {
				fw.Cancel(ctx)
			}
			if err := blobs.Delete(ctx, "uploads/"+id); err != nil && !wharf.IsCode(err, wharf.NotFound) {
				return removed, err
			}
			if err := store.DeleteUpload(ctx, id); err != nil {
				return removed, err
			}
			removed++
		}
	}
}
