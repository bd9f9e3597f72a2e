package registry_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// jwtClaims decodes the payload of a JWT (unverified) into claims.
func jwtClaims(t *testing.T, token string, claims any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, claims); err != nil {
		t.Fatal(err)
	}
}

// access decodes the access claim of a registry JWT (unverified).
func access(t *testing.T, token string) []map[string]any {
	t.Helper()
	var c struct {
		Access []map[string]any `json:"access"`
	}
	jwtClaims(t, token, &c)
	return c.Access
}

// grantedActions returns the actions a token grants on repository name.
func grantedActions(t *testing.T, token, name string) []string {
	t.Helper()
	var out []string
	for _, a := range access(t, token) {
		if a["type"] == "repository" && a["name"] == name {
			for _, x := range a["actions"].([]any) {
				out = append(out, x.(string))
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestTokenFlow(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alicePass := e.createUser("alice")
		e.createUser("bob")

		t.Run("challenge, Basic login, bearer", func(t *testing.T) {
			for _, path := range []string{"/v2/", "/v2"} {
				r := e.send("GET", path, nil, "")
				mustErr(t, "GET "+path+" anonymously", r, http.StatusUnauthorized, "UNAUTHORIZED")
				want := `Bearer realm="http://` + e.host + `/v2/auth",service="` + e.host + `"`
				if got := r.Header.Get("WWW-Authenticate"); got != want {
					t.Fatalf("WWW-Authenticate %q, want %q", got, want)
				}
				if got := r.Header.Get("Docker-Distribution-API-Version"); got != "registry/2.0" {
					t.Fatalf("Docker-Distribution-API-Version %q", got)
				}
			}
			ch := challenge(e.send("GET", "/v2/", nil, "").Header.Get("WWW-Authenticate"))
			c := e.as("alice", alicePass)
			tr := c.fetchToken(ch["realm"], ch["service"])
			must(t, "GET realm with Basic", tr, http.StatusOK)
			var body struct {
				Token       string `json:"token"`
				AccessToken string `json:"access_token"`
				ExpiresIn   int    `json:"expires_in"`
			}
			if err := json.Unmarshal(tr.Body, &body); err != nil || body.Token == "" || body.AccessToken != body.Token || body.ExpiresIn <= 0 {
				t.Fatalf("token response %s (err %v)", tr.Body, err)
			}
			r := e.send("GET", "/v2/", nil, body.Token)
			must(t, "GET /v2/ with the bearer token", r, http.StatusOK)
			if strings.TrimSpace(string(r.Body)) != "{}" {
				t.Fatalf("GET /v2/ body %q, want {}", r.Body)
			}
		})

		t.Run("scopes are granted only as permitted", func(t *testing.T) {
			c := e.as("alice", alicePass)
			must(t, "login", c.login("repository:alice/app:pull,push", "repository:bob/app:pull,push", "registry:catalog:*"), http.StatusOK)
			if got := grantedActions(t, c.token, "alice/app"); !slices.Equal(got, []string{"pull", "push"}) {
				t.Errorf("alice/app actions %v, want [pull push]", got)
			}
			if got := grantedActions(t, c.token, "bob/app"); len(got) != 0 {
				t.Errorf("alice was granted %v on bob/app", got)
			}
			for _, a := range access(t, c.token) {
				if a["type"] == "registry" {
					t.Errorf("a normal user was granted %v", a)
				}
			}
		})

		t.Run("bad credentials", func(t *testing.T) {
			for _, tc := range []struct{ user, pass string }{
				{"alice", "wrong"}, {"alice", ""}, {"nobody", "x"}, {"alice+robot", "x"}, {"$oauthtoken", "not-a-token"},
			} {
				r := e.as(tc.user, tc.pass).login("repository:alice/app:pull")
				if r.Status != http.StatusUnauthorized || strings.Contains(string(r.Body), `"token"`) {
					t.Errorf("login %q/%q: %d %s, want 401 without a token", tc.user, tc.pass, r.Status, r.Body)
				}
			}
			// The token endpoint takes Basic credentials only.
			req, _ := http.NewRequest("GET", e.srv.URL+"/v2/auth", nil)
			req.Header.Set("Authorization", "Bearer "+e.admin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET /v2/auth with a Bearer header: %d, want 401", resp.StatusCode)
			}
		})

		t.Run("$oauthtoken", func(t *testing.T) {
			admin := e.as("$oauthtoken", e.admin)
			admin.pushImage("admin/app", "latest", "via oauth")
		})

		// A registry token earned with an OAuth token stays within that
		// token's scopes: a repo:read token is denied a push (403) even
		// where its user may push, not sent round for a new token (401).
		t.Run("$oauthtoken scoped to repo:read", func(t *testing.T) {
			dave := e.as("dave", e.createUser("dave"))
			dave.pushImage("dave/app", "latest", "dave")
			ctx := context.Background()
			app, err := e.store.OAuth.ApplicationByClientID(ctx, "admin")
			if err != nil {
				t.Fatal(err)
			}
			org, err := e.store.Accounts.AccountByName(ctx, "admin")
			if err != nil {
				t.Fatal(err)
			}
			acct, err := e.store.Accounts.AccountByName(ctx, "dave")
			if err != nil {
				t.Fatal(err)
			}
			token, _, err := identity.NewApplications(e.store.OAuth).IssueToken(ctx, &wharf.Caller{}, app, org, acct, "repo:read", time.Hour, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			reader := e.as("$oauthtoken", token)
			must(t, "pull with repo:read", reader.do("GET", "/v2/dave/app/tags/list", nil), http.StatusOK)
			mustErr(t, "push with repo:read", reader.do("POST", "/v2/dave/app/blobs/uploads/", nil), http.StatusForbidden, "DENIED")
		})

		t.Run("disabled user gets no token", func(t *testing.T) {
			carol := e.as("carol", e.createUser("carol"))
			must(t, "login before", carol.login("repository:carol/app:pull,push"), http.StatusOK)
			e.mustAPI(http.StatusOK, "PUT", "/api/v1/superuser/users/carol", map[string]any{"enabled": false})
			r := e.as("carol", carol.pass).login("repository:carol/app:pull,push")
			if (r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden) || strings.Contains(string(r.Body), `"token"`) {
				t.Fatalf("disabled user login: %d %s, want 401 or 403 without a token", r.Status, r.Body)
			}
		})
	})
}

func TestRobots(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		alice.pushImage("alice/app", "latest", "alice")
		e.createOrg("acme")
		robot := e.as("acme+ci", e.createRobot("acme", "ci"))
		e.joinTeam("acme", "ci", "creator", "acme+ci")

		t.Run("robot of a creator team creates a repository by push", func(t *testing.T) {
			body, d := robot.pushImage("acme/built", "v1", "robot")
			checkManifest(t, robot, "acme/built", "v1", body, mtOCIManifest, d)
			pushes := e.logsOf("push_repo", "built")
			if len(pushes) != 1 || pushes[0].Performer.Name != "acme+ci" {
				t.Fatalf("push_repo entries %+v, want one performed by acme+ci", pushes)
			}
		})
		t.Run("robot is denied elsewhere", func(t *testing.T) {
			mustErr(t, "push to alice/app", robot.do("POST", "/v2/alice/app/blobs/uploads/", nil), http.StatusForbidden, "DENIED")
			mustErr(t, "pull alice/app", robot.do("GET", "/v2/alice/app/manifests/latest", nil), http.StatusNotFound, "NAME_UNKNOWN")
		})
		t.Run("wrong robot token", func(t *testing.T) {
			r := e.as("acme+ci", "WRONG").login("repository:acme/built:pull")
			mustErr(t, "login", r, http.StatusUnauthorized, "UNAUTHORIZED")
		})
		t.Run("deleted robot cannot log in", func(t *testing.T) {
			e.mustAPI(http.StatusNoContent, "DELETE", "/api/v1/organization/acme/robots/ci", nil)
			r := e.as("acme+ci", robot.pass).login("repository:acme/built:pull,push")
			if r.Status != http.StatusUnauthorized || strings.Contains(string(r.Body), `"token"`) {
				t.Fatalf("deleted robot login: %d %s, want 401 without a token", r.Status, r.Body)
			}
			// A new robot of the same name has a new token; the old one stays dead.
			fresh := e.createRobot("acme", "ci")
			if fresh == robot.pass {
				t.Fatal("a re-created robot got the deleted robot's token")
			}
			mustErr(t, "old token after re-creation", e.as("acme+ci", robot.pass).login("repository:acme/built:pull"),
				http.StatusUnauthorized, "UNAUTHORIZED")
			must(t, "new token", e.as("acme+ci", fresh).login("repository:acme/built:pull"), http.StatusOK)
		})
	})
}

func TestAnonymousAndPrivate(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		admin := e.as("admin", "adminpass1")
		bob := e.as("bob", e.createUser("bob"))
		e.createOrg("acme")
		pub, pubDigest := admin.pushImage("acme/pub", "latest", "public")
		admin.pushImage("acme/priv", "latest", "private")
		e.mustAPI(http.StatusOK, "POST", "/api/v1/repository/acme/pub/changevisibility", map[string]any{"visibility": "public"})
		layer := sha256Of([]byte("layer of public"))

		t.Run("anonymous pull of a public repository needs no token", func(t *testing.T) {
			for _, path := range []string{"/v2/acme/pub/manifests/latest", "/v2/acme/pub/manifests/" + pubDigest,
				"/v2/acme/pub/blobs/" + layer, "/v2/acme/pub/tags/list"} {
				must(t, "GET "+path, e.send("GET", path, nil, ""), http.StatusOK)
				must(t, "HEAD "+path, e.send("HEAD", path, nil, ""), http.StatusOK)
			}
			checkManifest(t, e.anonymous(), "acme/pub", "latest", pub, mtOCIManifest, pubDigest)
		})
		t.Run("anonymous push to a public repository is refused", func(t *testing.T) {
			r := e.send("POST", "/v2/acme/pub/blobs/uploads/", nil, "")
			mustErr(t, "POST without a token", r, http.StatusUnauthorized, "UNAUTHORIZED")
			if got := challenge(r.Header.Get("WWW-Authenticate"))["scope"]; got != "repository:acme/pub:pull,push" {
				t.Fatalf("challenge scope %q", got)
			}
			mustErr(t, "POST with an anonymous token", e.anonymous().do("POST", "/v2/acme/pub/blobs/uploads/", nil),
				http.StatusForbidden, "DENIED")
			mustErr(t, "PUT manifest with an anonymous token", e.anonymous().do("PUT", "/v2/acme/pub/manifests/x", pub,
				"Content-Type", mtOCIManifest), http.StatusForbidden, "DENIED")
		})
		// A private repository the caller may not read answers exactly as
		// a missing one, so its name cannot be probed.
		t.Run("private repository: 401, then unknown as a missing one", func(t *testing.T) {
			for _, path := range []string{"/v2/acme/priv/manifests/latest", "/v2/acme/priv/tags/list", "/v2/acme/priv/blobs/" + layer} {
				r := e.send("GET", path, nil, "")
				mustErr(t, "GET "+path+" without a token", r, http.StatusUnauthorized, "UNAUTHORIZED")
				if got := challenge(r.Header.Get("WWW-Authenticate"))["scope"]; got != "repository:acme/priv:pull" {
					t.Fatalf("challenge scope %q, want repository:acme/priv:pull", got)
				}
				missing := strings.Replace(path, "/priv/", "/no-such-repo/", 1)
				for _, c := range []struct {
					who    string
					client *client
				}{{"an anonymous token", e.anonymous()}, {"bob", bob}} {
					got, want := c.client.do("GET", path, nil), c.client.do("GET", missing, nil)
					mustErr(t, "GET "+path+" as "+c.who, got, http.StatusNotFound, "NAME_UNKNOWN")
					if got.Status != want.Status || string(got.Body) != string(want.Body) {
						t.Fatalf("GET %s as %s: %d %s; a missing repository: %d %s", path, c.who, got.Status, got.Body, want.Status, want.Body)
					}
				}
			}
			must(t, "bob pulls the public repository", bob.do("GET", "/v2/acme/pub/manifests/latest", nil), http.StatusOK)
		})
		t.Run("made private again", func(t *testing.T) {
			e.mustAPI(http.StatusOK, "POST", "/api/v1/repository/acme/pub/changevisibility", map[string]any{"visibility": "private"})
			mustErr(t, "anonymous GET", e.send("GET", "/v2/acme/pub/manifests/latest", nil, ""), http.StatusUnauthorized, "UNAUTHORIZED")
			mustErr(t, "bob GET", bob.do("GET", "/v2/acme/pub/manifests/latest", nil), http.StatusNotFound, "NAME_UNKNOWN")
		})
		t.Run("a push creates a private repository", func(t *testing.T) {
			bob.pushImage("bob/new", "latest", "bob")
			repo, err := store.Registry.RepositoryByName(context.Background(), "bob", "new")
			if err != nil || repo.Visibility != "private" {
				t.Fatalf("bob/new: %+v, %v; want a private repository", repo, err)
			}
			mustErr(t, "anonymous GET", e.send("GET", "/v2/bob/new/manifests/latest", nil, ""), http.StatusUnauthorized, "UNAUTHORIZED")
			if len(e.logsOf("create_repo", "new")) != 1 {
				t.Fatalf("create_repo entries %+v, want one", e.logsOf("create_repo", "new"))
			}
		})
		t.Run("push to a namespace one does not administer", func(t *testing.T) {
			mustErr(t, "bob pushes to acme", bob.do("POST", "/v2/acme/bobs/blobs/uploads/", nil), http.StatusForbidden, "DENIED")
			mustErr(t, "bob pushes to admin", bob.do("POST", "/v2/admin/x/blobs/uploads/", nil), http.StatusForbidden, "DENIED")
			if _, err := store.Registry.RepositoryByName(context.Background(), "acme", "bobs"); err == nil {
				t.Fatal("a refused push created acme/bobs")
			}
		})
	})
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		admin := e.as("admin", "adminpass1")
		alice := e.as("alice", e.createUser("alice"))
		alice.pushBlob("alice/one", []byte("1"))
		alice.pushBlob("alice/two", []byte("2"))
		admin.pushBlob("admin/three", []byte("3"))

		list := func(t *testing.T, c *client, query string) ([]string, string) {
			t.Helper()
			r := c.do("GET", "/v2/_catalog"+query, nil)
			must(t, "catalog"+query, r, http.StatusOK)
			var v struct {
				Repositories []string `json:"repositories"`
			}
			if err := json.Unmarshal(r.Body, &v); err != nil {
				t.Fatal(err)
			}
			return v.Repositories, r.Header.Get("Link")
		}
		t.Run("superuser", func(t *testing.T) {
			admin := e.as("admin", "adminpass1")
			got, link := list(t, admin, "")
			if want := []string{"admin/three", "alice/one", "alice/two"}; !slices.Equal(got, want) || link != "" {
				t.Fatalf("catalog %v (Link %q), want %v", got, link, want)
			}
			got, link = list(t, admin, "?n=2")
			if want := `</v2/_catalog?last=alice%2Fone&n=2>; rel="next"`; !slices.Equal(got, []string{"admin/three", "alice/one"}) || link != want {
				t.Fatalf("catalog n=2: %v, Link %q; want [admin/three alice/one], %q", got, link, want)
			}
			got, link = list(t, admin, "?n=2&last=alice/one")
			if !slices.Equal(got, []string{"alice/two"}) || link != "" {
				t.Fatalf("catalog page 2: %v, Link %q", got, link)
			}
			mustErr(t, "n=abc", admin.do("GET", "/v2/_catalog?n=abc", nil), http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
		})
		t.Run("superuser with a repository token is challenged again", func(t *testing.T) {
			// Like a repository call (access.go authorize), a token that
			// lacks a scope its holder may have earns a fresh challenge,
			// not a final "denied".
			r := e.send("GET", "/v2/_catalog", nil, admin.token)
			mustErr(t, "catalog with a repository-scoped token", r, http.StatusUnauthorized, "UNAUTHORIZED")
			if got := challenge(r.Header.Get("WWW-Authenticate"))["scope"]; got != "registry:catalog:*" {
				t.Fatalf("challenge scope %q", got)
			}
		})
		t.Run("normal user is denied", func(t *testing.T) {
			r := e.send("GET", "/v2/_catalog", nil, "")
			mustErr(t, "anonymous", r, http.StatusUnauthorized, "UNAUTHORIZED")
			if got := challenge(r.Header.Get("WWW-Authenticate"))["scope"]; got != "registry:catalog:*" {
				t.Fatalf("challenge scope %q", got)
			}
			mustErr(t, "alice", alice.do("GET", "/v2/_catalog", nil), http.StatusForbidden, "DENIED")
			mustErr(t, "anonymous token", e.anonymous().do("GET", "/v2/_catalog", nil), http.StatusForbidden, "DENIED")
		})
	})
}
