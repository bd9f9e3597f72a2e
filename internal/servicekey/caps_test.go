package servicekey_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestSubmitCaps: the caps come from Options, a refusal says when a slot
// frees (when the oldest key held against the cap goes stale), and keys
// left unapproved still go stale after UNAPPROVED_SERVICE_KEY_TTL, which
// frees their slots.
func TestSubmitCaps(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		svc := servicekey.New(store.ServiceKeys, servicekey.Options{MaxUnapprovedPerService: 3, MaxUnapprovedPerAddress: 2, Now: f.clock.Now})
		priv := rsaKey(t, 0)
		const aud = "http://registry.example"
		n := 0
		submit := func(ip string) error {
			n++
			kid := fmt.Sprintf("k%d", n)
			token := signRS256(t, priv, map[string]any{"alg": "RS256", "kid": kid}, claimsAt(f.clock.Now(), "svc", aud))
			_, err := svc.Submit(ctx, servicekey.Submission{Service: "svc", Kid: kid, JWK: jwkOf(&priv.PublicKey), Token: token, Audience: aud, IP: ip})
			return err
		}
		refusedFor := func(err error, want time.Duration) {
			t.Helper()
			var capped *wharf.RetryAfterError
			if !wharf.IsCode(err, wharf.TooManyRequests) || !errors.As(err, &capped) || capped.After != want {
				t.Fatalf("got %v, want TooManyRequests with RetryAfter %s", err, want)
			}
		}

		check(t, submit("10.1.1.1")) // k1, the oldest
		f.clock.Add(time.Hour)
		check(t, submit("10.1.1.1"))
		refusedFor(submit("10.1.1.1"), 23*time.Hour)        // the address cap: k1 goes stale in 23 h
		refusedFor(submit("::ffff:10.1.1.1"), 23*time.Hour) // the same address, IPv4-mapped
		check(t, submit("10.2.2.2"))
		refusedFor(submit("10.3.3.3"), 23*time.Hour) // the service cap

		f.clock.Add(23 * time.Hour) // k1 is stale now
		check(t, submit("10.1.1.1"))
		if _, err := svc.Get(ctx, "k1"); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("k1 outlived UNAPPROVED_SERVICE_KEY_TTL: %v", err)
		}
		if got := logKinds(t, store); len(got) != 4 {
			t.Fatalf("logs %v: want one service_key_create per admitted key", got)
		}
	})
}
