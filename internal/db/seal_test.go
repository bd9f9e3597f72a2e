package db_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

const (
	robotToken   = "ROBOTTOKEN0123456789ROBOTTOKEN0123456789ROBOTTOKEN0123456789ABCD"
	clientSecret = "CLIENTSECRET0123456789CLIENTSECRET012345"
)

// secretFixture stores an organization with a robot and an OAuth
// application whose credentials are robotToken and clientSecret.
func secretFixture(t *testing.T, store *db.DB) *wharf.Application {
	t.Helper()
	ctx := context.Background()
	org := &wharf.Account{Name: "acme", Kind: wharf.KindOrg, Enabled: true}
	must(t, store.Accounts.CreateAccount(ctx, org, nil))
	must(t, store.Accounts.CreateRobot(ctx, &wharf.Robot{NamespaceID: org.ID, Token: robotToken,
		Account: &wharf.Account{Name: "acme+bot", Kind: wharf.KindRobot, Enabled: true}}))
	app := &wharf.Application{OrgID: org.ID, ClientID: "CLIENTID", ClientSecret: clientSecret, Name: "app"}
	must(t, store.OAuth.CreateApplication(ctx, app))
	return app
}

// atRest returns the stored robot token and client secret as they are in the database.
func atRest(t *testing.T, store *db.DB) (token, secret string) {
	t.Helper()
	token, err := db.RawString(store, `SELECT token FROM robot`)
	must(t, err)
	secret, err = db.RawString(store, `SELECT client_secret FROM oauth_application`)
	must(t, err)
	return token, secret
}

// wantCredentials fails unless every read of the store gives the plaintext.
func wantCredentials(t *testing.T, store *db.DB, token, secret string) {
	t.Helper()
	ctx := context.Background()
	rb, err := store.Accounts.RobotByName(ctx, "acme+bot")
	must(t, err)
	robots, err := store.Accounts.Robots(ctx, rb.NamespaceID)
	must(t, err)
	app, err := store.OAuth.ApplicationByClientID(ctx, "CLIENTID")
	must(t, err)
	apps, err := store.OAuth.Applications(ctx, app.OrgID)
	must(t, err)
	if rb.Token != token || len(robots) != 1 || robots[0].Token != token {
		t.Errorf("robot token read back as %q / %v, want %q", rb.Token, robots, token)
	}
	if app.ClientSecret != secret || len(apps) != 1 || apps[0].ClientSecret != secret {
		t.Errorf("client secret read back as %q / %v, want %q", app.ClientSecret, apps, secret)
	}
}

// TestSealedSecrets checks that robot tokens and OAuth client secrets are
// sealed at rest, not merely encoded, and read back as they were written,
// a reset secret included.
func TestSealedSecrets(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		app := secretFixture(t, store)
		token, secret := atRest(t, store)
		for _, v := range []struct{ raw, plain string }{{token, robotToken}, {secret, clientSecret}} {
			if !strings.HasPrefix(v.raw, "sealed:v1:") || strings.Contains(v.raw, v.plain) {
				t.Errorf("stored as %q, want sealed:v1:… without the plaintext", v.raw)
			}
		}
		wantCredentials(t, store, robotToken, clientSecret)

		app.ClientSecret = "RESETSECRET"
		must(t, store.OAuth.UpdateApplication(context.Background(), app))
		if _, secret := atRest(t, store); !strings.HasPrefix(secret, "sealed:v1:") || strings.Contains(secret, "RESETSECRET") {
			t.Errorf("reset secret stored as %q", secret)
		}
		wantCredentials(t, store, robotToken, "RESETSECRET")
	})
}

// TestSealLegacyRows checks that a database written without sealing (an
// older wharf) is sealed the first time it is opened with a SECRET_KEY,
// that opening it again changes nothing, and that another key or none is
// refused with an error naming SECRET_KEY instead of giving garbage.
func TestSealLegacyRows(t *testing.T) {
	for _, d := range dbtest.Engines(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			uri := dbtest.URI(t, d)
			open := func(opts ...db.Option) (*db.DB, error) {
				store, err := db.Open(ctx, uri, opts...)
				if err == nil {
					t.Cleanup(func() { store.Close() })
				}
				return store, err
			}

			legacy, err := open()
			must(t, err)
			secretFixture(t, legacy)
			if token, secret := atRest(t, legacy); token != robotToken || secret != clientSecret {
				t.Fatalf("without a key the store wrote %q, %q; want the legacy plaintext", token, secret)
			}
			legacy.Close()

			sealed, err := open(db.WithSecretKey("key-one"))
			must(t, err)
			token, secret := atRest(t, sealed)
			if !strings.HasPrefix(token, "sealed:v1:") || !strings.HasPrefix(secret, "sealed:v1:") {
				t.Fatalf("legacy rows still %q, %q after an open with a key", token, secret)
			}
			wantCredentials(t, sealed, robotToken, clientSecret)
			sealed.Close()

			again, err := open(db.WithSecretKey("key-one"))
			must(t, err)
			if t2, s2 := atRest(t, again); t2 != token || s2 != secret {
				t.Errorf("a second open resealed the rows: %q, %q", t2, s2)
			}
			again.Close()

			for name, opts := range map[string][]db.Option{"other key": {db.WithSecretKey("key-two")}, "no key": nil} {
				if _, err := open(opts...); !errors.Is(err, db.ErrSecretKey) || !strings.Contains(err.Error(), "SECRET_KEY") {
					t.Errorf("%s: Open = %v, want ErrSecretKey", name, err)
				}
			}
		})
	}
}
