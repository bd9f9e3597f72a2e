package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestAccessTokenCache: an OAuth token's lookup is answered from memory
// only while nothing that could change it happened: a change made through
// this process is seen at once, one made by another process once polled,
// and anything else once the entry is older than the TTL.
func TestAccessTokenCache(t *testing.T) {
	for _, engine := range dbtest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) { testAccessTokenCache(t, dbtest.URI(t, engine)) })
	}
}

func testAccessTokenCache(t *testing.T, uri string) {
	ctx := context.Background()
	store, other := twoProcesses(t, uri)
	org := &wharf.Account{Name: "acme", Kind: wharf.KindOrg, Enabled: true}
	user := &wharf.Account{Name: "alice", Kind: wharf.KindUser, Enabled: true, Email: "alice@example.com"}
	for _, a := range []*wharf.Account{org, user} {
		if err := store.Accounts.CreateAccount(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
	}
	newToken := func(name string) *wharf.AccessToken {
		t.Helper()
		app := &wharf.Application{OrgID: org.ID, ClientID: "client-" + name, ClientSecret: "s", Name: name}
		if err := store.OAuth.CreateApplication(ctx, app); err != nil {
			t.Fatal(err)
		}
		tok := &wharf.AccessToken{Name: name, SecretHash: []byte("hash"), AccountID: user.ID, Application: *app,
			Scope: "user:read", ExpiresAt: time.Now().Add(time.Hour)}
		if err := store.OAuth.CreateAccessToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	revocations := auth.NewRevocations(store.Accounts, time.Hour, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	poll := func() {
		t.Helper()
		if err := revocations.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	poll()
	now := time.Now()
	c := newAccessTokenCache(store.Accounts, revocations, store.Changes)
	c.now = func() time.Time { return now }
	lookup := func(name string) (*wharf.Account, error) {
		t.Helper()
		_, acct, err := c.AccessTokenByName(ctx, name)
		return acct, err
	}
	mustFind := func(what, name string) *wharf.Account {
		t.Helper()
		acct, err := lookup(name)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return acct
	}

	first, second := newToken("tok-one"), newToken("tok-two")
	if got := mustFind("first read", first.Name); got.Email != "alice@example.com" {
		t.Fatalf("first read: e-mail %q", got.Email)
	}
	// An e-mail changed by this process (no epoch moves): seen at once.
	before := *user
	user.Email = "alice@corp.example"
	if err := store.Accounts.UpdateAccount(ctx, &before, user); err != nil {
		t.Fatal(err)
	}
	if got := mustFind("after this process's change", first.Name); got.Email != user.Email {
		t.Fatalf("this process changed the e-mail to %q; the cache says %q", user.Email, got.Email)
	}
	// Changed by another process: served from memory until the TTL ends.
	before = *user
	user.Email = "alice@elsewhere.example"
	if err := other.Accounts.UpdateAccount(ctx, &before, user); err != nil {
		t.Fatal(err)
	}
	if got := mustFind("within the TTL", first.Name); got.Email != "alice@corp.example" {
		t.Fatalf("within the TTL the cache says %q; want the entry it holds", got.Email)
	}
	now = now.Add(accessTokenCacheTTL)
	if got := mustFind("after the TTL", first.Name); got.Email != user.Email {
		t.Fatalf("after the TTL the cache says %q; want %q", got.Email, user.Email)
	}
	// The application deleted by another process: its tokens are gone
	// once this process has polled.
	mustFind("second token", second.Name)
	if err := other.OAuth.DeleteApplication(ctx, second.Application.ID); err != nil {
		t.Fatal(err)
	}
	poll()
	if _, err := lookup(second.Name); !wharf.IsCode(err, wharf.NotFound) {
		t.Fatalf("token of an application deleted elsewhere, after the poll: %v; want NotFound", err)
	}
	// The account disabled by another process: seen once polled.
	before = *user
	user.Enabled = false
	if err := other.Accounts.UpdateAccount(ctx, &before, user); err != nil {
		t.Fatal(err)
	}
	if got := mustFind("before the poll", first.Name); !got.Enabled {
		t.Fatal("before the poll the cache already says disabled; want the entry it holds")
	}
	poll()
	if got := mustFind("after the poll", first.Name); got.Enabled {
		t.Fatal("another process disabled the account; after the poll the cache still says enabled")
	}
	// The application deleted by this process: seen at once.
	if err := store.OAuth.DeleteApplication(ctx, first.Application.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := lookup(first.Name); !wharf.IsCode(err, wharf.NotFound) {
		t.Fatalf("token of an application this process deleted: %v; want NotFound", err)
	}
}
