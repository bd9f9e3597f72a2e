package db_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/autoprune"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func ptrTo[T any](v T) *T { return &v }

// pruneFixture is a namespace with a repository of n tags, tag i pushed i
// days ago (tag-0 newest), each on its own manifest.
func pruneFixture(t *testing.T, store *db.DB, name string, n int) (*wharf.Account, *wharf.Repository) {
	t.Helper()
	ctx := context.Background()
	ns := &wharf.Account{Name: name, Kind: wharf.KindUser, Enabled: true}
	if err := store.Accounts.CreateAccount(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	repo := &wharf.Repository{NamespaceID: ns.ID, Namespace: ns.Name, Name: "app", Visibility: wharf.Private}
	if err := store.Registry.CreateRepository(ctx, repo, 0); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := n - 1; i >= 0; i-- {
		db.SetClock(store, func() time.Time { return now.Add(-time.Duration(i) * 24 * time.Hour) })
		m := &wharf.Manifest{RepositoryID: repo.ID, Digest: fmt.Sprintf("sha256:%064x", i+1), MediaType: "application/vnd.oci.image.manifest.v1+json",
			Content: []byte("{}"), Size: 2}
		tag := fmt.Sprintf("tag-%d", i)
		if i%2 == 1 {
			tag = fmt.Sprintf("dev-%d", i)
		}
		if err := store.Registry.PutManifest(ctx, wharf.ManifestPush{Manifest: m, Repository: repo, Tag: tag}); err != nil {
			t.Fatal(err)
		}
	}
	db.SetClock(store, time.Now)
	return ns, repo
}

func aliveNames(t *testing.T, store *db.DB, repo *wharf.Repository) []string {
	t.Helper()
	tags, err := store.Registry.AliveTags(context.Background(), repo.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range tags {
		names = append(names, l.Name)
	}
	slices.Sort(names)
	return names
}

// A number_of_tags: 3 policy on a repository of 10 tags leaves the newest
// 3; a creation_date: 7d policy with a tag pattern prunes only old
// matching tags; every prune is logged as autoprune_tag_delete.
func TestRunPolicies(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		ctx := context.Background()
		svc := autoprune.NewService(store.Registry, slog.New(slog.DiscardHandler), time.Now)
		caller := &wharf.Caller{}

		ns, repo := pruneFixture(t, store, "counted", 10)
		if _, err := svc.Create(ctx, caller, autoprune.Scope{Namespace: ns, Repository: repo},
			autoprune.Config{Method: ptrTo("number_of_tags"), Value: json.RawMessage("3")}); err != nil {
			t.Fatal(err)
		}
		ns2, repo2 := pruneFixture(t, store, "dated", 10)
		if _, err := svc.Create(ctx, caller, autoprune.Scope{Namespace: ns2},
			autoprune.Config{Method: ptrTo("creation_date"), Value: json.RawMessage(`"7d"`), TagPattern: ptrTo("^dev-")}); err != nil {
			t.Fatal(err)
		}
		n, err := svc.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := aliveNames(t, store, repo), []string{"dev-1", "tag-0", "tag-2"}; !slices.Equal(got, want) {
			t.Errorf("number_of_tags 3 left %v, want %v", got, want)
		}
		// dev-7 and dev-9 are older than a week; tag-8 is too, but does not match.
		if got, want := aliveNames(t, store, repo2), []string{"dev-1", "dev-3", "dev-5", "tag-0", "tag-2", "tag-4", "tag-6", "tag-8"}; !slices.Equal(got, want) {
			t.Errorf("creation_date 7d ^dev- left %v, want %v", got, want)
		}
		if n != 9 {
			t.Errorf("pruned %d tags, want 9", n)
		}
		logs, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		pruneLogs := 0
		for _, en := range logs {
			if en.Kind == "autoprune_tag_delete" && en.Metadata["performer"] == "autoprune worker" {
				pruneLogs++
			}
		}
		if pruneLogs != 9 {
			t.Errorf("%d autoprune_tag_delete entries, want 9", pruneLogs)
		}
		if n, err := svc.Run(ctx); n != 0 || err != nil {
			t.Errorf("second run pruned %d (%v), want nothing", n, err)
		}
	})
}

// Policies are validated with Quay's messages, and duplicates refused.
func TestPolicyValidation(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		ctx := context.Background()
		svc := autoprune.NewService(store.Registry, slog.New(slog.DiscardHandler), time.Now)
		ns, _ := pruneFixture(t, store, "validated", 0)
		sc := autoprune.Scope{Namespace: ns}
		for _, tc := range []struct {
			name   string
			config autoprune.Config
			msg    string
		}{
			{"unknown method", autoprune.Config{Method: ptrTo("by_size"), Value: json.RawMessage("1")}, "Invalid method provided"},
			{"string count", autoprune.Config{Method: ptrTo("number_of_tags"), Value: json.RawMessage(`"10"`)}, "Invalid value given for method type"},
			{"float count", autoprune.Config{Method: ptrTo("number_of_tags"), Value: json.RawMessage(`10.0`)}, "Invalid value given for method type"},
			{"zero count", autoprune.Config{Method: ptrTo("number_of_tags"), Value: json.RawMessage(`0`)}, "Invalid value given for method type"},
			{"integer age", autoprune.Config{Method: ptrTo("creation_date"), Value: json.RawMessage(`7`)}, "Invalid value given for method type"},
			{"bad unit", autoprune.Config{Method: ptrTo("creation_date"), Value: json.RawMessage(`"7x"`)}, "Invalid value given for method type"},
			{"empty pattern", autoprune.Config{Method: ptrTo("creation_date"), Value: json.RawMessage(`"0d"`), TagPattern: ptrTo("  ")}, "tag_pattern cannot be empty"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := svc.Create(ctx, &wharf.Caller{}, sc, tc.config)
				if !wharf.IsCode(err, wharf.Invalid) || wharf.ErrorMessage(err) != tc.msg {
					t.Errorf("got %v, want Invalid %q", err, tc.msg)
				}
			})
		}
		good := autoprune.Config{Method: ptrTo("creation_date"), Value: json.RawMessage(`"2w"`), TagPattern: ptrTo("rc")}
		p, err := svc.Create(ctx, &wharf.Caller{}, sc, good)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(ctx, &wharf.Caller{}, sc, good); wharf.ErrorMessage(err) !=
			"Existing policy with same values for this namespace, duplicate policies are not permitted" {
			t.Errorf("duplicate: %v", err)
		}
		if err := svc.Update(ctx, &wharf.Caller{}, sc, p.UUID, good); err != nil {
			t.Errorf("an update to the same values is no duplicate of itself: %v", err)
		}
		if err := svc.Update(ctx, &wharf.Caller{}, sc, "no-such-uuid", good); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("update of an unknown policy: %v", err)
		}
	})
}
