package db_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// The store writes a change a caller decided on a row it read only if the
// row is still as read; otherwise nothing is written, log entries
// included, and Conflict caused by wharf.ErrChanged lets the caller decide
// again.

func wantChanged(t *testing.T, what string, err error) {
	t.Helper()
	failIf(t, !errors.Is(err, wharf.ErrChanged) || !wharf.IsCode(err, wharf.Conflict), "%s: got %v, want Conflict (ErrChanged)", what, err)
}

func TestChangeQuotaOverWhatWasRead(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := t.Context()
		f := newUsageFixture(t, store, "acme")
		read := &wharf.Quota{NamespaceID: f.ns.ID, LimitBytes: 1000}
		must(t, store.Quotas.CreateQuota(ctx, read, "exists"))
		must(t, store.Quotas.CreateQuotaLimit(ctx, read.ID, &wharf.QuotaLimit{Kind: "Warning", Percent: 80}))
		logs := logCount(t, store)

		after, err := store.Quotas.ChangeQuota(ctx, read, 2000, wharf.LogEntry{Kind: "org_change_quota"})
		failIf(t, err != nil || after.ID != read.ID || after.LimitBytes != 2000 || len(after.Limits) != 1,
			"change: %+v, %v; want the quota with its limit, at 2000 bytes", after, err)
		failIf(t, logCount(t, store) != logs+1, "the change wrote %d entries, want 1", logCount(t, store)-logs)

		_, err = store.Quotas.ChangeQuota(ctx, read, 3000, wharf.LogEntry{Kind: "org_change_quota"})
		wantChanged(t, "a change decided on the quota at 1000 bytes", err)
		got, err := store.Quotas.NamespaceQuota(ctx, f.ns.ID)
		failIf(t, err != nil || got.LimitBytes != 2000 || logCount(t, store) != logs+1,
			"a refused change wrote: %+v, %v, %d entries", got, err, logCount(t, store)-logs)

		foreign := *got
		foreign.NamespaceID = f.ns.ID + 1000
		wantNotFound(t, "another namespace's quota", errOf(store.Quotas.ChangeQuota(ctx, &foreign, 3000)))
		must(t, store.Quotas.DeleteQuota(ctx, f.ns.ID, got.ID))
		wantNotFound(t, "a deleted quota", errOf(store.Quotas.ChangeQuota(ctx, got, 3000)))
	})
}

func TestUpdateAccountOverWhatWasRead(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := t.Context()
		admin := newUser("admin", "")
		must(t, store.Accounts.CreateAccount(ctx, admin, nil))
		for _, tc := range []struct {
			name, user string
			// meanwhile changes the account after it was read.
			meanwhile func(read *wharf.Account) error
		}{
			{"another update", "updated", func(read *wharf.Account) error {
				other := *read
				other.Email = "other@example.com"
				return store.Accounts.UpdateAccount(ctx, read, &other)
			}},
			{"a conversion to an organization", "converted", func(read *wharf.Account) error {
				return store.Accounts.ConvertToOrg(ctx, read.ID, admin.ID)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				read := newUser(tc.user, "")
				read.PasswordHash = "hash"
				must(t, store.Accounts.CreateAccount(ctx, read, nil))
				must(t, tc.meanwhile(read))
				now, err := store.Accounts.AccountByID(ctx, read.ID)
				must(t, err)
				logs := logCount(t, store)

				promoted := *read
				promoted.Superuser = true
				wantChanged(t, "an update decided on the account as first read",
					store.Accounts.UpdateAccount(ctx, read, &promoted, wharf.LogEntry{Kind: "user_change_superuser"}))
				got, err := store.Accounts.AccountByID(ctx, read.ID)
				must(t, err)
				noDiff(t, "the account after a refused update", now, got)
				failIf(t, logCount(t, store) != logs, "a refused update wrote %d entries", logCount(t, store)-logs)

				promoted = *now
				promoted.Superuser = true
				must(t, store.Accounts.UpdateAccount(ctx, now, &promoted, wharf.LogEntry{Kind: "user_change_superuser"}))
				failIf(t, logCount(t, store) != logs+1, "the update over a fresh read wrote %d entries, want 1", logCount(t, store)-logs)
			})
		}
		gone := newUser("gone", "")
		must(t, store.Accounts.CreateAccount(ctx, gone, nil))
		must(t, store.Accounts.DeleteAccount(ctx, gone.ID))
		renamed := *gone
		renamed.Name = "back"
		wantNotFound(t, "a deleted account", store.Accounts.UpdateAccount(ctx, gone, &renamed))
	})
}

func TestServiceKeyChangesOverWhatWasRead(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := t.Context()
		now := time.Now().UTC().Truncate(time.Second)
		approval := &wharf.ServiceKeyApproval{Type: wharf.ApprovalAutomatic, ApprovedAt: now}
		must(t, store.ServiceKeys.CreateServiceKey(ctx, testKey("k", "svc", now, nil, approval), wharf.ServiceKeyGC{}))
		read, err := store.ServiceKeys.ServiceKey(ctx, "k")
		must(t, err)
		extended := *read
		extended.ExpiresAt = at(now.Add(time.Hour))
		must(t, store.ServiceKeys.UpdateServiceKey(ctx, read, &extended, wharf.LogEntry{Kind: "service_key_extend"}))
		now2, err := store.ServiceKeys.ServiceKey(ctx, "k")
		must(t, err)
		logs := logCount(t, store)

		renamed := *read
		renamed.Name = "renamed"
		wantChanged(t, "an update decided before the expiration changed", store.ServiceKeys.UpdateServiceKey(ctx, read, &renamed))
		wantChanged(t, "a deletion decided before", store.ServiceKeys.DeleteServiceKey(ctx, read, wharf.ServiceKeyGC{}))
		wantChanged(t, "a rotation decided before",
			store.ServiceKeys.ReplaceServiceKey(ctx, read, testKey("next", "svc", now, nil, read.Approval), wharf.ServiceKeyGC{}))
		got, err := store.ServiceKeys.ServiceKey(ctx, "k")
		must(t, err)
		noDiff(t, "the key after refused changes", now2, got)
		wantNotFound(t, "the refused rotation's key", errOf(store.ServiceKeys.ServiceKey(ctx, "next")))
		failIf(t, logCount(t, store) != logs, "refused changes wrote %d entries", logCount(t, store)-logs)
	})
}
