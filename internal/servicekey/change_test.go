package servicekey_test

import (
	"context"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// racingKeys runs meanwhile, as another request would, between the
// service's first read of a key and its first write.
type racingKeys struct {
	*db.ServiceKeys
	meanwhile func(ctx context.Context) error
	writes    int
}

func (r *racingKeys) race(ctx context.Context) error {
	if r.writes++; r.writes == 1 {
		return r.meanwhile(ctx)
	}
	return nil
}

func (r *racingKeys) UpdateServiceKey(ctx context.Context, before, after *wharf.ServiceKey, entries ...wharf.LogEntry) error {
	if err := r.race(ctx); err != nil {
		return err
	}
	return r.ServiceKeys.UpdateServiceKey(ctx, before, after, entries...)
}

func (r *racingKeys) DeleteServiceKey(ctx context.Context, k *wharf.ServiceKey, gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) error {
	if err := r.race(ctx); err != nil {
		return err
	}
	return r.ServiceKeys.DeleteServiceKey(ctx, k, gc, entries...)
}

func (r *racingKeys) ReplaceServiceKey(ctx context.Context, old, next *wharf.ServiceKey, gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) error {
	if err := r.race(ctx); err != nil {
		return err
	}
	return r.ServiceKeys.ReplaceServiceKey(ctx, old, next, gc, entries...)
}

// TestChangesDecidedOnWhatTheyReplace: a change that lost a race is decided
// again on the key as the other change left it, so it neither undoes that
// change nor logs what is no longer so.
func TestChangesDecidedOnWhatTheyReplace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		racing := func(meanwhile func(ctx context.Context) error) (*servicekey.Service, *racingKeys) {
			r := &racingKeys{ServiceKeys: store.ServiceKeys, meanwhile: meanwhile}
			return servicekey.New(r, servicekey.Options{Now: f.clock.Now}), r
		}
		create := func(name string) string {
			created, err := f.svc.Create(ctx, f.admin, servicekey.NewKey{Service: "quay", Name: name})
			check(t, err)
			return created.Key.Kid
		}

		t.Run("metadata changed meanwhile is kept", func(t *testing.T) {
			kid := create("meta")
			svc, r := racing(func(ctx context.Context) error {
				_, err := f.svc.Update(ctx, f.admin, kid, servicekey.Changes{Metadata: map[string]any{"first": "1"}})
				return err
			})
			k, err := svc.Update(ctx, f.admin, kid, servicekey.Changes{Metadata: map[string]any{"second": "2"}})
			if err != nil || r.writes != 2 || k.Metadata["first"] != "1" || k.Metadata["second"] != "2" {
				t.Fatalf("update: %+v, %v after %d writes; want both changes after 2", k, err, r.writes)
			}
			stored, err := f.svc.Get(ctx, kid)
			if err != nil || stored.Metadata["first"] != "1" || stored.Metadata["second"] != "2" {
				t.Fatalf("stored %+v, %v", stored, err)
			}
		})
		t.Run("deleted meanwhile", func(t *testing.T) {
			kid := create("gone")
			svc, _ := racing(func(ctx context.Context) error { return f.svc.Delete(ctx, f.admin, kid) })
			if _, err := svc.Update(ctx, f.admin, kid, servicekey.Changes{Name: ptr("late")}); !wharf.IsCode(err, wharf.NotFound) {
				t.Fatalf("update of a key deleted meanwhile: %v", err)
			}
		})
		t.Run("signing key renamed during a rotation", func(t *testing.T) {
			const aud = "http://registry.example"
			priv, next := rsaKey(t, 0), rsaKey(t, 2)
			now := f.clock.Now()
			self := signRS256(t, priv, map[string]any{"alg": "RS256", "kid": "rot-1"}, claimsAt(now, "rot", aud))
			_, err := f.svc.Submit(ctx, servicekey.Submission{Service: "rot", Kid: "rot-1", JWK: jwkOf(&priv.PublicKey), Token: self, Audience: aud})
			check(t, err)
			check(t, f.svc.Approve(ctx, f.admin, "rot-1", "ok"))
			svc, r := racing(func(ctx context.Context) error {
				_, err := f.svc.Update(ctx, f.admin, "rot-1", servicekey.Changes{Name: ptr("renamed")})
				return err
			})
			rot := signRS256(t, priv, map[string]any{"alg": "RS256", "kid": "rot-1"}, claimsAt(now, "rot", aud))
			rotated, err := svc.Submit(ctx, servicekey.Submission{Service: "rot", Kid: "rot-2", JWK: jwkOf(&next.PublicKey), Token: rot, Audience: aud})
			if err != nil || !rotated || r.writes != 2 {
				t.Fatalf("rotate: %v, rotated %t after %d writes; want a rotation after 2", err, rotated, r.writes)
			}
			k, err := f.svc.Get(ctx, "rot-2")
			if err != nil || k.Name != "renamed" || k.Approval == nil {
				t.Fatalf("rotated key %+v, %v; want the signing key's new name and its approval", k, err)
			}
			entries, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().AddDate(1, 0, 0), Limit: 1})
			check(t, err)
			if entries[0].Kind != "service_key_rotate" || entries[0].Metadata["name"] != "renamed" {
				t.Fatalf("newest entry %s %v; want service_key_rotate naming the key renamed", entries[0].Kind, entries[0].Metadata)
			}
		})
	})
}
