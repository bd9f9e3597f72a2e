package app

import (
	"context"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestServedBlobCache: a link this process removes is gone at once; one
// another process removes is gone once the repository's epoch is polled
// (a repository deleted) or, at the latest, after the bound.
func TestServedBlobCache(t *testing.T) {
	for _, engine := range dbtest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) { testServedBlobCache(t, dbtest.URI(t, engine)) })
	}
}

func testServedBlobCache(t *testing.T, uri string) {
	ctx := context.Background()
	store, other := twoProcesses(t, uri)
	_, repo := publicRepository(t, store)
	const digest = "sha256:" + "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
	link := func() {
		t.Helper()
		if err := store.Registry.LinkBlob(ctx, wharf.BlobLink{RepositoryID: repo.ID, Digest: digest, Size: 42}); err != nil {
			t.Fatal(err)
		}
	}
	revocations := polledRevocations(t, store)
	now := time.Now()
	c := newServedBlobCache(store.Registry, revocations, linkOrEpochChanges(store))
	c.now = func() time.Time { return now }
	served := func(what string, want bool) {
		t.Helper()
		size, err := c.ServedBlobSize(ctx, repo.ID, digest)
		switch {
		case want && (err != nil || size != 42):
			t.Fatalf("%s: size %d, %v; want 42", what, size, err)
		case !want && !wharf.IsCode(err, wharf.NotFound):
			t.Fatalf("%s: size %d, %v; want NotFound", what, size, err)
		}
	}

	served("never linked", false)
	link()
	served("linked", true)
	if err := store.Registry.UnlinkBlob(ctx, repo.ID, digest); err != nil {
		t.Fatal(err)
	}
	served("unlinked by this process", false)

	link()
	served("linked again", true)
	if err := other.Registry.UnlinkBlob(ctx, repo.ID, digest); err != nil {
		t.Fatal(err)
	}
	served("unlinked by another process, within the bound", true)
	now = now.Add(servedBlobCacheTTL)
	served("unlinked by another process, past the bound", false)

	link()
	served("linked a third time", true)
	if err := other.Registry.DeleteRepository(ctx, repo.ID); err != nil {
		t.Fatal(err)
	}
	if err := revocations.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	served("repository deleted by another process, polled", false)
}
