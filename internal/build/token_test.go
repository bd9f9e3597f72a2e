package build_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// instanceKeys returns the instance keys wharf signs tokens with (as
// cmd/wharf makes them), with a key already made.
func instanceKeys(t *testing.T, store *db.DB, secret string) *servicekey.InstanceKeys {
	t.Helper()
	keys, err := servicekey.New(store.ServiceKeys, servicekey.Options{}).InstanceKeys(auth.RegistryTokenIssuer, []byte(secret), 24*time.Hour, time.Hour)
	must(t, err)
	_, err = keys.Current(context.Background())
	must(t, err)
	return keys
}

func TestTokens(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		keys := instanceKeys(t, store, "secret")
		tokens := build.NewTokens(keys, store.Builds, time.Now)
		file := f.upload(tarGz(t, "Dockerfile", "FROM scratch\n"))

		running := f.start(build.Request{FileID: &file.UUID})
		f.moveTo(running, wharf.PhasePushing)
		waiting := f.start(build.Request{FileID: &file.UUID})

		t.Run("issue-verify", func(t *testing.T) {
			tok, err := tokens.Issue(ctx, running.UUID, "w", time.Minute)
			must(t, err)
			got, err := tokens.Verify(ctx, tok)
			must(t, err)
			if got.UUID != running.UUID || got.ID != running.ID || got.Repository.ID != f.repo.ID {
				t.Fatalf("Verify = build %s (%d), want %s (%d)", got.UUID, got.ID, running.UUID, running.ID)
			}
			// Another process sharing the database and secret verifies it.
			other := build.NewTokens(instanceKeys(t, store, "secret"), store.Builds, time.Now)
			if got, err := other.Verify(ctx, tok); err != nil || got.UUID != running.UUID {
				t.Fatalf("another process: Verify = %v, %v", got, err)
			}
		})

		// A waiting build has no holder: no token serves it.
		waitingTok, err := tokens.Issue(ctx, waiting.UUID, "w", time.Minute)
		must(t, err)
		otherWorkerTok, err := tokens.Issue(ctx, running.UUID, "another-worker", time.Minute)
		must(t, err)
		f.moveTo(waiting, wharf.PhaseCancelled) // so that "finished" is the oldest waiting build
		finished := f.start(build.Request{FileID: &file.UUID})
		cancelled := f.start(build.Request{FileID: &file.UUID})
		// Issued while the builds were live and held by worker "w".
		f.moveTo(finished, wharf.PhaseBuilding)
		finishedTok, err := tokens.Issue(ctx, finished.UUID, "w", time.Minute)
		must(t, err)
		if _, err := tokens.Verify(ctx, finishedTok); err != nil {
			t.Fatalf("the token of a live build: %v", err)
		}
		must(t, store.Builds.FinishBuild(ctx, finished.UUID, "w", wharf.PhaseComplete, ""))
		f.moveTo(cancelled, wharf.PhaseBuilding)
		cancelledTok, err := tokens.Issue(ctx, cancelled.UUID, "w", time.Minute)
		must(t, err)
		must(t, f.svc.Cancel(ctx, f.actor(), cancelled))

		sign := func(claims any) string {
			tok, err := keys.Sign(ctx, claims)
			must(t, err)
			return tok
		}
		now := time.Now()
		past := build.NewTokens(keys, store.Builds, func() time.Time { return now.Add(-2 * time.Hour) })
		expired, err := past.Issue(ctx, running.UUID, "w", time.Hour)
		must(t, err)
		short, err := tokens.Issue(ctx, running.UUID, "w", time.Second)
		must(t, err)
		unknown, err := tokens.Issue(ctx, newUUIDFor(t), "w", time.Minute)
		must(t, err)
		foreign, err := build.NewTokens(instanceKeys(t, dbtest.Open(t, store.Dialect()), "secret"), store.Builds, time.Now).Issue(ctx, running.UUID, "w", time.Minute)
		must(t, err)
		valid, err := tokens.Issue(ctx, running.UUID, "w", time.Minute)
		must(t, err)
		parts := strings.Split(valid, ".")
		// A registry bearer token, signed by the same keys, naming the build.
		registryTok, _, err := auth.NewRegistryTokens(keys, auth.NewRevocations(store.Accounts, time.Hour, time.Second, slog.New(slog.DiscardHandler)), serverHostname, time.Minute, time.Now).Issue(ctx, running.UUID, f.alice.ID,
			string(wharf.KindUser), []auth.RegistryAccess{{Type: "repository", Name: "alice/app", Actions: []string{"push", "pull"}}})
		must(t, err)
		type claims struct {
			Iss string `json:"iss"`
			Aud string `json:"aud"`
			Sub string `json:"sub"`
			Iat int64  `json:"iat"`
			Nbf int64  `json:"nbf"`
			Exp int64  `json:"exp"`
			Wkr string `json:"wkr,omitempty"`
		}
		buildClaims := func(iss, aud string) claims {
			return claims{iss, aud, running.UUID, now.Unix(), now.Add(-10 * time.Second).Unix(), now.Add(time.Minute).Unix(), "w"}
		}

		refused := []struct {
			name  string
			token func() string
			ahead time.Duration // how far Verify's clock is ahead
		}{
			{"expired", func() string { return expired }, 0},
			{"lifetime-over", func() string { time.Sleep(1100 * time.Millisecond); return short }, 0},
			{"expired-by-the-tokens-clock", func() string { return valid }, 2 * time.Minute},
			{"build-finished", func() string { return finishedTok }, 0},
			{"build-cancelled", func() string { return cancelledTok }, 0},
			{"build-waiting", func() string { return waitingTok }, 0},
			{"another-worker", func() string { return otherWorkerTok }, 0},
			{"no-worker", func() string {
				c := buildClaims("wharf-build", "wharf-registry")
				c.Wkr = ""
				return sign(c)
			}, 0},
			{"unknown-build", func() string { return unknown }, 0},
			{"registry-token", func() string { return registryTok }, 0},
			{"other-issuer", func() string { return sign(buildClaims("wharf", "wharf-registry")) }, 0},
			{"other-audience", func() string { return sign(buildClaims("wharf-build", serverHostname)) }, 0},
			{"other-instance-keys", func() string { return foreign }, 0},
			{"tampered-payload", func() string { return parts[0] + "." + parts[1] + "x." + parts[2] }, 0},
			{"tampered-signature", func() string { return parts[0] + "." + parts[1] + "." + strings.ToUpper(parts[2]) }, 0},
			{"garbage", func() string { return "not-a-token" }, 0},
			{"empty", func() string { return "" }, 0},
		}
		// The same claims with the build issuer do verify: the refusals
		// above are for the reason each names.
		if got, err := tokens.Verify(ctx, sign(buildClaims("wharf-build", "wharf-registry"))); err != nil || got.UUID != running.UUID {
			t.Fatalf("hand-made build token: %v, %v", got, err)
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				v := tokens
				if tt.ahead != 0 {
					v = build.NewTokens(keys, store.Builds, func() time.Time { return time.Now().Add(tt.ahead) })
				}
				b, err := v.Verify(ctx, tt.token())
				if b != nil || !wharf.IsCode(err, wharf.Unauthenticated) {
					t.Fatalf("Verify = %v, %v; want Unauthenticated", b, err)
				}
			})
		}
	})
}
