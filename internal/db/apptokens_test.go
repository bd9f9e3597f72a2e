package db_test

import (
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestAppTokenStore: an app token is found by its public half with its
// account, by uuid only for its owner; listing honours the expiring
// window; revoking moves its credential epoch in the same transaction and
// writes its entry; expired tokens are collected only past the cutoff.
func TestAppTokenStore(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := t.Context()
		users := map[string]*wharf.Account{}
		for _, name := range []string{"alice", "bob"} {
			u := &wharf.Account{Name: name, Kind: wharf.KindUser, Email: name + "@example.com", Enabled: true, Verified: true}
			if err := store.Accounts.CreateAccount(ctx, u, nil); err != nil {
				t.Fatal(err)
			}
			users[name] = u
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		mk := func(owner, name string, expires time.Time) *wharf.AppToken {
			tok := &wharf.AppToken{UUID: wharf.NewUUID(), AccountID: users[owner].ID, Title: name, Name: name,
				SecretHash: []byte("0123456789abcdef0123456789abcdef"), ExpiresAt: expires}
			if err := store.Accounts.CreateAppToken(ctx, tok, wharf.LogEntry{Kind: "create_app_specific_token", Account: wharf.PartyOf(users[owner])}); err != nil {
				t.Fatal(err)
			}
			return tok
		}
		forever := mk("alice", "forever", time.Time{})
		soon := mk("alice", "soon", now.Add(time.Hour))
		expired := mk("alice", "expired", now.Add(-48*time.Hour))
		bobs := mk("bob", "bobs", time.Time{})

		got, acct, err := store.Accounts.AppTokenByName(ctx, "soon")
		if err != nil || got.UUID != soon.UUID || acct.Name != "alice" || !acct.Enabled || !got.ExpiresAt.Equal(soon.ExpiresAt) || !got.LastAccessed.IsZero() {
			t.Errorf("by name: %+v %+v %v", got, acct, err)
		}
		if _, _, err := store.Accounts.AppTokenByName(ctx, "nope"); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("unknown name: %v", err)
		}
		if _, err := store.Accounts.AppTokenByUUID(ctx, users["alice"].ID, bobs.UUID); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("bob's token by alice: %v", err)
		}
		all, err := store.Accounts.AppTokens(ctx, users["alice"].ID, time.Time{}, time.Time{})
		if err != nil || len(all) != 3 || all[0].UUID != forever.UUID {
			t.Errorf("alice's tokens: %+v %v", all, err)
		}
		expiring, err := store.Accounts.AppTokens(ctx, users["alice"].ID, now, now.Add(2*time.Hour))
		if err != nil || len(expiring) != 1 || expiring[0].UUID != soon.UUID {
			t.Errorf("expiring: %+v %v", expiring, err)
		}

		if err := store.Accounts.TouchAppToken(ctx, soon.ID, now); err != nil {
			t.Fatal(err)
		}
		if got, err := store.Accounts.AppTokenByUUID(ctx, users["alice"].ID, soon.UUID); err != nil || !got.LastAccessed.Equal(now) {
			t.Errorf("touched: %+v %v", got, err)
		}

		subject := wharf.AppTokenSubject(soon.ID)
		if err := store.Accounts.DeleteAppToken(ctx, soon, wharf.LogEntry{Kind: "revoke_app_specific_token"}); err != nil {
			t.Fatal(err)
		}
		if epochs, err := store.Accounts.Epochs(ctx, []string{subject}); err != nil || epochs[subject] != 1 {
			t.Errorf("epoch after revoking: %v %v", epochs, err)
		}
		if err := store.Accounts.DeleteAppToken(ctx, soon); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("revoking twice: %v", err)
		}

		if n, err := store.Accounts.DeleteExpiredAppTokens(ctx, now.Add(-72*time.Hour), 10); err != nil || n != 0 {
			t.Errorf("collect before the cutoff: %d %v", n, err)
		}
		if n, err := store.Accounts.DeleteExpiredAppTokens(ctx, now.Add(-24*time.Hour), 10); err != nil || n != 1 {
			t.Errorf("collect: %d %v", n, err)
		}
		if _, err := store.Accounts.AppTokenByUUID(ctx, users["alice"].ID, expired.UUID); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("expired token still there: %v", err)
		}

		// Deleting the owner deletes the tokens.
		if err := store.Accounts.DeleteAccount(ctx, users["bob"].ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.Accounts.AppTokenByName(ctx, "bobs"); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("deleted owner's token: %v", err)
		}
	})
}

// TestMessageStore: messages are listed oldest first, found by uuid and
// deleted once.
func TestMessageStore(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := t.Context()
		var made []*wharf.GlobalMessage
		for _, content := range []string{"first", "second ✓ <b>"} {
			m := &wharf.GlobalMessage{UUID: wharf.NewUUID(), Content: content, MediaType: "text/markdown", Severity: "info"}
			if err := store.Messages.CreateMessage(ctx, m, wharf.LogEntry{Kind: "create_global_message"}); err != nil {
				t.Fatal(err)
			}
			made = append(made, m)
		}
		all, err := store.Messages.ListMessages(ctx)
		if err != nil || len(all) != 2 || all[0].Content != "first" || all[1].Content != "second ✓ <b>" {
			t.Errorf("list: %+v %v", all, err)
		}
		got, err := store.Messages.MessageByUUID(ctx, made[1].UUID)
		if err != nil || got.ID != made[1].ID {
			t.Errorf("by uuid: %+v %v", got, err)
		}
		if err := store.Messages.DeleteMessage(ctx, made[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := store.Messages.DeleteMessage(ctx, made[0].ID); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("deleting twice: %v", err)
		}
		if _, err := store.Messages.MessageByUUID(ctx, made[0].UUID); !wharf.IsCode(err, wharf.NotFound) {
			t.Errorf("deleted message found: %v", err)
		}
	})
}
