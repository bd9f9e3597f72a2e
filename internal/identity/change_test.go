package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// racingAccounts runs meanwhile, as another request would, between the
// service's first read of an account and its first write.
type racingAccounts struct {
	*db.Accounts
	meanwhile func(ctx context.Context, read *wharf.Account) error
	updates   int
}

func (r *racingAccounts) UpdateAccount(ctx context.Context, before, after *wharf.Account, entries ...wharf.LogEntry) error {
	if r.updates++; r.updates == 1 {
		if err := r.meanwhile(ctx, before); err != nil {
			return err
		}
	}
	return r.Accounts.UpdateAccount(ctx, before, after, entries...)
}

// TestChangesDecidedOnWhatTheyReplace: a change that lost a race is decided
// again on the account as the other change left it, with that change's
// rules and for the log entries it writes.
func TestChangesDecidedOnWhatTheyReplace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		admin := &wharf.Caller{Account: &wharf.Account{Name: "admin"}}
		policy := identity.Policy{SuperusersEnabled: true}
		change := func(meanwhile func(ctx context.Context, read *wharf.Account) error) (*identity.Service, *racingAccounts) {
			racing := &racingAccounts{Accounts: store.Accounts, meanwhile: meanwhile}
			return identity.NewService(racing, policy), racing
		}
		set := func(edit func(a *wharf.Account)) func(ctx context.Context, read *wharf.Account) error {
			return func(ctx context.Context, read *wharf.Account) error {
				next := *read
				edit(&next)
				return store.Accounts.UpdateAccount(ctx, read, &next)
			}
		}
		newUser := func(t *testing.T, name string) {
			t.Helper()
			u := &wharf.Account{Name: name, Kind: wharf.KindUser, Email: name + "@example.com", Enabled: true}
			if err := store.Accounts.CreateAccount(t.Context(), u, nil); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("promoted meanwhile: cannot update a superuser", func(t *testing.T) {
			newUser(t, "promoted")
			svc, racing := change(set(func(a *wharf.Account) { a.Superuser = true }))
			_, err := svc.ChangeUser(t.Context(), admin, "promoted", identity.UserChanges{Enabled: ptr(false)})
			if wharf.ErrorMessage(err) != "Cannot update a superuser" || racing.updates != 1 {
				t.Fatalf("ChangeUser: %v after %d writes; want Invalid, Cannot update a superuser, after 1", err, racing.updates)
			}
			if got, _ := store.Accounts.AccountByName(t.Context(), "promoted"); !got.Enabled {
				t.Error("the superuser was disabled")
			}
		})
		t.Run("e-mail changed meanwhile: the entry names it", func(t *testing.T) {
			newUser(t, "mailer")
			svc, racing := change(set(func(a *wharf.Account) { a.Email = "between@example.com" }))
			got, err := svc.ChangeUser(t.Context(), admin, "mailer", identity.UserChanges{Email: ptr("final@example.com")})
			if err != nil || got.Email != "final@example.com" || racing.updates != 2 {
				t.Fatalf("ChangeUser: %+v, %v after %d writes; want the new e-mail after 2", got, err, racing.updates)
			}
			logs, err := store.Logs.ListLogs(t.Context(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour),
				AccountID: got.ID, Limit: 10})
			if err != nil || len(logs) != 1 || logs[0].Metadata["old_email"] != "between@example.com" {
				t.Fatalf("action log %+v, %v; want one user_change_email from between@example.com", logs, err)
			}
		})
		t.Run("organization renamed meanwhile: not found by its old name", func(t *testing.T) {
			owner := &wharf.Account{Name: "owner", Kind: wharf.KindUser, Enabled: true}
			org := &wharf.Account{Name: "acme", Kind: wharf.KindOrg, Enabled: true}
			if err := store.Accounts.CreateAccount(t.Context(), owner, nil); err != nil {
				t.Fatal(err)
			}
			if err := store.Accounts.CreateAccount(t.Context(), org, owner); err != nil {
				t.Fatal(err)
			}
			svc, _ := change(set(func(a *wharf.Account) { a.Name = "acme2" }))
			_, err := svc.UpdateOrg(t.Context(), admin, "acme", identity.OrgChanges{InvoiceEmail: ptr(true)})
			if !wharf.IsCode(err, wharf.NotFound) {
				t.Fatalf("UpdateOrg: %v, want NotFound", err)
			}
			if got, _ := store.Accounts.AccountByName(t.Context(), "acme2"); got.InvoiceEmail {
				t.Error("the renamed organization was changed")
			}
		})
	})
}

func ptr[T any](v T) *T { return &v }
