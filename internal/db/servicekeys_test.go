package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func at(t time.Time) *time.Time { return &t }

func testKey(kid, service string, created time.Time, expires *time.Time, approval *wharf.ServiceKeyApproval) *wharf.ServiceKey {
	return &wharf.ServiceKey{Kid: kid, Service: service, Name: "key " + kid,
		JWK:      map[string]any{"kty": "RSA", "n": "bW9kdWx1cw", "e": "AQAB", "kid": kid},
		Metadata: map[string]any{"created_by": "test", "n": float64(1)}, CreatedAt: created, ExpiresAt: expires, Approval: approval}
}

func kids(keys []*wharf.ServiceKey) []string {
	out := []string{}
	for _, k := range keys {
		out = append(out, k.Kid)
	}
	return out
}

func TestServiceKeys(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		now := time.Date(2025, 2, 18, 19, 28, 15, 123456000, time.UTC)
		admin := newUser("admin", "admin@example.com")
		if err := store.Accounts.CreateAccount(ctx, admin, nil); err != nil {
			t.Fatal(err)
		}
		approval := &wharf.ServiceKeyApproval{Type: wharf.ApprovalSuperuser, ApproverID: admin.ID, ApprovedAt: now, Notes: "ok"}
		rotation := int64(600)
		k1 := testKey("k1", "quay", now, at(now.Add(time.Hour)), approval)
		k1.RotationDuration = &rotation
		if err := store.ServiceKeys.CreateServiceKey(ctx, k1, wharf.ServiceKeyGC{Service: "quay"},
			wharf.LogEntry{Kind: "service_key_create"}, wharf.LogEntry{Kind: "service_key_approve"}); err != nil {
			t.Fatal(err)
		}
		got, err := store.ServiceKeys.ServiceKey(ctx, "k1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Approval == nil || got.Approval.Approver == nil || got.Approval.Approver.Name != "admin" {
			t.Fatalf("approver not loaded: %+v", got.Approval)
		}
		got.Approval.Approver = nil
		want := *k1
		wantApproval := *approval
		want.Approval = &wantApproval
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Fatalf("stored key differs (-want +got):\n%s", diff)
		}
		if n := logCount(t, store); n != 2 {
			t.Fatalf("%d log rows after create, want 2", n)
		}

		t.Run("duplicate kid", func(t *testing.T) {
			before := logCount(t, store)
			err := store.ServiceKeys.CreateServiceKey(ctx, testKey("k1", "other", now, nil, nil), wharf.ServiceKeyGC{Service: "other"}, wharf.LogEntry{Kind: "service_key_create"})
			if !wharf.IsCode(err, wharf.Conflict) {
				t.Fatalf("got %v, want Conflict", err)
			}
			if logCount(t, store) != before {
				t.Fatal("a refused create wrote a log row")
			}
		})

		t.Run("unknown kid", func(t *testing.T) {
			if _, err := store.ServiceKeys.ServiceKey(ctx, "nope"); !wharf.IsCode(err, wharf.NotFound) {
				t.Fatalf("got %v, want NotFound", err)
			}
			nope := testKey("nope", "svc", now, nil, nil)
			if err := store.ServiceKeys.UpdateServiceKey(ctx, nope, nope); !wharf.IsCode(err, wharf.NotFound) {
				t.Fatalf("update: got %v, want NotFound", err)
			}
			if err := store.ServiceKeys.DeleteServiceKey(ctx, nope, wharf.ServiceKeyGC{}); !wharf.IsCode(err, wharf.NotFound) {
				t.Fatalf("delete: got %v, want NotFound", err)
			}
		})

		t.Run("update", func(t *testing.T) {
			before := logCount(t, store)
			read, err := store.ServiceKeys.ServiceKey(ctx, "k1")
			if err != nil {
				t.Fatal(err)
			}
			updated := *read
			updated.Name, updated.ExpiresAt, updated.Metadata = "renamed", nil, map[string]any{"extra": "x"}
			updated.Approval = &wharf.ServiceKeyApproval{Type: read.Approval.Type, ApproverID: read.Approval.ApproverID,
				ApprovedAt: read.Approval.ApprovedAt, Notes: read.Approval.Notes}
			err = store.ServiceKeys.UpdateServiceKey(ctx, read, &updated, wharf.LogEntry{Kind: "service_key_modify"})
			if err != nil || updated.Approval.Approver == nil {
				t.Fatalf("update: %+v, %v", updated, err)
			}
			got, _ := store.ServiceKeys.ServiceKey(ctx, "k1")
			if got.Name != "renamed" || got.ExpiresAt != nil || got.Metadata["extra"] != "x" || logCount(t, store) != before+1 {
				t.Fatalf("update not stored: %+v", got)
			}
		})

		t.Run("list hides stale keys", func(t *testing.T) {
			for _, k := range []*wharf.ServiceKey{
				testKey("alive", "svc", now, at(now.Add(time.Hour)), nil),
				testKey("expired", "svc", now, at(now.Add(-time.Hour)), nil),
				testKey("stale", "svc", now, at(now.Add(-8*24*time.Hour)), nil),
			} {
				if err := store.ServiceKeys.CreateServiceKey(ctx, k, wharf.ServiceKeyGC{}); err != nil {
					t.Fatal(err)
				}
			}
			keys, err := store.ServiceKeys.ListServiceKeys(ctx, "svc", now.Add(-7*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"alive", "expired"}, kids(keys)); diff != "" {
				t.Fatalf("list (-want +got):\n%s", diff)
			}
			all, err := store.ServiceKeys.ListServiceKeys(ctx, "", now.Add(-7*24*time.Hour))
			if err != nil || len(all) != 3 {
				t.Fatalf("all services: %v, %v", kids(all), err)
			}
		})

		t.Run("gc", func(t *testing.T) {
			for _, k := range []*wharf.ServiceKey{
				testKey("old-unapproved", "gc", now.Add(-2*24*time.Hour), nil, nil),
				testKey("new-unapproved", "gc", now, nil, nil),
				testKey("old-approved", "gc", now.Add(-30*24*time.Hour), nil, approval),
				testKey("long-expired", "gc", now.Add(-30*24*time.Hour), at(now.Add(-8*24*time.Hour)), approval),
				testKey("other-service", "gc2", now.Add(-2*24*time.Hour), nil, nil),
			} {
				if err := store.ServiceKeys.CreateServiceKey(ctx, k, wharf.ServiceKeyGC{}); err != nil {
					t.Fatal(err)
				}
			}
			gc := wharf.ServiceKeyGC{Service: "gc", ExpiredBefore: now.Add(-7 * 24 * time.Hour), UnapprovedBefore: now.Add(-24 * time.Hour)}
			// Creating a key of the service collects its stale keys first.
			if err := store.ServiceKeys.CreateServiceKey(ctx, testKey("fresh", "gc", now, nil, nil), gc); err != nil {
				t.Fatal(err)
			}
			keys, _ := store.ServiceKeys.ListServiceKeys(ctx, "", time.Time{})
			for _, gone := range []string{"old-unapproved", "long-expired"} {
				if slicesContains(kids(keys), gone) {
					t.Errorf("%s survived the collection", gone)
				}
			}
			for _, kept := range []string{"new-unapproved", "old-approved", "fresh", "other-service", "stale"} {
				if !slicesContains(kids(keys), kept) {
					t.Errorf("%s was collected", kept)
				}
			}
			gc.Service = ""
			n, err := store.ServiceKeys.DeleteStaleServiceKeys(ctx, gc)
			if err != nil || n != 2 { // other-service (unapproved, old) and stale (svc, expired 8 days ago)
				t.Fatalf("collected %d, %v; want 2", n, err)
			}
		})

		t.Run("delete and approver removal", func(t *testing.T) {
			bob := newUser("bob", "bob@example.com")
			if err := store.Accounts.CreateAccount(ctx, bob, nil); err != nil {
				t.Fatal(err)
			}
			k := testKey("bobs", "del", now, nil, &wharf.ServiceKeyApproval{Type: wharf.ApprovalSuperuser, ApproverID: bob.ID, ApprovedAt: now})
			if err := store.ServiceKeys.CreateServiceKey(ctx, k, wharf.ServiceKeyGC{}); err != nil {
				t.Fatal(err)
			}
			if err := store.Accounts.DeleteAccount(ctx, bob.ID); err != nil {
				t.Fatal(err)
			}
			got, err := store.ServiceKeys.ServiceKey(ctx, "bobs")
			if err != nil || got.Approval == nil || got.Approval.ApproverID != 0 || got.Approval.Approver != nil {
				t.Fatalf("after the approver's deletion: %+v, %v", got, err)
			}
			before := logCount(t, store)
			err = store.ServiceKeys.DeleteServiceKey(ctx, k, wharf.ServiceKeyGC{}, wharf.LogEntry{Kind: "service_key_delete"})
			wantChanged(t, "a delete decided before the approver's deletion", err)
			if logCount(t, store) != before {
				t.Fatal("a refused delete wrote a log row")
			}
			err = store.ServiceKeys.DeleteServiceKey(ctx, got, wharf.ServiceKeyGC{}, wharf.LogEntry{Kind: "service_key_delete"})
			if err != nil || logCount(t, store) != before+1 {
				t.Fatalf("delete: %v", err)
			}
			if _, err := store.ServiceKeys.ServiceKey(ctx, "bobs"); !wharf.IsCode(err, wharf.NotFound) {
				t.Fatalf("deleted key still there: %v", err)
			}
		})

		t.Run("replace", func(t *testing.T) {
			if err := store.ServiceKeys.CreateServiceKey(ctx, testKey("r1", "rot", now, nil, approval), wharf.ServiceKeyGC{}); err != nil {
				t.Fatal(err)
			}
			old, err := store.ServiceKeys.ServiceKey(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			next := testKey("r2", "rot", now, nil, old.Approval)
			next.Name = old.Name
			if err := store.ServiceKeys.ReplaceServiceKey(ctx, old, next, wharf.ServiceKeyGC{}, wharf.LogEntry{Kind: "service_key_rotate"}); err != nil {
				t.Fatal(err)
			}
			if _, err := store.ServiceKeys.ServiceKey(ctx, "r1"); !wharf.IsCode(err, wharf.NotFound) {
				t.Fatalf("old key survived: %v", err)
			}
			got, err := store.ServiceKeys.ServiceKey(ctx, "r2")
			if err != nil || got.Name != "key r1" || got.Approval == nil || got.Approval.Approver == nil {
				t.Fatalf("new key: %+v, %v", got, err)
			}
			err = store.ServiceKeys.ReplaceServiceKey(ctx, got, testKey("k1", "rot", now, nil, nil), wharf.ServiceKeyGC{})
			if !wharf.IsCode(err, wharf.Conflict) || errors.Is(err, wharf.ErrChanged) {
				t.Fatalf("replace onto a taken kid: %v", err)
			}
			if _, err := store.ServiceKeys.ServiceKey(ctx, "r2"); err != nil {
				t.Fatalf("a refused replace removed the old key: %v", err)
			}
		})

		t.Run("instance key", func(t *testing.T) {
			k := testKey("inst", "wharf", now, at(now.Add(time.Hour)), &wharf.ServiceKeyApproval{Type: wharf.ApprovalAutomatic, ApprovedAt: now})
			if err := store.ServiceKeys.CreateInstanceKey(ctx, k, []byte("sealed"), wharf.ServiceKeyGC{}); err != nil {
				t.Fatal(err)
			}
			sealed, err := store.ServiceKeys.InstanceKey(ctx, "inst")
			if err != nil || string(sealed) != "sealed" {
				t.Fatalf("sealed %q, %v", sealed, err)
			}
			if _, err := store.ServiceKeys.InstanceKey(ctx, "k1"); !wharf.IsCode(err, wharf.NotFound) {
				t.Fatalf("a superuser key has a private half: %v", err)
			}
			if err := store.ServiceKeys.DeleteServiceKey(ctx, k, wharf.ServiceKeyGC{}); err != nil {
				t.Fatal(err)
			}
			if _, err := store.ServiceKeys.InstanceKey(ctx, "inst"); !wharf.IsCode(err, wharf.NotFound) {
				t.Fatalf("the private half outlived its key: %v", err)
			}
		})
	})
}

func slicesContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
