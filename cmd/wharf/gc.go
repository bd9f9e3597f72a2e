package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/wharf-registry/wharf/internal/blobgc"
	"github.com/wharf-registry/wharf/internal/config"
)

// collect is "wharf gc": one collection run now (expired pending links,
// then every candidate past the grace) and the orphan sweep, beside any
// running servers; --dry-run lists what would go instead.
func collect(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var dryRun, sweep bool
	var grace string
	opts, err := parseFlags("wharf gc", args, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "print what would be removed, and how many bytes, without removing anything")
		fs.StringVar(&grace, "grace", "", "override BLOB_COLLECTION_GRACE and PUSH_TEMP_TAG_EXPIRATION_SEC for this run (e.g. 0s, 10m, 1h)")
		fs.BoolVar(&sweep, "sweep", true, "also list storage for files no database row names (slow on a large bucket)")
	})
	if err != nil {
		return err
	}
	in, err := openWith(ctx, opts, getenv, stderr)
	if err != nil {
		return err
	}
	defer in.store.Close()
	gc := &blobgc.Collector{Store: in.store.Collection, Blobs: in.blobs, Log: in.log, Workers: 8, Now: time.Now,
		Grace: in.cfg.BlobCollectionGrace, LinkGrace: time.Duration(in.cfg.PushTempTagExpirationSec) * time.Second}
	if grace != "" {
		d, err := parseGrace(grace)
		if err != nil {
			return fmt.Errorf("--grace: %w", err)
		}
		gc.Grace, gc.LinkGrace = d, d
	}
	if dryRun {
		var links, blobs, linkBytes, blobBytes int64
		err := gc.Plan(ctx, func(p blobgc.Planned) error {
			if p.Kind == "link" {
				links++
				linkBytes += p.Size
				fmt.Fprintf(stdout, "would unlink %s from repository %d (%d bytes)\n", p.Digest, p.RepositoryID, p.Size)
			} else {
				blobs++
				blobBytes += p.Size
				fmt.Fprintf(stdout, "would remove %s (%d bytes)\n", p.Digest, p.Size)
			}
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dry run: %d blobs (%d bytes) would be removed; %d unreferenced links (%d bytes) would be unlinked\n",
			blobs, blobBytes, links, linkBytes)
		return nil
	}
	res, err := gc.Run(ctx)
	if err != nil {
		return err
	}
	if res.Links > 0 && gc.Grace == 0 {
		// The links just unlinked made candidates that are due at once.
		more, err := gc.Run(ctx)
		if err != nil {
			return err
		}
		res.Blobs, res.Bytes, res.Missed = res.Blobs+more.Blobs, res.Bytes+more.Bytes, res.Missed+more.Missed
	}
	fmt.Fprintf(stdout, "collected %d blobs (%d bytes); unlinked %d unreferenced links\n", res.Blobs, res.Bytes, res.Links)
	if sweep {
		sw, err := gc.Sweep(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "sweep: %d files checked, %d orphan files removed (%d bytes), %d unreferenced rows queued\n",
			sw.FilesChecked, sw.Orphans, sw.OrphanBytes, sw.Rows)
	}
	if res.Blobs > 0 {
		if _, err := in.store.Usage.QueueRegistrySize(ctx); err != nil {
			return err
		}
	}
	return nil
}

// parseGrace reads a --grace value: Go's durations ("90s", "1h30m") or
// Quay's ("2w", "1d").
func parseGrace(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return config.ParseDuration(s)
}
