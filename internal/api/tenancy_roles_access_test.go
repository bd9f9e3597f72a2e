package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestTenancyRoleCallers adds the columns TestAccessMatrix has no room for
// to every tenancy route (teams, members, default and repository
// permissions, repositories, stars, tags, manifests, labels, logs,
// messages, app tokens): an administrator of the organization who did not
// create it, a member of one of its teams that holds nothing, a member of
// the team that may write acme/app, the organization's robot (its token is
// no /api/v1 credential, as a bearer token or as Basic credentials: the
// call is anonymous), and the creator's OAuth token with every scope but
// the one the route needs (spec §1.3.3). Anonymous callers, plain users
// and both kinds of superuser are TestAccessMatrix's columns.
func TestTenancyRoleCallers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		w := newRoleWorld(t, store)
		for _, row := range roleRows() {
			for i, who := range roleCallerNames {
				t.Run(fmt.Sprintf("%s %s/%s", row.method, row.route, who), func(t *testing.T) {
					w.t = t
					c := w.callers[i]
					if i == roleNarrow {
						c = w.narrow(row.need)
					}
					rq := row.build(w, i, c)
					r := c.do(row.method, rq.path, rq.body, append(rq.headers, w.headers[i]...)...)
					checkAccessResponse(t, rq.path, r, row.want[i], "", "")
				})
			}
		}
	})
}

// The callers of TestTenancyRoleCallers, in column order.
const (
	roleOrgAdmin    = iota // olga: in acme's admin team
	roleOrgMember          // mia: in acme's team readers, which holds nothing
	roleTeamMember         // tim: in acme's team devs, which may write acme/app
	roleRobotBearer        // acme+ci (read on acme/app), its token as a bearer token
	roleRobotBasic         // acme+ci, its token as Basic credentials
	roleNarrow             // owner's OAuth token without the route's scope
	nRoleCallers
)

var roleCallerNames = [nRoleCallers]string{"org-admin", "org-member", "team-member", "robot-bearer", "robot-basic", "token-without-scope"}

// roleNeed is the scope a route needs of an OAuth token (spec §1.3.3).
type roleNeed string

const (
	needOrgAdmin   roleNeed = "org:admin"
	needRepoRead   roleNeed = "repo:read"
	needRepoWrite  roleNeed = "repo:write"
	needRepoAdmin  roleNeed = "repo:admin"
	needRepoCreate roleNeed = "repo:create"
	needUserAdmin  roleNeed = "user:admin"
	needNothing    roleNeed = ""
)

// narrowScopes are the owner's scopes without any that would satisfy the
// need (a wider repo:* scope satisfies a narrower one).
var narrowScopes = map[roleNeed]string{
	needOrgAdmin:   "repo:admin repo:create repo:read repo:write user:admin user:read",
	needRepoRead:   "org:admin repo:create user:admin user:read",
	needRepoWrite:  "org:admin repo:create repo:read user:admin user:read",
	needRepoAdmin:  "org:admin repo:create repo:read repo:write user:admin user:read",
	needRepoCreate: "org:admin repo:admin repo:read repo:write user:admin user:read",
	needUserAdmin:  "org:admin repo:admin repo:create repo:read repo:write user:read",
	needNothing:    "user:read",
}

// roleWorld is organization acme of owner with the callers, repository
// acme/app (private, an image tagged latest, devs may write it) and teams.
type roleWorld struct {
	t       *testing.T
	e       *testEnv
	store   *db.DB
	own     *client // owner's token with every scope a user can have
	owner   *client // owner's session, for minting the narrow tokens
	app     string  // the OAuth application the tokens are minted for
	digest  string  // acme/app:latest
	seq     int
	admin   *client // the superuser's token
	callers [nRoleCallers]*client
	headers [nRoleCallers][]string // sent by the caller with every request
	narrows map[roleNeed]*client
}

func newRoleWorld(t *testing.T, store *db.DB) *roleWorld {
	t.Helper()
	e := newEnv(t, store, nil)
	admin := e.bootstrap()
	w := &roleWorld{t: t, e: e, store: store, admin: admin, narrows: map[roleNeed]*client{}}
	pass := map[string]string{}
	for _, u := range []string{"owner", "olga", "mia", "tim"} {
		pass[u] = e.createUser(admin, u)
	}
	w.owner = e.login("owner", pass["owner"])
	mustStatus(t, w.owner.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
	w.app = e.createApp(w.owner, "acme")
	w.own = e.mintToken(w.owner, w.app, accessNoSuperScopes)
	for team, member := range map[string]string{"admins": "olga", "readers": "mia", "devs": "tim"} {
		role := map[string]string{"admins": "admin"}[team]
		if role == "" {
			role = "member"
		}
		mustStatus(t, w.own.do("PUT", "/api/v1/organization/acme/team/"+team, map[string]any{"role": role}), http.StatusOK)
		mustStatus(t, w.own.do("PUT", "/api/v1/organization/acme/team/"+team+"/members/"+member, map[string]any{}), http.StatusOK)
	}
	mustStatus(t, w.own.do("POST", "/api/v1/repository", map[string]any{"namespace": "acme", "repository": "app",
		"visibility": "private", "description": ""}), http.StatusCreated)
	mustStatus(t, w.own.do("PUT", "/api/v1/repository/acme/app/permissions/team/devs", map[string]any{"role": "write"}), http.StatusOK)
	r := w.own.do("PUT", "/api/v1/organization/acme/robots/ci", map[string]any{"description": "reads acme/app"})
	mustStatus(t, r, http.StatusCreated)
	robotToken, _ := r.JSON(t)["token"].(string)
	mustStatus(t, w.own.do("PUT", "/api/v1/repository/acme/app/permissions/user/acme+ci", map[string]any{"role": "read"}), http.StatusOK)
	w.digest = storeImage(t, store, repoOf(t, store, "/api/v1/repository/acme/app"), "latest", "roles", 10)

	w.callers[roleOrgAdmin] = e.login("olga", pass["olga"])
	w.callers[roleOrgMember] = e.login("mia", pass["mia"])
	w.callers[roleTeamMember] = e.login("tim", pass["tim"])
	w.callers[roleRobotBearer] = e.withToken(robotToken)
	w.callers[roleRobotBasic] = e.anonymous()
	w.headers[roleRobotBasic] = []string{"Authorization", basicAuth("acme+ci", robotToken)}
	return w
}

// narrow is owner's token without need's scope (minted once per need).
func (w *roleWorld) narrow(need roleNeed) *client {
	if c := w.narrows[need]; c != nil {
		return c
	}
	c := w.e.mintToken(w.owner, w.app, narrowScopes[need])
	w.narrows[need] = c
	return c
}

func (w *roleWorld) name(prefix string) string {
	w.seq++
	return fmt.Sprintf("%s%d", prefix, w.seq)
}

// ok sends one setup request as the owner and requires a 2xx answer.
func (w *roleWorld) ok(method, path string, body any) *response {
	w.t.Helper()
	r := w.own.do(method, path, body)
	if r.Status >= 300 {
		w.t.Fatalf("setup %s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r
}

// team is a fresh team of acme with members.
func (w *roleWorld) team(members ...string) string {
	name := w.name("team")
	w.ok("PUT", "/api/v1/organization/acme/team/"+name, map[string]any{"role": "member"})
	for _, m := range members {
		w.ok("PUT", "/api/v1/organization/acme/team/"+name+"/members/"+m, map[string]any{})
	}
	return name
}

// user is a fresh user (no password: nobody signs in as it).
func (w *roleWorld) user() string {
	name := w.name("user")
	u := &wharf.Account{Name: name, Kind: wharf.KindUser, Email: name + "@example.com", Enabled: true, Verified: true, TagExpirationS: 1209600}
	if err := w.store.Accounts.CreateAccount(w.t.Context(), u, nil); err != nil {
		w.t.Fatal(err)
	}
	return name
}

func (w *roleWorld) prototype() string {
	r := w.ok("POST", "/api/v1/organization/acme/prototypes", map[string]any{"role": "read",
		"delegate": map[string]any{"name": w.team(), "kind": "team"}})
	id, _ := r.JSON(w.t)["id"].(string)
	return id
}

// tag points a fresh tag of acme/app at the image and returns its name.
func (w *roleWorld) tag() string {
	name := w.name("t")
	w.ok("PUT", "/api/v1/repository/acme/app/tag/"+name, map[string]any{"manifest_digest": w.digest})
	return name
}

func (w *roleWorld) label() string {
	r := w.ok("POST", "/api/v1/repository/acme/app/manifest/"+w.digest+"/labels", map[string]any{"key": w.name("k"), "value": "v", "media_type": "text/plain"})
	id, _ := asMap(r.JSON(w.t)["label"])["id"].(string)
	return id
}

// repo is a fresh private repository of acme that devs may write.
func (w *roleWorld) repo() string {
	name := w.name("repo")
	w.ok("POST", "/api/v1/repository", map[string]any{"namespace": "acme", "repository": name, "visibility": "private", "description": ""})
	w.ok("PUT", "/api/v1/repository/acme/"+name+"/permissions/team/devs", map[string]any{"role": "write"})
	w.ok("PUT", "/api/v1/repository/acme/"+name+"/permissions/user/acme+ci", map[string]any{"role": "read"})
	return "/api/v1/repository/acme/" + name
}

// roleRow is one method of one tenancy route with what each caller gets.
type roleRow struct {
	method, route string
	need          roleNeed
	want          [nRoleCallers]int
	build         func(w *roleWorld, who int, c *client) accessRequest
}

// Expected answers by who may use a route. A robot's token leaves the
// call anonymous: 401 wherever a user is needed. A private repository the
// caller cannot read is 404, as a missing one: to anonymous callers and
// tokens without a repo:* scope on the routes that admit public reads too.
func orgAdmins(ok int) [nRoleCallers]int  { return [nRoleCallers]int{ok, 403, 403, 401, 401, 403} }
func repoAdmins(ok int) [nRoleCallers]int { return [nRoleCallers]int{ok, 404, 403, 401, 401, 403} }
func repoWriters(ok int) [nRoleCallers]int {
	return [nRoleCallers]int{ok, 404, ok, 401, 401, 403}
}
func repoReaders(ok int) [nRoleCallers]int {
	return [nRoleCallers]int{ok, 404, ok, 404, 404, 404}
}
func signedIn(ok int) [nRoleCallers]int { return [nRoleCallers]int{ok, ok, ok, 401, 401, 403} }

var superusersOnly = [nRoleCallers]int{403, 403, 403, 401, 401, 403}

func at(path string) func(*roleWorld, int, *client) accessRequest {
	return func(*roleWorld, int, *client) accessRequest { return accessRequest{path: path} }
}

func roleRows() []roleRow {
	const GET, POST, PUT, DELETE = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	const org, app = "/api/v1/organization/acme", "/api/v1/repository/acme/app"
	return []roleRow{
		{PUT, "team/{team}", needOrgAdmin, orgAdmins(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: org + "/team/" + w.name("new"), body: map[string]any{"role": "member"}}
		}},
		{DELETE, "team/{team}", needOrgAdmin, orgAdmins(204), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: org + "/team/" + w.team()}
		}},
		// A team's members see its members (spec §2.4: ViewTeamPermission).
		{GET, "team/{team}/members", needOrgAdmin, [nRoleCallers]int{200, 403, 200, 401, 401, 403}, func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: org + "/team/" + w.team("tim") + "/members?includePending=True"}
		}},
		{PUT, "team/{team}/members/{member}", needOrgAdmin, orgAdmins(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: org + "/team/" + w.team() + "/members/" + w.user(), body: map[string]any{}}
		}},
		{DELETE, "team/{team}/members/{member}", needOrgAdmin, orgAdmins(204), func(w *roleWorld, _ int, _ *client) accessRequest {
			u := w.user()
			return accessRequest{path: org + "/team/" + w.team(u) + "/members/" + u}
		}},
		{GET, "team/{team}/permissions", needOrgAdmin, orgAdmins(200), at(org + "/team/devs/permissions")},
		{GET, "organization/{org}/members", needOrgAdmin, orgAdmins(200), at(org + "/members")},
		{GET, "organization/{org}/members/{member}", needOrgAdmin, orgAdmins(200), at(org + "/members/mia")},
		{DELETE, "organization/{org}/members/{member}", needOrgAdmin, orgAdmins(204), func(w *roleWorld, _ int, _ *client) accessRequest {
			u := w.user()
			w.team(u)
			return accessRequest{path: org + "/members/" + u}
		}},
		{GET, "prototypes", needOrgAdmin, orgAdmins(200), at(org + "/prototypes")},
		{POST, "prototypes", needOrgAdmin, orgAdmins(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: org + "/prototypes", body: map[string]any{"role": "read", "delegate": map[string]any{"name": w.team(), "kind": "team"}}}
		}},
		{PUT, "prototypes/{id}", needOrgAdmin, orgAdmins(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: org + "/prototypes/" + w.prototype(), body: map[string]any{"role": "write"}}
		}},
		{DELETE, "prototypes/{id}", needOrgAdmin, orgAdmins(204), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: org + "/prototypes/" + w.prototype()}
		}},
		{GET, "organization/{org}/robots/{robot}/permissions", needOrgAdmin, orgAdmins(200), at(org + "/robots/ci/permissions")},
		{GET, "user/robots/{robot}/permissions", needUserAdmin, signedIn(200), func(w *roleWorld, who int, c *client) accessRequest {
			short := w.name("rb")
			if who != roleRobotBearer && who != roleRobotBasic {
				mine := c
				if who == roleNarrow {
					mine = w.own
				}
				if r := mine.do(PUT, "/api/v1/user/robots/"+short, map[string]any{}); r.Status != http.StatusCreated {
					w.t.Fatalf("setup: own robot: %d %s", r.Status, r.Body)
				}
			}
			return accessRequest{path: "/api/v1/user/robots/" + short + "/permissions"}
		}},

		// Repository permissions and state, for the repository's administrators.
		{GET, "permissions/user/", needRepoAdmin, repoAdmins(200), at(app + "/permissions/user/")},
		{GET, "permissions/user/{user}", needRepoAdmin, repoAdmins(200), at(app + "/permissions/user/acme+ci")},
		{PUT, "permissions/user/{user}", needRepoAdmin, repoAdmins(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: w.repo() + "/permissions/user/" + w.user(), body: map[string]any{"role": "read"}}
		}},
		{DELETE, "permissions/user/{user}", needRepoAdmin, repoAdmins(204), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: w.repo() + "/permissions/user/acme+ci"}
		}},
		{GET, "permissions/user/{user}/transitive", needRepoAdmin, repoAdmins(200), at(app + "/permissions/user/tim/transitive")},
		{GET, "permissions/team/", needRepoAdmin, repoAdmins(200), at(app + "/permissions/team/")},
		{GET, "permissions/team/{team}", needRepoAdmin, repoAdmins(200), at(app + "/permissions/team/devs")},
		{PUT, "permissions/team/{team}", needRepoAdmin, repoAdmins(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: w.repo() + "/permissions/team/" + w.team(), body: map[string]any{"role": "read"}}
		}},
		{DELETE, "permissions/team/{team}", needRepoAdmin, repoAdmins(204), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: w.repo() + "/permissions/team/devs"}
		}},
		{PUT, "changestate", needRepoAdmin, repoAdmins(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: w.repo() + "/changestate", body: map[string]any{"state": "READ_ONLY"}}
		}},

		// Repositories and stars.
		{GET, "repository?namespace=", needNothing, [nRoleCallers]int{200, 200, 200, 200, 200, 200}, at("/api/v1/repository?namespace=acme")},
		{POST, "repository", needRepoCreate, [nRoleCallers]int{201, 403, 403, 401, 401, 403}, func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: "/api/v1/repository", body: map[string]any{"namespace": "acme", "repository": w.name("made"), "visibility": "private", "description": ""}}
		}},
		{GET, "repository/{repo}", needRepoRead, repoReaders(200), at(app)},
		{PUT, "repository/{repo}", needRepoWrite, repoWriters(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: w.repo(), body: map[string]any{"description": "changed"}}
		}},
		{DELETE, "repository/{repo}", needRepoAdmin, repoAdmins(204), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: w.repo()}
		}},
		{POST, "changevisibility", needRepoAdmin, repoAdmins(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: w.repo() + "/changevisibility", body: map[string]any{"visibility": "public"}}
		}},
		{GET, "user/starred", needUserAdmin, signedIn(200), at("/api/v1/user/starred")},
		{POST, "user/starred", needUserAdmin, repoWriters(201), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: "/api/v1/user/starred", body: map[string]any{"namespace": "acme", "repository": strings.TrimPrefix(w.repo(), "/api/v1/repository/acme/")}}
		}},
		{DELETE, "user/starred/{repo}", needUserAdmin, repoWriters(204), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: "/api/v1/user/starred/" + strings.TrimPrefix(w.repo(), "/api/v1/repository/")}
		}},

		// Tags, manifests and labels.
		{GET, "tag/", needRepoRead, repoReaders(200), at(app + "/tag/")},
		{PUT, "tag/{tag}", needRepoWrite, repoWriters(201), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: app + "/tag/" + w.name("put"), body: map[string]any{"manifest_digest": w.digest}}
		}},
		{DELETE, "tag/{tag}", needRepoWrite, repoWriters(204), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: app + "/tag/" + w.tag()}
		}},
		{POST, "tag/{tag}/restore", needRepoWrite, repoWriters(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			tag := w.tag()
			w.ok(DELETE, app+"/tag/"+tag, nil)
			return accessRequest{path: app + "/tag/" + tag + "/restore", body: map[string]any{"manifest_digest": w.digest}}
		}},
		{GET, "manifest/{digest}", needRepoRead, repoReaders(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: app + "/manifest/" + w.digest}
		}},
		{GET, "manifest/{digest}/labels", needRepoRead, repoReaders(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: app + "/manifest/" + w.digest + "/labels"}
		}},
		{POST, "manifest/{digest}/labels", needRepoWrite, repoWriters(201), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: app + "/manifest/" + w.digest + "/labels", body: map[string]any{"key": w.name("k"), "value": "v", "media_type": "text/plain"}}
		}},
		{GET, "manifest/{digest}/labels/{id}", needRepoRead, repoReaders(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: app + "/manifest/" + w.digest + "/labels/" + w.label()}
		}},
		{DELETE, "manifest/{digest}/labels/{id}", needRepoWrite, repoWriters(204), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: app + "/manifest/" + w.digest + "/labels/" + w.label()}
		}},

		// Logs (spec §7.1).
		{GET, "organization/{org}/logs", needOrgAdmin, orgAdmins(200), at(org + "/logs")},
		{GET, "organization/{org}/aggregatelogs", needOrgAdmin, orgAdmins(200), at(org + "/aggregatelogs")},
		{GET, "user/logs", needUserAdmin, signedIn(200), at("/api/v1/user/logs")},
		{GET, "user/aggregatelogs", needUserAdmin, signedIn(200), at("/api/v1/user/aggregatelogs")},
		{GET, "repository/{repo}/logs", needRepoAdmin, repoAdmins(200), at(app + "/logs")},
		{GET, "repository/{repo}/aggregatelogs", needRepoAdmin, repoAdmins(200), at(app + "/aggregatelogs")},

		// Global messages: everyone reads, superusers write.
		{GET, "messages", needNothing, [nRoleCallers]int{200, 200, 200, 200, 200, 200}, at("/api/v1/messages")},
		{POST, "messages", needNothing, superusersOnly, func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: "/api/v1/messages", body: map[string]any{"message": map[string]any{"content": "x", "media_type": "text/plain", "severity": "info"}}}
		}},
		{DELETE, "message/{uuid}", needNothing, superusersOnly, func(w *roleWorld, _ int, _ *client) accessRequest {
			r := w.admin.do(POST, "/api/v1/messages", map[string]any{"message": map[string]any{"content": w.name("m"), "media_type": "text/plain", "severity": "info"}})
			mustStatus(w.t, r, http.StatusCreated)
			list := w.admin.do(GET, "/api/v1/messages", nil).JSON(w.t)["messages"].([]any)
			return accessRequest{path: "/api/v1/message/" + list[len(list)-1].(map[string]any)["uuid"].(string)}
		}},

		// The caller's own app tokens.
		{GET, "user/apptoken", needUserAdmin, signedIn(200), at("/api/v1/user/apptoken")},
		{POST, "user/apptoken", needUserAdmin, signedIn(200), func(w *roleWorld, _ int, _ *client) accessRequest {
			return accessRequest{path: "/api/v1/user/apptoken", body: map[string]any{"title": "t"}}
		}},
		{GET, "user/apptoken/{uuid}", needUserAdmin, signedIn(200), func(w *roleWorld, who int, c *client) accessRequest {
			return accessRequest{path: "/api/v1/user/apptoken/" + w.appToken(who, c)}
		}},
		{DELETE, "user/apptoken/{uuid}", needUserAdmin, signedIn(204), func(w *roleWorld, who int, c *client) accessRequest {
			return accessRequest{path: "/api/v1/user/apptoken/" + w.appToken(who, c)}
		}},
	}
}

// appToken is a fresh app token of the caller (the owner's for the narrow
// token; any uuid for a robot) and returns its uuid.
func (w *roleWorld) appToken(who int, c *client) string {
	switch who {
	case roleRobotBearer, roleRobotBasic:
		return "00000000-0000-4000-8000-000000000000"
	case roleNarrow:
		c = w.owner
	}
	r := c.do(http.MethodPost, "/api/v1/user/apptoken", map[string]any{"title": "cell"})
	mustStatus(w.t, r, http.StatusOK)
	uuid, _ := asMap(r.JSON(w.t)["token"])["uuid"].(string)
	return uuid
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
