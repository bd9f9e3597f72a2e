package db_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// clock is a settable time for a store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (f *usageFixture) history(t *testing.T, q wharf.TagQuery) string {
	t.Helper()
	if q.Limit == 0 {
		q.Limit, q.Page = 50, 1
	}
	rows, _, err := f.store.Registry.TagHistory(context.Background(), f.repo.ID, q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		s := r.Name + "@" + r.ManifestDigest[len(r.ManifestDigest)-1:]
		if r.End != nil {
			s += " ended"
		}
		if r.Reversion {
			s += " reverted"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// Tag history records every lifetime; a restore works within the
// namespace's time machine window and is refused outside it; a deleted
// tag's manifest and blobs stay for the window, then go; expirations end
// tags as deletes at that moment would.
func TestTagHistoryAndTimeMachine(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		c := &clock{t: time.Now()}
		db.SetClock(store, c.now)
		f := newUsageFixture(t, store, "timemachine")
		before, err := store.Accounts.AccountByName(ctx, f.ns.Name)
		if err != nil {
			t.Fatal(err)
		}
		twoWeeks := *before
		twoWeeks.TagExpirationS = 14 * 24 * 3600
		if err := store.Accounts.UpdateAccount(ctx, before, &twoWeeks); err != nil {
			t.Fatal(err)
		}
		a, b := f.link(t, 1, 10), f.link(t, 2, 20)
		put := func(n int, tag, blob string) string {
			c.add(time.Second)
			m := &wharf.Manifest{RepositoryID: f.repo.ID, Digest: fmt.Sprintf("sha256:%064x", n),
				MediaType: "application/vnd.oci.image.manifest.v1+json", Content: []byte("{}"), Size: 2, Blobs: []string{blob}}
			if err := store.Registry.PutManifest(ctx, wharf.ManifestPush{Manifest: m, Repository: f.repo, Tag: tag}); err != nil {
				t.Fatal(err)
			}
			return m.Digest
		}
		m1, m2 := put(1, "v1", a), put(2, "v1", b)
		c.add(time.Second)
		if err := store.Registry.DeleteTag(ctx, f.repo.ID, "v1"); err != nil {
			t.Fatal(err)
		}
		if got, want := f.history(t, wharf.TagQuery{}), "v1@2 ended, v1@1 ended"; got != want {
			t.Fatalf("history %q, want %q", got, want)
		}
		if n, _ := store.Registry.CollectUntaggedManifests(ctx, 10, time.Now()); n != 0 {
			t.Fatalf("collected %d manifests within the two-week window", n)
		}
		c.add(time.Second)
		var prev string
		if _, err := store.Registry.MoveTag(ctx, wharf.TagMove{Repository: f.repo, Tag: "v1", Digest: m1}); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("plain move to a dead manifest: %v, want NotFound", err)
		}
		prev, err = store.Registry.MoveTag(ctx, wharf.TagMove{Repository: f.repo, Tag: "v1", Digest: m1, Reversion: true})
		if err != nil || prev != "" {
			t.Fatalf("restore: %q %v", prev, err)
		}
		if got, want := f.history(t, wharf.TagQuery{OnlyActive: true}), "v1@1 reverted"; got != want {
			t.Fatalf("active history %q, want %q", got, want)
		}
		// m2 stays restorable for the window; after it, refused, and the
		// collector takes it and releases its blob.
		c.add(14*24*time.Hour + time.Second)
		_, err = store.Registry.MoveTag(ctx, wharf.TagMove{Repository: f.repo, Tag: "old", Digest: m2, Reversion: true})
		if !wharf.IsCode(err, wharf.Invalid) || !strings.Contains(err.Error(), "1209600 seconds") {
			t.Fatalf("restore outside the window: %v, want Invalid naming it", err)
		}
		if n, _ := store.Registry.CollectUntaggedManifests(ctx, 10, time.Now()); n != 1 || f.usage(t) != 10 {
			t.Fatalf("after the window: collected %d, usage %d; want 1 and 10", n, f.usage(t))
		}
		// An expiration ends the tag at that moment.
		l, err := store.Registry.AliveTag(ctx, f.repo.ID, "v1")
		if err != nil {
			t.Fatal(err)
		}
		at := c.now().Add(time.Hour)
		if err := store.Registry.SetTagExpiration(ctx, f.repo.ID, "v1", l.Start, &at); err != nil {
			t.Fatal(err)
		}
		if err := store.Registry.SetTagExpiration(ctx, f.repo.ID, "v1", l.Start.Add(-time.Second), nil); !wharf.IsCode(err, wharf.Conflict) {
			t.Fatalf("expiration on a lifetime that is not the tag's: %v, want Conflict", err)
		}
		c.add(2 * time.Hour)
		if _, err := store.Registry.AliveTag(ctx, f.repo.ID, "v1"); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("expired tag still alive: %v", err)
		}
		if n, err := store.Registry.ExpireTags(ctx, 10); n != 1 || err != nil {
			t.Fatalf("expire: %d %v", n, err)
		}
		if got, want := f.history(t, wharf.TagQuery{Name: "v1", Limit: 1, Page: 1}), "v1@1 ended reverted"; got != want {
			t.Fatalf("first page of v1 %q, want %q", got, want)
		}
		if got := f.history(t, wharf.TagQuery{Contains: "%"}); got != "" {
			t.Fatalf("a %% filter matched %q: wildcards must be literal", got)
		}
	})
}
