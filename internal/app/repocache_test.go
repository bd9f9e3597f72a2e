package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestRepositoryCache: the cache answers from memory only while nothing
// that moves a credential epoch happened: a change made through this
// process is seen at once, one made by another process once polled.
func TestRepositoryCache(t *testing.T) {
	for _, engine := range dbtest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) { testRepositoryCache(t, dbtest.URI(t, engine)) })
	}
}

func testRepositoryCache(t *testing.T, uri string) {
	ctx := context.Background()
	store, other := twoProcesses(t, uri)
	ns, repo := publicRepository(t, store)
	revocations := polledRevocations(t, store)
	c := newRepositoryCache(store.Registry, revocations, store.Changes)
	visibility := func(what string) string {
		t.Helper()
		r, err := c.RepositoryByName(ctx, "acme", "app")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return r.Visibility
	}
	if got := visibility("first read"); got != wharf.Public {
		t.Fatalf("first read: %s", got)
	}
	// Made private by this process: seen at once.
	repo.Visibility = wharf.Private
	if err := store.Registry.UpdateRepository(ctx, repo); err != nil {
		t.Fatal(err)
	}
	if got := visibility("after this process's change"); got != wharf.Private {
		t.Fatalf("this process made the repository private; the cache says %s", got)
	}
	// Made public by another process: seen once this one has polled.
	repo.Visibility = wharf.Public
	if err := other.Registry.UpdateRepository(ctx, repo); err != nil {
		t.Fatal(err)
	}
	if got := visibility("before the poll"); got != wharf.Private {
		t.Fatalf("before the poll the cache says %s; want the entry it holds (private)", got)
	}
	if err := revocations.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := visibility("after the poll"); got != wharf.Public {
		t.Fatalf("another process made the repository public; after the poll the cache says %s", got)
	}
	// Deleted elsewhere and made again under the same name: a new id.
	if err := other.Registry.DeleteRepository(ctx, repo.ID); err != nil {
		t.Fatal(err)
	}
	again := &wharf.Repository{NamespaceID: ns.ID, Namespace: ns.Name, Name: "app", Visibility: wharf.Private}
	if err := other.Registry.CreateRepository(ctx, again, 0); err != nil {
		t.Fatal(err)
	}
	if err := revocations.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := c.RepositoryByName(ctx, "acme", "app"); err != nil || r.ID != again.ID {
		t.Fatalf("after a delete and a re-create elsewhere: %+v, %v; want id %d", r, err, again.ID)
	}
}

// twoProcesses opens the database at uri twice: this process's store, and
// a second process's on the same database. Both close at cleanup.
func twoProcesses(t *testing.T, uri string) (store, other *db.DB) {
	t.Helper()
	var stores [2]*db.DB
	for i := range stores {
		s, err := db.Open(context.Background(), uri, db.WithSecretKey(dbtest.SecretKey))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	return stores[0], stores[1]
}

// publicRepository creates organization acme and its public repository
// app through store.
func publicRepository(t *testing.T, store *db.DB) (*wharf.Account, *wharf.Repository) {
	t.Helper()
	ctx := context.Background()
	ns := &wharf.Account{Name: "acme", Kind: wharf.KindOrg, Enabled: true}
	if err := store.Accounts.CreateAccount(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	repo := &wharf.Repository{NamespaceID: ns.ID, Namespace: ns.Name, Name: "app", Visibility: wharf.Public}
	if err := store.Registry.CreateRepository(ctx, repo, 0); err != nil {
		t.Fatal(err)
	}
	return ns, repo
}

// polledRevocations is this process's view of the credential epochs of
// store, polled once; tests poll it again to see other processes' changes.
func polledRevocations(t *testing.T, store *db.DB) *auth.Revocations {
	t.Helper()
	revocations := auth.NewRevocations(store.Accounts, time.Hour, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := revocations.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return revocations
}
