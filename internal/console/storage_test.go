package console_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestStorageCollection: what the blob collector reclaimed (a blob
// uploaded but never used by a manifest) is on the storage page as the
// API reports it, in the light and the dark theme, which pass axe-core.
func TestStorageCollection(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		blob := bytes.Repeat([]byte("z"), 3000)
		if status, _ := s.upload(s.registryToken("admin", adminPassword, "admin/gc"), "admin/gc", blob); status != 201 {
			t.Fatalf("upload: %d", status)
		}
		var totals struct {
			Runs    int64 `json:"runs"`
			Blobs   int64 `json:"blobs"`
			Bytes   int64 `json:"bytes"`
			LastRun *struct {
				At string `json:"at"`
			} `json:"last_run"`
		}
		// The app's own collector job may take the blob first: the totals
		// are every run's, so they say the same either way.
		gc := s.App.Collector()
		gc.Grace, gc.LinkGrace = 0, 0
		for i := 0; i < 3 && totals.Bytes == 0; i++ {
			if _, err := gc.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			s.mustJSON("GET", "/api/v1/console/collection", nil, &totals)
		}
		if totals.Bytes != int64(len(blob)) || totals.Blobs != 1 || totals.Runs < 1 || totals.LastRun == nil {
			t.Fatalf("collection through the API: %+v", totals)
		}
		for _, scheme := range []string{"light", "dark"} {
			tb := s.open(scheme, desktop)
			tb.signIn("admin", adminPassword)
			tb.visit("/superuser/storage")
			tb.settle(".results table")
			tb.waitText(".collection .big", "2.93 KiB reclaimed")
			tb.waitText(".collection", "1 blob and")
			tb.axe(scheme + " storage with the collection")
		}
	})
}
