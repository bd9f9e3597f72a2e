package registry_test

// Build workers log in to /v2/auth as "$buildtoken" with a build token
// (package build). These tests pin what such a login is granted: pushes to
// the build's own repository only once the build is pushing, pulls of
// whatever the build's pull robot — or else the requesting user — may
// read, never a push elsewhere, never the catalog, and nothing at all once
// the token's worker no longer holds a running build.

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// buildEnv is an env with the namespaces the build tests use:
//
//	acme        org owned by admin and alice; robot acme+builder
//	acme/app    private, the builds' target (tag "seed")
//	acme/other  private, holds the base image (tag "base")
//	bob/secret  private, bob's
//	pubs/pub    public, in an org owned by admin
type buildEnv struct {
	*env
	ctx       context.Context
	tokens    *build.Tokens
	app       *wharf.Repository
	pass      map[string]string // user → password
	baseBody  []byte            // acme/other:base
	seedBody  []byte            // acme/app:seed
	robot     *wharf.Robot      // acme+builder
	robotPass string
}

func newBuildEnv(t *testing.T, store *db.DB) *buildEnv {
	t.Helper()
	e := newEnv(t, store)
	f := &buildEnv{env: e, ctx: context.Background(), tokens: build.NewTokens(e.keys, store.Builds, time.Now),
		pass: map[string]string{"admin": "adminpass1"}}
	for _, u := range []string{"alice", "bob"} {
		f.pass[u] = e.createUser(u)
	}
	e.createOrg("acme", "alice")
	admin := e.as("admin", f.pass["admin"])
	f.baseBody, _ = admin.pushImage("acme/other", "base", "base image")
	f.seedBody, _ = admin.pushImage("acme/app", "seed", "app seed")
	e.as("bob", f.pass["bob"]).pushImage("bob/secret", "latest", "bob's secret")
	e.createOrg("pubs")
	admin.pushImage("pubs/pub", "latest", "public image")
	e.mustAPI(http.StatusOK, "POST", "/api/v1/repository/pubs/pub/changevisibility", map[string]any{"visibility": "public"})
	f.robotPass = e.createRobot("acme", "builder")
	e.grant("acme/app", "acme+builder", "write")
	e.grant("acme/other", "acme+builder", "write")
	var err error
	if f.robot, err = store.Accounts.RobotByName(f.ctx, "acme+builder"); err != nil {
		t.Fatal(err)
	}
	if f.app, err = store.Registry.RepositoryByName(f.ctx, "acme", "app"); err != nil {
		t.Fatal(err)
	}
	return f
}

// start queues a build of acme/app requested by user (pulling with robot
// when not nil), has worker "w" claim it and moves it to phase.
func (f *buildEnv) start(t *testing.T, user string, robot *wharf.Robot, phase string) *wharf.Build {
	t.Helper()
	return f.startIn(t, f.app, user, robot, phase)
}

// startIn is start for a build of repo.
func (f *buildEnv) startIn(t *testing.T, repo *wharf.Repository, user string, robot *wharf.Robot, phase string) *wharf.Build {
	t.Helper()
	acct, err := f.store.Accounts.AccountByName(f.ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	name := acct.Name
	b := &wharf.Build{UUID: build.NewUUID(), Repository: *repo, DisplayName: "test build", RetriesRemaining: 3,
		Job:          wharf.BuildJob{DockerTags: []string{"latest"}, IsManual: true, ManualUser: &name},
		ManualUserID: acct.ID}
	if robot != nil {
		b.PullRobotID, b.PullRobot = robot.Account.ID, robot.Account.Name
	}
	if err := f.store.Builds.CreateBuild(f.ctx, b, 0); err != nil {
		t.Fatal(err)
	}
	claimed, err := f.store.Builds.ClaimBuild(f.ctx, "w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if claimed == nil || claimed.UUID != b.UUID {
		t.Fatalf("ClaimBuild = %+v, want build %s", claimed, b.UUID)
	}
	f.moveTo(t, claimed, phase)
	return claimed
}

// moveTo has worker "w" move b to phase (a running one).
func (f *buildEnv) moveTo(t *testing.T, b *wharf.Build, phase string) {
	t.Helper()
	if phase == wharf.PhaseScheduled {
		return // where ClaimBuild leaves it
	}
	if err := f.store.Builds.SetBuildPhase(f.ctx, b.UUID, "w", phase); err != nil {
		t.Fatalf("SetBuildPhase %s: %v", phase, err)
	}
	b.Phase = phase
}

// mustID returns the id of account name.
func mustID(t *testing.T, f *buildEnv, name string) int64 {
	t.Helper()
	a, err := f.store.Accounts.AccountByName(f.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// issue returns a build token for worker's attempt at b.
func (f *buildEnv) issue(t *testing.T, b *wharf.Build, worker string) string {
	t.Helper()
	tok, err := f.tokens.Issue(f.ctx, b.UUID, worker, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// worker is a registry client logging in with build token tok.
func (f *buildEnv) worker(tok string) *client { return f.as(auth.BuildTokenUsername, tok) }

// grants logs c in for scopes and returns the actions granted per
// repository, and the registry-type grants.
func grants(t *testing.T, c *client, scopes ...string) (repos map[string][]string, registry []map[string]any) {
	t.Helper()
	must(t, "login as "+c.user, c.login(scopes...), http.StatusOK)
	repos = map[string][]string{}
	for _, a := range access(t, c.token) {
		if a["type"] != "repository" {
			registry = append(registry, a)
			continue
		}
		name := a["name"].(string)
		repos[name] = grantedActions(t, c.token, name)
	}
	return repos, registry
}

// subject returns the sub claim of a registry JWT (unverified).
func subject(t *testing.T, token string) string {
	t.Helper()
	var c struct {
		Sub string `json:"sub"`
	}
	jwtClaims(t, token, &c)
	return c.Sub
}

var buildScopes = []string{
	"repository:acme/app:pull,push",
	"repository:acme/other:pull,push,delete",
	"repository:bob/secret:pull,push",
	"repository:pubs/pub:pull,push",
	"registry:catalog:*",
}

// wantGrants compares granted repository actions with want (absent = none).
func wantGrants(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	for _, name := range []string{"acme/app", "acme/other", "bob/secret", "pubs/pub"} {
		if !slices.Equal(got[name], want[name]) {
			t.Errorf("%s: %s granted %v, want %v", what, name, got[name], want[name])
		}
	}
}

// refused reports whether r is the registry turning a request down
// (401 or 403), not serving or accepting it.
func refused(r *response) bool {
	return r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden
}

func TestBuildTokenGrants(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		f := newBuildEnv(t, store)
		pull, pullPush := []string{"pull"}, []string{"pull", "push"}

		for _, tc := range []struct {
			user string
			// own is what the user's own password login gets: the build
			// token must not widen it, nor give the pushes in it.
			own map[string][]string
			// reads are the repositories besides acme/app the build pulls.
			reads     map[string][]string
			superuser bool
		}{
			{user: "alice",
				own:   map[string][]string{"acme/app": pullPush, "acme/other": {"delete", "pull", "push"}, "pubs/pub": pull},
				reads: map[string][]string{"acme/other": pull, "pubs/pub": pull}},
			// bob may not read acme/other (another namespace, private)
			// but may read (and push) his own bob/secret.
			{user: "bob",
				own:   map[string][]string{"bob/secret": pullPush, "pubs/pub": pull},
				reads: map[string][]string{"bob/secret": pull, "pubs/pub": pull}},
			{user: "admin", superuser: true,
				own:   map[string][]string{"acme/app": pullPush, "acme/other": {"delete", "pull", "push"}, "pubs/pub": pullPush},
				reads: map[string][]string{"acme/other": pull, "pubs/pub": pull}},
		} {
			t.Run(tc.user, func(t *testing.T) {
				// The control: the user's own login, to which the build
				// token's answers are compared.
				own, ownRegistry := grants(t, f.as(tc.user, f.pass[tc.user]), buildScopes...)
				wantGrants(t, tc.user+"'s own login", own, tc.own)
				if tc.superuser != (len(ownRegistry) == 1) {
					t.Fatalf("%s's own login: registry grants %v (superuser %v)", tc.user, ownRegistry, tc.superuser)
				}

				b := f.start(t, tc.user, nil, wharf.PhaseScheduled)
				tok := f.issue(t, b, "w")
				// Registry tokens earned with a build token are short, so
				// grants follow the build's phase.
				r := f.worker(tok).login("repository:acme/app:pull")
				must(t, "build login", r, http.StatusOK)
				var body struct {
					ExpiresIn int64 `json:"expires_in"`
				}
				if err := json.Unmarshal(r.Body, &body); err != nil || body.ExpiresIn != 300 {
					t.Errorf("build login expires_in %d (err %v), want 300", body.ExpiresIn, err)
				}
				for _, phase := range []string{wharf.PhaseScheduled, wharf.PhaseUnpacking, wharf.PhasePulling, wharf.PhaseBuilding, wharf.PhasePushing} {
					f.moveTo(t, b, phase)
					want := map[string][]string{"acme/app": pull}
					// A build pushes only where its requester may write:
					// bob may not write acme/app, so his build never pushes.
					if phase == wharf.PhasePushing && tc.user != "bob" {
						want["acme/app"] = pullPush
					}
					for name, actions := range tc.reads {
						want[name] = actions
					}
					got, registry := grants(t, f.worker(tok), buildScopes...)
					wantGrants(t, "build token while "+phase, got, want)
					if len(registry) != 0 {
						t.Errorf("build token while %s: registry grants %v, want none", phase, registry)
					}
				}
			})
		}

		t.Run("requesting user deleted, name taken again", func(t *testing.T) {
			f.createUser("dave")
			b := f.start(t, "dave", nil, wharf.PhaseBuilding)
			tok := f.issue(t, b, "w")
			f.mustAPI(http.StatusNoContent, "DELETE", "/api/v1/superuser/users/dave", nil)
			// The new dave's repository: the old dave's build must not read it.
			f.as("dave", f.createUser("dave")).pushImage("dave/own", "latest", "the new dave")
			got, _ := grants(t, f.worker(tok), append(buildScopes, "repository:dave/own:pull")...)
			if own := got["dave/own"]; len(own) != 0 {
				t.Errorf("the build of a deleted user pulls the new namesake's dave/own: %v", own)
			}
			wantGrants(t, "dave deleted", got, map[string][]string{"acme/app": {"pull"}, "pubs/pub": {"pull"}})
		})

		t.Run("disabled requesting user", func(t *testing.T) {
			b := f.start(t, "alice", nil, wharf.PhaseBuilding)
			tok := f.issue(t, b, "w")
			got, _ := grants(t, f.worker(tok), buildScopes...)
			wantGrants(t, "before", got, map[string][]string{"acme/app": {"pull"}, "acme/other": {"pull"}, "pubs/pub": {"pull"}})
			f.mustAPI(http.StatusOK, "PUT", "/api/v1/superuser/users/alice", map[string]any{"enabled": false})
			// The build still pulls its own repository, and public ones,
			// but never pushes for a disabled requester.
			got, _ = grants(t, f.worker(tok), buildScopes...)
			wantGrants(t, "alice disabled", got, map[string][]string{"acme/app": {"pull"}, "pubs/pub": {"pull"}})
			f.moveTo(t, b, wharf.PhasePushing)
			got, _ = grants(t, f.worker(tok), buildScopes...)
			wantGrants(t, "alice disabled, pushing", got, map[string][]string{"acme/app": {"pull"}, "pubs/pub": {"pull"}})
			if r := f.worker(tok).do("POST", "/v2/acme/app/blobs/uploads/", nil); !refused(r) {
				t.Fatalf("a disabled requester's build started an upload: %s", r)
			}
			f.mustAPI(http.StatusOK, "PUT", "/api/v1/superuser/users/alice", map[string]any{"enabled": true})
		})
	})
}

func TestBuildTokenPushes(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		f := newBuildEnv(t, store)
		admin := f.as("admin", f.pass["admin"])

		for _, user := range []string{"alice", "bob"} {
			t.Run(user, func(t *testing.T) {
				b := f.start(t, user, nil, wharf.PhasePulling)
				tok := f.issue(t, b, "w")
				tag := "built-by-" + user

				t.Run("building: pulls the base, cannot push", func(t *testing.T) {
					w := f.worker(tok)
					r := w.do("GET", "/v2/acme/other/manifests/base", nil, "Accept", mtOCIManifest)
					if user == "alice" {
						must(t, "pull the base image", r, http.StatusOK)
						if string(r.Body) != string(f.baseBody) {
							t.Fatalf("pulled base %s, want %s", r.Body, f.baseBody)
						}
					} else if !refused(r) {
						t.Fatalf("bob's build pulled acme/other: %s", r)
					}
					// A fresh client, as real ones fetch a token per repository.
					w = f.worker(tok)
					must(t, "pull the target", w.do("GET", "/v2/acme/app/manifests/seed", nil, "Accept", mtOCIManifest), http.StatusOK)
					f.moveTo(t, b, wharf.PhaseBuilding)
					if r := w.do("POST", "/v2/acme/app/blobs/uploads/", nil); !refused(r) {
						t.Fatalf("upload to acme/app while building: %s", r)
					}
					if r := w.do("PUT", "/v2/acme/app/manifests/"+tag, f.seedBody, "Content-Type", mtOCIManifest); !refused(r) {
						t.Fatalf("manifest PUT to acme/app while building: %s", r)
					}
					mustErr(t, "tag pushed while building", admin.do("GET", "/v2/acme/app/manifests/"+tag, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
				})

				t.Run("pushing: pushes the target, not another repository", func(t *testing.T) {
					// A client still holding the pull-only token of the
					// building phase is sent back for a new one (401), never
					// judged by its subject's own rights (bob may not push).
					stale := f.worker(tok)
					must(t, "pull the target", stale.do("GET", "/v2/acme/app/manifests/seed", nil, "Accept", mtOCIManifest), http.StatusOK)
					f.moveTo(t, b, wharf.PhasePushing)
					if r := stale.e.send("POST", "/v2/acme/app/blobs/uploads/", nil, stale.token); r.Status != http.StatusUnauthorized {
						t.Fatalf("a build worker's stale token on a push: %s, want 401 (fetch a new token)", r)
					}
					if user == "bob" {
						// bob may not write acme/app: his build may not either.
						if r := f.worker(tok).do("POST", "/v2/acme/app/blobs/uploads/", nil); !refused(r) {
							t.Fatalf("the build of a requester who may not write acme/app started an upload: %s", r)
						}
						return
					}
					stale.pushImage("acme/app", tag+"-stale", "built by "+user+" with a stale token")
					w := f.worker(tok)
					body, digest := w.pushImage("acme/app", tag, "built by "+user)
					checkManifest(t, admin, "acme/app", tag, body, mtOCIManifest, digest)
					if r := w.do("POST", "/v2/acme/other/blobs/uploads/", nil); !refused(r) {
						t.Fatalf("upload to acme/other: %s", r)
					}
					if r := w.do("PUT", "/v2/acme/other/manifests/"+tag, f.baseBody, "Content-Type", mtOCIManifest); !refused(r) {
						t.Fatalf("manifest PUT to acme/other: %s", r)
					}
					if r := w.do("DELETE", "/v2/acme/other/manifests/base", nil); !refused(r) {
						t.Fatalf("DELETE acme/other:base: %s", r)
					}
					if r := w.do("PUT", "/v2/bob/secret/manifests/"+tag, f.baseBody, "Content-Type", mtOCIManifest); !refused(r) {
						t.Fatalf("manifest PUT to bob/secret: %s", r)
					}
					mustErr(t, "acme/other tag", admin.do("GET", "/v2/acme/other/manifests/"+tag, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
					must(t, "acme/other:base", admin.do("GET", "/v2/acme/other/manifests/base", nil), http.StatusOK)
					// The build token is no registry bearer token.
					mustErr(t, "build token as a bearer", f.send("GET", "/v2/acme/app/manifests/"+tag, nil, tok), http.StatusUnauthorized, "UNAUTHORIZED")
				})

				if err := store.Builds.FinishBuild(f.ctx, b.UUID, "w", wharf.PhaseComplete, ""); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

func TestBuildTokenRefused(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		f := newBuildEnv(t, store)
		ctx := f.ctx
		scope := "repository:acme/app:pull"

		// Each case's token logs in before what refuses it happens (or is
		// checked against a working token), so every refusal is the rule's.
		for _, tc := range []struct {
			name string
			// token returns the password to log in with after setup, and
			// a token that works at that moment ("" = none to compare).
			token func(t *testing.T) (refused, works string)
		}{
			{"another worker's token while w holds the build", func(t *testing.T) (string, string) {
				b := f.start(t, "alice", nil, wharf.PhaseBuilding)
				return f.issue(t, b, "w2"), f.issue(t, b, "w")
			}},
			{"the lapsed attempt's token after another worker took the build", func(t *testing.T) (string, string) {
				b := f.start(t, "alice", nil, wharf.PhaseBuilding)
				old := f.issue(t, b, "w")
				must(t, "before the release", f.worker(old).login(scope), http.StatusOK)
				if err := store.Builds.ReleaseBuild(ctx, b.UUID, "w"); err != nil {
					t.Fatal(err)
				}
				again, err := store.Builds.ClaimBuild(ctx, "w2", time.Minute)
				if err != nil || again == nil || again.UUID != b.UUID {
					t.Fatalf("reclaim: %+v, %v", again, err)
				}
				return old, f.issue(t, again, "w2")
			}},
			{"cancelled build", func(t *testing.T) (string, string) {
				b := f.start(t, "alice", nil, wharf.PhaseBuilding)
				tok := f.issue(t, b, "w")
				must(t, "before the cancel", f.worker(tok).login(scope), http.StatusOK)
				if ok, err := store.Builds.CancelBuild(ctx, b.UUID); err != nil || !ok {
					t.Fatalf("CancelBuild = %v, %v", ok, err)
				}
				return tok, ""
			}},
			{"finished build", func(t *testing.T) (string, string) {
				b := f.start(t, "alice", nil, wharf.PhasePushing)
				tok := f.issue(t, b, "w")
				must(t, "before the finish", f.worker(tok).login(scope), http.StatusOK)
				if err := store.Builds.FinishBuild(ctx, b.UUID, "w", wharf.PhaseComplete, ""); err != nil {
					t.Fatal(err)
				}
				return tok, ""
			}},
			{"failed build", func(t *testing.T) (string, string) {
				b := f.start(t, "alice", nil, wharf.PhaseBuilding)
				tok := f.issue(t, b, "w")
				must(t, "before the failure", f.worker(tok).login(scope), http.StatusOK)
				if err := store.Builds.FinishBuild(ctx, b.UUID, "w", wharf.PhaseError, "boom"); err != nil {
					t.Fatal(err)
				}
				return tok, ""
			}},
			{"garbage", func(t *testing.T) (string, string) { return "garbage", "" }},
			{"empty", func(t *testing.T) (string, string) { return "", "" }},
			{"three dots", func(t *testing.T) (string, string) { return "a.b.c", "" }},
			{"the user's registry bearer token", func(t *testing.T) (string, string) {
				c := f.as("alice", f.pass["alice"])
				must(t, "alice's login", c.login("repository:acme/app:pull,push"), http.StatusOK)
				return c.token, ""
			}},
			{"a registry bearer token naming a running build", func(t *testing.T) (string, string) {
				b := f.start(t, "alice", nil, wharf.PhasePushing)
				alice, err := store.Accounts.AccountByName(ctx, "alice")
				if err != nil {
					t.Fatal(err)
				}
				tok, _, err := auth.NewRegistryTokens(f.keys, f.revocations, f.host, time.Minute, time.Now).Issue(ctx, b.UUID, alice.ID,
					string(wharf.KindUser), []auth.RegistryAccess{{Type: "repository", Name: "acme/app", Actions: []string{"pull", "push"}}})
				if err != nil {
					t.Fatal(err)
				}
				return tok, f.issue(t, b, "w")
			}},
			{"build claims under the registry's issuer and audience", func(t *testing.T) (string, string) {
				// Signed by the same instance key, naming the running build
				// and its worker: only iss and aud set it apart.
				b := f.start(t, "alice", nil, wharf.PhasePushing)
				now := time.Now()
				tok, err := f.keys.Sign(ctx, map[string]any{"iss": auth.RegistryTokenIssuer, "aud": f.host, "sub": b.UUID, "wkr": "w",
					"iat": now.Unix(), "nbf": now.Add(-10 * time.Second).Unix(), "exp": now.Add(time.Minute).Unix()})
				if err != nil {
					t.Fatal(err)
				}
				return tok, f.issue(t, b, "w")
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				bad, good := tc.token(t)
				if good != "" {
					must(t, "the working token", f.worker(good).login(scope), http.StatusOK)
				}
				r := f.worker(bad).login(scope, "repository:acme/app:pull,push")
				mustErr(t, "login", r, http.StatusUnauthorized, "UNAUTHORIZED")
				if strings.Contains(string(r.Body), `"token"`) {
					t.Fatalf("refused login returned a token: %s", r.Body)
				}
			})
		}
	})
}

func TestBuildTokenPullRobot(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		f := newBuildEnv(t, store)
		pull := []string{"pull"}

		// The control: the robot may push acme/other, bob may read bob/secret.
		own, _ := grants(t, f.as(f.robot.Account.Name, f.robotPass), buildScopes...)
		wantGrants(t, "the robot's own login", own, map[string][]string{
			"acme/app": {"pull", "push"}, "acme/other": {"delete", "pull", "push"}, "pubs/pub": pull})

		// bob requests the build (as an admin of acme, so that it may push
		// to acme/app); it pulls as acme+builder: acme/other (the robot's
		// namespace) yes, bob's own bob/secret no.
		if err := store.Accounts.AddOrgAdmin(f.ctx, mustID(t, f, "acme"), mustID(t, f, "bob")); err != nil {
			t.Fatal(err)
		}
		b := f.start(t, "bob", f.robot, wharf.PhasePulling)
		if b.PullRobot != f.robot.Account.Name {
			t.Fatalf("claimed build's pull robot %q, want %q", b.PullRobot, f.robot.Account.Name)
		}
		tok := f.issue(t, b, "w")
		for _, phase := range []string{wharf.PhasePulling, wharf.PhaseBuilding, wharf.PhasePushing} {
			t.Run(phase, func(t *testing.T) {
				f.moveTo(t, b, phase)
				want := map[string][]string{"acme/app": pull, "acme/other": pull, "pubs/pub": pull}
				if phase == wharf.PhasePushing {
					want["acme/app"] = []string{"pull", "push"}
				}
				w := f.worker(tok)
				got, registry := grants(t, w, buildScopes...)
				wantGrants(t, "build token", got, want)
				if len(registry) != 0 {
					t.Errorf("registry grants %v, want none", registry)
				}
				if sub := subject(t, w.token); sub != f.robot.Account.Name {
					t.Errorf("registry token subject %q, want the pull robot %q", sub, f.robot.Account.Name)
				}
				r := f.worker(tok).do("GET", "/v2/acme/other/manifests/base", nil, "Accept", mtOCIManifest)
				must(t, "pull the base as the robot", r, http.StatusOK)
				if string(r.Body) != string(f.baseBody) {
					t.Fatalf("pulled %s, want the base image", r.Body)
				}
				if r := f.worker(tok).do("GET", "/v2/bob/secret/manifests/latest", nil); !refused(r) {
					t.Fatalf("the robot build pulled bob/secret with bob's permissions: %s", r)
				}
			})
		}

		t.Run("disabled robot pulls nothing private", func(t *testing.T) {
			disabled := *f.robot.Account
			disabled.Enabled = false
			if err := store.Accounts.UpdateAccount(f.ctx, f.robot.Account, &disabled); err != nil {
				t.Fatal(err)
			}
			got, _ := grants(t, f.worker(tok), buildScopes...)
			wantGrants(t, "build token, robot disabled", got,
				map[string][]string{"acme/app": {"pull", "push"}, "pubs/pub": pull})
		})

		// A deleted robot does not hand the build to its requester's rights
		// either (bob could read bob/secret).
		t.Run("deleted robot pulls nothing private", func(t *testing.T) {
			if err := store.Accounts.DeleteAccount(f.ctx, f.robot.Account.ID); err != nil {
				t.Fatal(err)
			}
			got, _ := grants(t, f.worker(tok), buildScopes...)
			wantGrants(t, "build token, robot deleted", got,
				map[string][]string{"acme/app": {"pull", "push"}, "pubs/pub": pull})
			if r := f.worker(tok).do("GET", "/v2/bob/secret/manifests/latest", nil); !refused(r) {
				t.Fatalf("the build pulled bob/secret with bob's permissions once its robot was deleted: %s", r)
			}
		})
	})
}
