package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestAccessMatrix proves the access rule of every method of every endpoint
// registered in routes.go, for every kind of caller, against the contract:
// spec §1.2–1.5 and §1.11 with the README's deliberate differences
// (authentication → permission → validation; no credentials → 401; a
// cookie session without its CSRF token on a mutating call → 403; bearer
// tokens never need CSRF; every OAuth token needs super:user for every
// superuser endpoint; one JSON error body).
//
// Each cell is one request by one caller on a target of its own (a fresh
// user, organization, application, repository or robot, written straight
// to the store, wherever the call could change or remove it), so cells do
// not depend on each other's effects. Principals are created once per
// engine: bcrypt makes every login cost ~70ms. The "coverage" subtest parses
// routes.go, so an endpoint added there without a row here fails the test.
//
// Stale logins use a second server over the same database whose
// FRESH_LOGIN_TIMEOUT is one second (not 1ns: /signin/verify must be able to
// make a session fresh for the next call).
func TestAccessMatrix(t *testing.T) {
	eps := slices.Concat(accessMatrix(), serviceKeyAccessMatrix(), quotaAccessMatrix(), buildAccessMatrix(),
		messageAccessMatrix(), appTokenAccessMatrix(), namespaceLogsAccessMatrix(), consoleAccessMatrix(),
		tagsAccessMatrix(), autoPruneAccessMatrix(), tenancyAccessMatrix(), logExportsAccessMatrix())
	t.Run("coverage", func(t *testing.T) { checkRouteCoverage(t, eps) })
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		start := time.Now()
		f := newAccessFixture(t, store)

		// 1. The seven callers on every method of every endpoint.
		for _, ep := range eps {
			for id := range accessCaller(nAccessCallers) {
				f.cell(t, ep, f.callers[id], f.e, ep.want[id], "", accessCellOpts{})
			}
		}

		// 2. The same callers on somebody else's organization, namespace or
		// repository (see the variants of each endpoint).
		for _, ep := range eps {
			for _, v := range ep.variants {
				for _, id := range v.callers {
					f.cell(t, ep, f.callers[id], f.e, v.want, "", accessCellOpts{target: v.target, suffix: v.suffix})
				}
			}
		}

		// The README's fix of Quay's read-only superuser bypass: the auditor's
		// token without super:user passes no superuser endpoint, reads included.
		for _, ep := range eps {
			if ep.class == clsInspect || ep.class == clsSuperRead || ep.class == clsAdmin || ep.class == clsSuperWrite {
				f.cell(t, ep, f.auditorNoSuper, f.e, http.StatusForbidden, "insufficient_scope", accessCellOpts{})
			}
		}

		// 3. A cookie session without X-CSRF-Token on any mutating call → 403,
		// whatever the endpoint's rule and whoever the session belongs to.
		for _, ep := range eps {
			if ep.method == http.MethodGet || ep.class == clsRedirect {
				continue
			}
			if strings.HasPrefix(ep.route, "/keys/") {
				// The key server's credential is the JWT in Authorization: as
				// with any bearer header, the session cookie is not consulted.
				continue
			}
			for _, id := range []accessCaller{callerNormalSession, callerAdminSession} {
				f.cell(t, ep, f.callers[id], f.e, http.StatusForbidden, "insufficient_scope", accessCellOpts{noCSRF: true, suffix: "-no-csrf", detail: accessCSRFDetail})
			}
			if ep.route == "/api/v1/signin" {
				// Login CSRF: an anonymous browser must first fetch /csrf_token.
				f.cell(t, ep, f.callers[callerAnonymous], f.e, http.StatusForbidden, "insufficient_scope", accessCellOpts{noCSRF: true, suffix: "-no-csrf", detail: accessCSRFDetail})
			}
		}

		// 4. Sessions whose login is older than FRESH_LOGIN_TIMEOUT.
		if wait := accessStaleAfter + 100*time.Millisecond - time.Since(f.staleLogins); wait > 0 {
			time.Sleep(wait)
		}
		for _, ep := range eps {
			switch {
			case ep.class == clsInspect || ep.class == clsAdmin:
				// Fresh-login endpoints: permission first, then freshness.
				f.cell(t, ep, f.stale[callerAdminSession], f.staleEnv, http.StatusUnauthorized, "fresh_login_required", accessCellOpts{detail: accessFreshDetail})
				if ep.class == clsInspect {
					f.cell(t, ep, f.staleAuditor, f.staleEnv, http.StatusUnauthorized, "fresh_login_required", accessCellOpts{detail: accessFreshDetail})
				} else {
					f.cell(t, ep, f.staleAuditor, f.staleEnv, http.StatusForbidden, "insufficient_scope", accessCellOpts{})
				}
				f.cell(t, ep, f.stale[callerNormalSession], f.staleEnv, http.StatusForbidden, "insufficient_scope", accessCellOpts{})
				// Bearer tokens never need a fresh login.
				f.cell(t, ep, f.callers[callerAdminTokenSuper], f.staleEnv, ep.want[callerAdminTokenSuper], "", accessCellOpts{})
			case ep.class == clsSignedInFresh:
				// The caller's own resources behind a fresh login: any
				// stale session is refused after the access check.
				for _, id := range []accessCaller{callerNormalSession, callerAdminSession} {
					f.cell(t, ep, f.stale[id], f.staleEnv, http.StatusUnauthorized, "fresh_login_required", accessCellOpts{detail: accessFreshDetail})
				}
				f.cell(t, ep, f.callers[callerNormalToken], f.staleEnv, ep.want[callerNormalToken], "", accessCellOpts{})
			case ep.class == clsSuperRead:
				// Superuser reads without a fresh-login requirement (spec §2.7, §2.21).
				f.cell(t, ep, f.stale[callerAdminSession], f.staleEnv, http.StatusOK, "", accessCellOpts{})
				f.cell(t, ep, f.staleAuditor, f.staleEnv, http.StatusOK, "", accessCellOpts{})
				f.cell(t, ep, f.stale[callerNormalSession], f.staleEnv, http.StatusForbidden, "insufficient_scope", accessCellOpts{})
			case ep.class == clsSuperWrite:
				// Full-superuser writes without a fresh-login requirement
				// (spec §2.9: quota DELETE; §3.12: the organization quota writes).
				f.cell(t, ep, f.stale[callerAdminSession], f.staleEnv, ep.want[callerAdminSession], "", accessCellOpts{})
				f.cell(t, ep, f.staleAuditor, f.staleEnv, http.StatusForbidden, "insufficient_scope", accessCellOpts{})
				f.cell(t, ep, f.stale[callerNormalSession], f.staleEnv, http.StatusForbidden, "insufficient_scope", accessCellOpts{})
			case ep.class != clsRedirect && ep.route != "/api/v1/signin/verify" && ep.route != "/api/v1/signout":
				// Everything else ignores the login's age. (verify would
				// refresh the shared stale session: step 5 covers it;
				// signout works on a throwaway session.)
				f.cell(t, ep, f.stale[callerAdminSession], f.staleEnv, ep.want[callerAdminSession], "", accessCellOpts{})
			}
		}

		// 5. POST /api/v1/signin/verify with the password makes the session
		// fresh again; a wrong password does not.
		t.Run("POST /api/v1/signin/verify/admin-session-stale-refreshed", func(t *testing.T) {
			f.cells++
			env := f.staleEnv.forSubtest(t)
			c := f.stale[callerAdminSession].fork(env)
			r := c.do("GET", "/api/v1/superuser/users/", nil)
			checkAccessResponse(t, "/api/v1/superuser/users/", r, http.StatusUnauthorized, "fresh_login_required", accessFreshDetail)
			r = c.do("POST", "/api/v1/signin/verify", map[string]any{"password": "wrong-password"})
			checkAccessResponse(t, "/api/v1/signin/verify", r, http.StatusForbidden, "", "")
			r = c.do("GET", "/api/v1/superuser/users/", nil)
			checkAccessResponse(t, "/api/v1/superuser/users/", r, http.StatusUnauthorized, "fresh_login_required", accessFreshDetail)
			r = c.do("POST", "/api/v1/signin/verify", map[string]any{"password": accessAdminPassword})
			checkAccessResponse(t, "/api/v1/signin/verify", r, http.StatusOK, "", "")
			r = c.do("GET", "/api/v1/superuser/users/", nil)
			checkAccessResponse(t, "/api/v1/superuser/users/", r, http.StatusOK, "", "")
			name := f.nextName("fresh")
			r = c.do("POST", "/api/v1/superuser/users/", map[string]any{"username": name, "email": name + "@example.com"})
			checkAccessResponse(t, "/api/v1/superuser/users/", r, http.StatusOK, "", "")
		})

		t.Logf("%d cells in %s", f.cells, time.Since(start).Round(time.Millisecond))
	})
}

// accessCaller indexes the seven callers of the matrix.
type accessCaller int

const (
	callerAnonymous         accessCaller = iota // no credentials at all
	callerNormalToken                           // alice, OAuth token with every scope
	callerNormalSession                         // alice, cookie session
	callerAuditorToken                          // global read-only superuser, token with every scope
	callerAdminSession                          // superuser, cookie session
	callerAdminTokenNoSuper                     // superuser, token with every scope but super:user
	callerAdminTokenSuper                       // superuser, token with every scope
	nAccessCallers
)

const (
	accessAdminPassword = "adminpass1" // set by bootstrap
	accessAllScopes     = "org:admin repo:admin repo:create repo:read repo:write super:user user:admin user:read"
	accessNoSuperScopes = "org:admin repo:admin repo:create repo:read repo:write user:admin user:read"
	accessCSRFDetail    = "CSRF token was invalid or missing."
	accessFreshDetail   = "Requires fresh login"
	// accessStaleAfter is FRESH_LOGIN_TIMEOUT of the stale-login server: short, so
	// that sessions go stale without a fake clock, yet long enough that a
	// call right after /signin/verify is still fresh.
	accessStaleAfter = time.Second
)

// accessPrincipal is one way of calling: who (user, "" = anonymous), with which
// credential. base holds its credential; every cell forks it.
type accessPrincipal struct {
	name    string
	user    string
	session bool
	base    *client // nil for anonymous
}

// fork returns a client of env carrying p's credential (token, CSRF token
// and session cookie) in a cookie jar of its own, so that a cell that signs
// in or out does not change the principal.
func (p *accessPrincipal) fork(env *testEnv) *client {
	c := env.anonymous()
	if p.base == nil {
		return c
	}
	c.token, c.csrf = p.base.token, p.base.csrf
	from, _ := url.Parse(p.base.env.srv.URL)
	to, _ := url.Parse(env.srv.URL)
	c.http.Jar.SetCookies(to, p.base.http.Jar.Cookies(from))
	return c
}

// class is the access rule routes.go declares for an endpoint.
type accessClass int

const (
	clsOpen          accessClass = iota // anyone (handler may still refuse)
	clsPublicRead                       // anyone while FEATURE_ANONYMOUS_ACCESS is on
	clsSignedIn                         // any user (with the scope, for tokens)
	clsSignedInFresh                    // any user (with the scope, for tokens); fresh login
	clsOrgAdmin                         // signed in, org:admin scope, administrator of the organization
	clsRepo                             // signed in or public read; the repository's permissions decide
	clsInspect                          // superuser or read-only superuser; fresh login
	clsSuperRead                        // superuser or read-only superuser; no fresh login (service keys)
	clsAdmin                            // full superuser; fresh login
	clsSuperWrite                       // full superuser; no fresh login (quota writes)
	clsOrgMember                        // signed in; member of the organization, or any superuser (quota reads)
	clsRedirect                         // declared with a trailing slash, requested without: 308
)

// request is what a cell sends.
type accessRequest struct {
	path    string
	body    any
	headers []string
}

// accessEndpoint is one method of one route of routes.go.
type accessEndpoint struct {
	method string
	route  string // the pattern exactly as routes.go registers it
	class  accessClass
	want   [nAccessCallers]int
	build  func(x *accessCellCtx) accessRequest
	ok     func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) // optional check of a success
	// refusal is the detail every caller's expected error carries, if fixed.
	refusal string
	// badRequestType is the error_type of the endpoint's 400s when it is
	// not invalid_request (Quay's invalid_response, say).
	badRequestType string
	// variants run the endpoint on targets that belong to somebody else.
	variants []accessVariant
}

// target says whose resource a cell works on.
type accessTarget int

const (
	tgtOwn              accessTarget = iota // the caller's (admin's for anonymous callers)
	tgtOther                                // somebody else's organization or namespace
	tgtOtherPublicRepo                      // somebody else's public repository
	tgtOtherPrivateRepo                     // somebody else's private repository
)

// accessVariant is a group of extra cells: callers on another target, all
// expecting want.
type accessVariant struct {
	suffix  string
	target  accessTarget
	callers []accessCaller
	want    int
}

// accessNotOrgAdmin: organization administration is for the organization's
// administrators. Superusers are refused too: FEATURE_SUPERUSERS_FULL_ACCESS
// (spec §1.3, §3.12: default false; wharf has no such switch) is what lets
// a superuser bypass namespace permissions in Quay, and even then a token
// needs super:user.
var accessNotOrgAdmin = []accessVariant{{suffix: "-not-org-admin", target: tgtOther, want: http.StatusForbidden,
	callers: []accessCaller{callerNormalToken, callerNormalSession, callerAdminSession, callerAdminTokenNoSuper, callerAdminTokenSuper}}}

// accessRepoCallers are the signed-in callers checked on others' repositories.
var accessRepoCallers = []accessCaller{callerNormalToken, callerNormalSession, callerAdminSession, callerAdminTokenSuper}

// accessOtherRepo: administering somebody else's repository is refused (403);
// somebody else's private repository does not exist for the caller (404).
var accessOtherRepo = []accessVariant{
	{suffix: "-other-public-repo", target: tgtOtherPublicRepo, want: http.StatusForbidden, callers: accessRepoCallers},
	{suffix: "-other-private-repo", target: tgtOtherPrivateRepo, want: http.StatusNotFound, callers: accessRepoCallers},
}

func (ep *accessEndpoint) display() string { return strings.TrimSuffix(ep.route, "{$}") }

// accessCellCtx is one cell being built and run.
type accessCellCtx struct {
	t      *testing.T
	f      *accessFixture
	env    *testEnv // the per-cell copy of the server's env (reports to t)
	p      *accessPrincipal
	c      *client
	noCSRF bool
	target accessTarget
}

type accessCellOpts struct {
	noCSRF bool
	target accessTarget
	suffix string
	detail string // the error detail expected (proves which check refused)
}

// accessFixture is the per-engine state: two servers over one database
// (the normal one, and one whose FRESH_LOGIN_TIMEOUT is accessStaleAfter) and the
// principals.
type accessFixture struct {
	e, staleEnv  *testEnv
	store        *db.DB
	callers      [nAccessCallers]*accessPrincipal
	stale        [nAccessCallers]*accessPrincipal // sessions on staleEnv (callerNormalSession, callerAdminSession)
	staleAuditor *accessPrincipal
	// auditorNoSuper is the read-only superuser's token without super:user.
	auditorNoSuper *accessPrincipal
	staleLogins    time.Time
	passwords      map[string]string
	accounts       map[string]*wharf.Account
	clientID       string // an application of acme, for /oauth/authorizeapp
	seq            int
	cells          int
}

func newAccessFixture(t *testing.T, store *db.DB) *accessFixture {
	t.Helper()
	// Every optional endpoint is served (FEATURE_AUTO_PRUNE is off by default).
	e := newEnv(t, store, func(c *config.Config) { c.FeatureAutoPrune = true })
	// Signing in still works on this server (it is not a fresh-login call);
	// sessions just become stale after accessStaleAfter.
	staleEnv := newEnv(t, store, func(c *config.Config) { c.FreshLoginTimeout, c.FeatureAutoPrune = accessStaleAfter, true })
	f := &accessFixture{e: e, staleEnv: staleEnv, store: store,
		passwords: map[string]string{"admin": accessAdminPassword}, accounts: map[string]*wharf.Account{}}

	setup := e.bootstrap()
	f.passwords["alice"] = e.createUser(setup, "alice")
	f.passwords["auditor"] = e.createUser(setup, "auditor")
	mustStatus(t, setup.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
	f.clientID = e.createApp(setup, "acme")
	for _, name := range []string{"admin", "alice", "auditor"} {
		a, err := store.Accounts.AccountByName(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		f.accounts[name] = a
	}

	aliceSession := e.login("alice", f.passwords["alice"])
	auditorSession := e.login("auditor", f.passwords["auditor"])
	adminSess := e.login("admin", accessAdminPassword)
	f.callers = [nAccessCallers]*accessPrincipal{
		callerAnonymous:         {name: "anonymous"},
		callerNormalToken:       {name: "normal-token", user: "alice", base: e.mintToken(aliceSession, f.clientID, accessAllScopes)},
		callerNormalSession:     {name: "normal-session", user: "alice", session: true, base: aliceSession},
		callerAuditorToken:      {name: "auditor-token-super", user: "auditor", base: e.mintToken(auditorSession, f.clientID, accessAllScopes)},
		callerAdminSession:      {name: "admin-session", user: "admin", session: true, base: adminSess},
		callerAdminTokenNoSuper: {name: "admin-token-nosuper", user: "admin", base: e.mintToken(adminSess, f.clientID, accessNoSuperScopes)},
		callerAdminTokenSuper:   {name: "admin-token-super", user: "admin", base: e.mintToken(adminSess, f.clientID, accessAllScopes)},
	}
	f.auditorNoSuper = &accessPrincipal{name: "auditor-token-nosuper", user: "auditor", base: e.mintToken(auditorSession, f.clientID, accessNoSuperScopes)}
	f.stale[callerNormalSession] = &accessPrincipal{name: "normal-session-stale", user: "alice", session: true, base: staleEnv.login("alice", f.passwords["alice"])}
	f.stale[callerAdminSession] = &accessPrincipal{name: "admin-session-stale", user: "admin", session: true, base: staleEnv.login("admin", accessAdminPassword)}
	f.staleAuditor = &accessPrincipal{name: "auditor-session-stale", user: "auditor", session: true, base: staleEnv.login("auditor", f.passwords["auditor"])}
	f.staleLogins = time.Now()
	return f
}

// forSubtest returns a copy of e that reports to t (the server is shared).
func (e *testEnv) forSubtest(t *testing.T) *testEnv {
	c := *e
	c.t = t
	return &c
}

func (f *accessFixture) nextName(prefix string) string {
	f.seq++
	return prefix + strconv.Itoa(f.seq)
}

// cell runs one request of p on ep and checks the answer: want, with
// wantType as the error_type ("" = the usual one for the status).
func (f *accessFixture) cell(t *testing.T, ep accessEndpoint, p *accessPrincipal, env *testEnv, want int, wantType string, o accessCellOpts) {
	t.Helper()
	name := ep.method + " " + ep.display() + "/" + p.name + o.suffix
	if env == f.staleEnv && !strings.Contains(p.name, "stale") {
		name += "-on-stale-server"
	}
	f.cells++
	t.Run(name, func(t *testing.T) {
		cenv := env.forSubtest(t)
		x := &accessCellCtx{t: t, f: f, env: cenv, p: p, c: p.fork(cenv), noCSRF: o.noCSRF, target: o.target}
		rq := ep.build(x)
		if o.noCSRF {
			x.c.csrf = ""
		}
		r := x.c.do(ep.method, rq.path, rq.body, rq.headers...)
		detail := o.detail
		if detail == "" && want >= 400 && wantType == "" {
			detail = ep.refusal
		}
		if want == http.StatusBadRequest && wantType == "" {
			wantType = ep.badRequestType
		}
		if checkAccessResponse(t, rq.path, r, want, wantType, detail) && r.Status < 400 && ep.ok != nil {
			ep.ok(t, x, rq, r)
		}
	})
}

var accessProblemTypes = map[int]string{
	http.StatusBadRequest:   "invalid_request",
	http.StatusUnauthorized: "invalid_token",
	http.StatusForbidden:    "insufficient_scope",
	http.StatusNotFound:     "not_found",
}

// checkAccessResponse asserts the status, that an /api/v1 body is empty or JSON
// served as application/json, and that an error body is the one problem
// JSON with the expected error_type (and detail, when wantDetail is set).
// It reports whether the status matched.
func checkAccessResponse(t *testing.T, path string, r *response, want int, wantType, wantDetail string) bool {
	t.Helper()
	ok := r.Status == want
	if !ok {
		t.Errorf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
	if strings.HasPrefix(path, "/api/") && len(bytes.TrimSpace(r.Body)) > 0 {
		if !json.Valid(r.Body) {
			t.Errorf("body of %s is not JSON: %q", path, r.Body)
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			t.Errorf("Content-Type %q, want application/json (body %q)", r.Header.Get("Content-Type"), r.Body)
		}
	}
	if r.Status >= 400 {
		var p map[string]any
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Errorf("error body is not a JSON object: %v: %q", err, r.Body)
			return ok
		}
		if p["status"] != float64(r.Status) || p["title"] != p["error_type"] || p["message"] != p["detail"] ||
			p["error_message"] != p["detail"] || p["detail"] == "" || p["detail"] == nil {
			t.Errorf("error body is not the problem JSON (status, title = error_type, detail = message = error_message): %s", r.Body)
		}
		if wantType == "" {
			wantType = accessProblemTypes[want]
		}
		if ok && wantType != "" && p["error_type"] != wantType {
			t.Errorf("error_type %v, want %s; body: %s", p["error_type"], wantType, r.Body)
		}
		if ok && wantDetail != "" && p["detail"] != wantDetail {
			t.Errorf("detail %q, want %q", p["detail"], wantDetail)
		}
	}
	return ok
}

// Throwaway targets, written straight to the store: no bcrypt, no HTTP.

func (x *accessCellCtx) newUser() string {
	x.t.Helper()
	name := x.f.nextName("tu")
	u := &wharf.Account{Name: name, Kind: wharf.KindUser, Email: name + "@example.com", Enabled: true, Verified: true, TagExpirationS: 1209600}
	if err := x.f.store.Accounts.CreateAccount(x.t.Context(), u, nil); err != nil {
		x.t.Fatal(err)
	}
	return name
}

func (x *accessCellCtx) newOrg(owner string) *wharf.Account {
	x.t.Helper()
	org := &wharf.Account{Name: x.f.nextName("to"), Kind: wharf.KindOrg, Enabled: true, Verified: true, TagExpirationS: 1209600}
	if err := x.f.store.Accounts.CreateAccount(x.t.Context(), org, x.f.accounts[owner]); err != nil {
		x.t.Fatal(err)
	}
	return org
}

func (x *accessCellCtx) newApp(org *wharf.Account) string {
	x.t.Helper()
	app, err := identity.NewApplications(x.f.store.OAuth).Create(x.t.Context(), &wharf.Caller{}, org, identity.ApplicationFields{Name: "cli"})
	if err != nil {
		x.t.Fatal(err)
	}
	return app.ClientID
}

// owner is the user whose resources the cell works on: the caller (admin
// for anonymous callers), or somebody else for the foreign targets.
func (x *accessCellCtx) owner() string {
	if x.target == tgtOwn {
		if x.p.user == "" {
			return "admin"
		}
		return x.p.user
	}
	if x.p.user == "admin" {
		return "alice"
	}
	return "admin"
}

// callerOrg is a fresh organization administered by owner().
func (x *accessCellCtx) callerOrg() *wharf.Account { return x.newOrg(x.owner()) }

// callerRepo is a fresh repository "namespace/name" in owner()'s namespace:
// private, except somebody else's public one and, for anonymous callers,
// public (so that reading it can succeed).
func (x *accessCellCtx) callerRepo() string {
	x.t.Helper()
	vis := wharf.Private
	if x.target == tgtOtherPublicRepo || (x.target == tgtOwn && x.p.user == "") {
		vis = wharf.Public
	}
	ns := x.f.accounts[x.owner()]
	repo, err := repositories(x.f.store).Create(x.t.Context(), &wharf.Caller{}, ns, x.f.nextName("repo"), vis, "")
	if err != nil {
		x.t.Fatal(err)
	}
	return ns.Name + "/" + repo.Name
}

// newRobot creates a robot in ns and returns its short name.
func (x *accessCellCtx) newRobot(ns *wharf.Account) string {
	x.t.Helper()
	short := x.f.nextName("rb")
	if _, err := repositories(x.f.store).CreateRobot(x.t.Context(), &wharf.Caller{}, ns, short, ""); err != nil {
		x.t.Fatal(err)
	}
	return short
}

func (x *accessCellCtx) gone(name string) {
	x.t.Helper()
	if _, err := x.f.store.Accounts.AccountByName(x.t.Context(), name); !wharf.IsCode(err, wharf.NotFound) {
		x.t.Errorf("%s still exists after a successful delete (err %v)", name, err)
	}
}

func bodyField(t *testing.T, r *response, key string) any {
	t.Helper()
	return r.JSON(t)[key]
}

func wantAll(status int) (w [nAccessCallers]int) {
	for i := range w {
		w[i] = status
	}
	return w
}

// wantUsers: anonymous 401, every signed-in caller status (all tokens carry the
// user/org scopes these endpoints need).
func wantUsers(status int) [nAccessCallers]int {
	w := wantAll(status)
	w[callerAnonymous] = http.StatusUnauthorized
	return w
}

// wantInspect: spec §1.11 "401 / 403 / 200 / 200" with the README's change that
// every OAuth token needs super:user, the read-only superuser's included.
var wantInspect = [nAccessCallers]int{
	callerAnonymous: 401, callerNormalToken: 403, callerNormalSession: 403, callerAuditorToken: 200,
	callerAdminSession: 200, callerAdminTokenNoSuper: 403, callerAdminTokenSuper: 200,
}

// wantAdminister: SU only (spec §1.11: RO 403); tokens need super:user; a
// caller who may not use the endpoint gets 401/403 before any validation.
func wantAdminister(status int) [nAccessCallers]int {
	return [nAccessCallers]int{
		callerAnonymous: 401, callerNormalToken: 403, callerNormalSession: 403, callerAuditorToken: 403,
		callerAdminSession: status, callerAdminTokenNoSuper: 403, callerAdminTokenSuper: status,
	}
}

func fixedPath(path string) func(*accessCellCtx) accessRequest {
	return func(*accessCellCtx) accessRequest { return accessRequest{path: path} }
}

func slashRedirectCell(method, path string) accessEndpoint {
	return accessEndpoint{method: method, route: path, class: clsRedirect, want: wantAll(http.StatusPermanentRedirect),
		build: func(x *accessCellCtx) accessRequest {
			var body any
			if method != http.MethodGet {
				body = map[string]any{}
			}
			return accessRequest{path: path + "?limit=5", body: body}
		},
		ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
			if want := x.env.srv.URL + path + "/?limit=5"; r.Header.Get("Location") != want {
				t.Errorf("Location %q, want %q", r.Header.Get("Location"), want)
			}
		}}
}

// accessMatrix is the matrix: every method of every route of routes.go.
func accessMatrix() []accessEndpoint {
	const GET, POST, PUT, DELETE = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	orgApps := func(x *accessCellCtx) (*wharf.Account, string) {
		org := x.callerOrg()
		return org, x.newApp(org)
	}
	return []accessEndpoint{
		// Browser-style login and the OAuth implicit grant.
		{method: GET, route: "/csrf_token", class: clsOpen, want: wantAll(200), build: fixedPath("/csrf_token"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if tok, _ := bodyField(t, r, "csrf_token").(string); tok == "" {
					t.Errorf("no csrf_token: %s", r.Body)
				}
			}},
		// Signing in needs the CSRF token of the caller's cookie (login CSRF);
		// a bearer-token request never needs CSRF (README).
		{method: POST, route: "/api/v1/signin", class: clsOpen, want: wantAll(200),
			build: func(x *accessCellCtx) accessRequest {
				if x.p.user == "" && !x.noCSRF {
					r := x.c.do("GET", "/csrf_token", nil)
					mustStatus(x.t, r, http.StatusOK)
					x.c.csrf = r.JSON(x.t)["csrf_token"].(string)
				}
				return accessRequest{path: "/api/v1/signin", body: map[string]any{"username": "alice", "password": x.f.passwords["alice"]}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if bodyField(t, r, "success") != true || r.Header.Get("X-Next-CSRF-Token") == "" {
					t.Errorf("signin answered %s with X-Next-CSRF-Token %q", r.Body, r.Header.Get("X-Next-CSRF-Token"))
				}
			}},
		// Re-freshing a login is for sessions; a token is never stale, and
		// verify answers it 400 after the (passed) access check.
		{method: POST, route: "/api/v1/signin/verify", class: clsSignedIn,
			want: [nAccessCallers]int{callerAnonymous: 401, callerNormalToken: 400, callerNormalSession: 200, callerAuditorToken: 400,
				callerAdminSession: 200, callerAdminTokenNoSuper: 400, callerAdminTokenSuper: 400},
			build: func(x *accessCellCtx) accessRequest {
				pw := x.f.passwords[x.p.user]
				if pw == "" {
					pw = "anything1"
				}
				return accessRequest{path: "/api/v1/signin/verify", body: map[string]any{"password": pw}}
			}},
		{method: POST, route: "/api/v1/signout", class: clsOpen, want: wantAll(200),
			build: func(x *accessCellCtx) accessRequest {
				if x.p.session { // a session of its own: signing out ends it
					x.c = x.env.login(x.p.user, x.f.passwords[x.p.user])
				}
				return accessRequest{path: "/api/v1/signout"}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if x.p.session {
					if r := x.c.do("GET", "/api/v1/user/", nil); r.Status != http.StatusUnauthorized {
						t.Errorf("session still works after signout: %d %s", r.Status, r.Body)
					}
				}
			}},
		// The implicit grant needs a signed-in session (+ CSRF in the form).
		{method: POST, route: "/oauth/authorizeapp", class: clsSignedIn,
			want: [nAccessCallers]int{callerAnonymous: 401, callerNormalToken: 403, callerNormalSession: 302, callerAuditorToken: 403,
				callerAdminSession: 302, callerAdminTokenNoSuper: 403, callerAdminTokenSuper: 403},
			build: func(x *accessCellCtx) accessRequest {
				form := url.Values{"response_type": {"token"}, "client_id": {x.f.clientID},
					"redirect_uri": {x.env.srv.URL + "/oauth/localapp"}, "scope": {"user:read"}}
				if x.c.csrf != "" && !x.noCSRF {
					form.Set("_csrf_token", x.c.csrf)
				}
				return accessRequest{path: "/oauth/authorizeapp", body: form.Encode(),
					headers: []string{"Content-Type", "application/x-www-form-urlencoded"}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if !strings.Contains(r.Header.Get("Location"), "#access_token=") {
					t.Errorf("Location %q carries no token", r.Header.Get("Location"))
				}
			}},
		{method: GET, route: "/oauth/localapp", class: clsOpen, want: wantAll(200), build: fixedPath("/oauth/localapp")},
		// The instance has users: initialize refuses everybody (spec §4 step 2).
		{method: POST, route: "/api/v1/user/initialize", class: clsOpen, want: wantAll(400),
			refusal: "Cannot initialize user in a non-empty database",
			build: func(x *accessCellCtx) accessRequest {
				name := x.f.nextName("init")
				return accessRequest{path: "/api/v1/user/initialize", body: map[string]any{
					"username": name, "password": "password123", "email": name + "@example.com", "access_token": true}}
			}},

		// The caller, organizations and their OAuth applications.
		{method: GET, route: "/api/v1/user/{$}", class: clsSignedIn, want: wantUsers(200), build: fixedPath("/api/v1/user/"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if got := bodyField(t, r, "username"); got != x.p.user {
					t.Errorf("username %v, want %s", got, x.p.user)
				}
			}},
		slashRedirectCell(GET, "/api/v1/user"),
		{method: POST, route: "/api/v1/organization/{$}", class: clsSignedIn, want: wantUsers(201),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/organization/", body: map[string]any{"name": x.f.nextName("neworg")}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if string(bytes.TrimSpace(r.Body)) != `"Created"` {
					t.Errorf("body %s, want \"Created\"", r.Body)
				}
			}},
		slashRedirectCell(POST, "/api/v1/organization"),
		{method: GET, route: "/api/v1/organization/{orgname}", class: clsPublicRead, want: wantAll(200),
			build: fixedPath("/api/v1/organization/acme"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if got := bodyField(t, r, "name"); got != "acme" {
					t.Errorf("name %v, want acme", got)
				}
			}},
		{method: PUT, route: "/api/v1/organization/{orgname}", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/organization/" + x.callerOrg().Name, body: map[string]any{"invoice_email": true}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if got := bodyField(t, r, "invoice_email"); got != true {
					t.Errorf("invoice_email %v after the change", got)
				}
			}},
		{method: DELETE, route: "/api/v1/organization/{orgname}", class: clsOrgAdmin, want: wantUsers(204), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/organization/" + x.callerOrg().Name}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				x.gone(strings.TrimPrefix(rq.path, "/api/v1/organization/"))
			}},
		{method: GET, route: "/api/v1/organization/{orgname}/applications", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				org, _ := orgApps(x)
				return accessRequest{path: "/api/v1/organization/" + org.Name + "/applications"}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if apps, _ := bodyField(t, r, "applications").([]any); len(apps) != 1 {
					t.Errorf("applications: %s", r.Body)
				}
			}},
		{method: POST, route: "/api/v1/organization/{orgname}/applications", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/organization/" + x.callerOrg().Name + "/applications", body: map[string]any{"name": "app"}}
			}},
		{method: GET, route: "/api/v1/organization/{orgname}/applications/{client_id}", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				org, id := orgApps(x)
				return accessRequest{path: "/api/v1/organization/" + org.Name + "/applications/" + id}
			}},
		{method: PUT, route: "/api/v1/organization/{orgname}/applications/{client_id}", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				org, id := orgApps(x)
				return accessRequest{path: "/api/v1/organization/" + org.Name + "/applications/" + id, body: map[string]any{"name": "renamed"}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if got := bodyField(t, r, "name"); got != "renamed" {
					t.Errorf("name %v after the change", got)
				}
			}},
		{method: DELETE, route: "/api/v1/organization/{orgname}/applications/{client_id}", class: clsOrgAdmin, want: wantUsers(204), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				org, id := orgApps(x)
				return accessRequest{path: "/api/v1/organization/" + org.Name + "/applications/" + id}
			}},
		{method: POST, route: "/api/v1/organization/{orgname}/applications/{client_id}/resetclientsecret", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				org, id := orgApps(x)
				return accessRequest{path: "/api/v1/organization/" + org.Name + "/applications/" + id + "/resetclientsecret"}
			}},

		// Repositories: the caller's own namespace (anonymous: admin's public
		// repository); variants: somebody else's repositories.
		{method: POST, route: "/api/v1/repository", class: clsRepo, want: wantUsers(201),
			variants: []accessVariant{{suffix: "-other-namespace", target: tgtOther, want: http.StatusForbidden, callers: accessRepoCallers}},
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/repository", body: map[string]any{"namespace": x.owner(),
					"repository": x.f.nextName("newrepo"), "visibility": "private", "description": "", "repo_kind": "image"}}
			}},
		{method: GET, route: "/api/v1/repository/{namespace}/{repository}", class: clsRepo, want: wantAll(200),
			variants: []accessVariant{
				{suffix: "-other-public-repo", target: tgtOtherPublicRepo, want: http.StatusOK, callers: append([]accessCaller{callerAnonymous}, accessRepoCallers...)},
				{suffix: "-other-private-repo", target: tgtOtherPrivateRepo, want: http.StatusNotFound, callers: append([]accessCaller{callerAnonymous}, accessRepoCallers...)},
			},
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/repository/" + x.callerRepo()}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if got := bodyField(t, r, "name"); !strings.HasSuffix(rq.path, "/"+fmt.Sprint(got)) {
					t.Errorf("name %v for %s", got, rq.path)
				}
			}},
		{method: PUT, route: "/api/v1/repository/{namespace}/{repository}", class: clsRepo, want: wantUsers(200), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/repository/" + x.callerRepo(), body: map[string]any{"description": "changed"}}
			}},
		{method: DELETE, route: "/api/v1/repository/{namespace}/{repository}", class: clsRepo, want: wantUsers(204), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/repository/" + x.callerRepo()}
			}},
		{method: POST, route: "/api/v1/repository/{namespace}/{repository}/changevisibility", class: clsRepo, want: wantUsers(200), variants: accessOtherRepo,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/repository/" + x.callerRepo() + "/changevisibility", body: map[string]any{"visibility": "public"}}
			}},

		// Robot accounts of an organization (its administrators) and of the caller.
		{method: GET, route: "/api/v1/organization/{orgname}/robots", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				org := x.callerOrg()
				x.newRobot(org)
				return accessRequest{path: "/api/v1/organization/" + org.Name + "/robots"}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if list, _ := bodyField(t, r, "robots").([]any); len(list) != 1 {
					t.Errorf("robots: %s", r.Body)
				}
			}},
		{method: GET, route: "/api/v1/organization/{orgname}/robots/{robot_shortname}", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				org := x.callerOrg()
				return accessRequest{path: "/api/v1/organization/" + org.Name + "/robots/" + x.newRobot(org)}
			}},
		{method: PUT, route: "/api/v1/organization/{orgname}/robots/{robot_shortname}", class: clsOrgAdmin, want: wantUsers(201), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/organization/" + x.callerOrg().Name + "/robots/" + x.f.nextName("rb"), body: map[string]any{"description": "ci"}}
			}},
		{method: DELETE, route: "/api/v1/organization/{orgname}/robots/{robot_shortname}", class: clsOrgAdmin, want: wantUsers(204), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				org := x.callerOrg()
				return accessRequest{path: "/api/v1/organization/" + org.Name + "/robots/" + x.newRobot(org)}
			}},
		{method: POST, route: "/api/v1/organization/{orgname}/robots/{robot_shortname}/regenerate", class: clsOrgAdmin, want: wantUsers(200), variants: accessNotOrgAdmin,
			build: func(x *accessCellCtx) accessRequest {
				org := x.callerOrg()
				return accessRequest{path: "/api/v1/organization/" + org.Name + "/robots/" + x.newRobot(org) + "/regenerate"}
			},
			ok: wantFreshRobotToken},
		{method: GET, route: "/api/v1/user/robots", class: clsSignedIn, want: wantUsers(200), build: fixedPath("/api/v1/user/robots")},
		{method: GET, route: "/api/v1/user/robots/{robot_shortname}", class: clsSignedIn, want: wantUsers(200),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/user/robots/" + x.newRobot(x.f.accounts[x.owner()])}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if name, _ := bodyField(t, r, "name").(string); !strings.HasPrefix(name, x.p.user+"+") {
					t.Errorf("robot %q of another namespace", name)
				}
			}},
		{method: PUT, route: "/api/v1/user/robots/{robot_shortname}", class: clsSignedIn, want: wantUsers(201),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/user/robots/" + x.f.nextName("rb"), body: map[string]any{"description": "ci"}}
			}},
		{method: DELETE, route: "/api/v1/user/robots/{robot_shortname}", class: clsSignedIn, want: wantUsers(204),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/user/robots/" + x.newRobot(x.f.accounts[x.owner()])}
			}},
		{method: POST, route: "/api/v1/user/robots/{robot_shortname}/regenerate", class: clsSignedIn, want: wantUsers(200),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/user/robots/" + x.newRobot(x.f.accounts[x.owner()]) + "/regenerate"}
			},
			ok: wantFreshRobotToken},
		{method: GET, route: "/api/v1/entities/{prefix}", class: clsSignedIn, want: wantUsers(200), build: fixedPath("/api/v1/entities/ali")},

		// Instance administration (Quay's superuser API).
		{method: GET, route: "/api/v1/superuser/users/{$}", class: clsInspect, want: wantInspect, build: fixedPath("/api/v1/superuser/users/"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if list, _ := bodyField(t, r, "users").([]any); len(list) < 3 {
					t.Errorf("users: %s", r.Body)
				}
			}},
		{method: POST, route: "/api/v1/superuser/users/{$}", class: clsAdmin, want: wantAdminister(200),
			build: func(x *accessCellCtx) accessRequest {
				name := x.f.nextName("nu")
				return accessRequest{path: "/api/v1/superuser/users/", body: map[string]any{"username": name, "email": name + "@example.com"}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if pw, _ := bodyField(t, r, "password").(string); len(pw) != 32 {
					t.Errorf("generated password %q", pw)
				}
			}},
		slashRedirectCell(GET, "/api/v1/superuser/users"),
		slashRedirectCell(POST, "/api/v1/superuser/users"),
		{method: GET, route: "/api/v1/superuser/users/{username}", class: clsInspect, want: wantInspect,
			build: fixedPath("/api/v1/superuser/users/alice"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if got := bodyField(t, r, "username"); got != "alice" {
					t.Errorf("username %v", got)
				}
			}},
		{method: PUT, route: "/api/v1/superuser/users/{username}", class: clsAdmin, want: wantAdminister(200),
			build: func(x *accessCellCtx) accessRequest {
				name := x.newUser()
				return accessRequest{path: "/api/v1/superuser/users/" + name, body: map[string]any{"email": name + "-new@example.com"}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				name := strings.TrimPrefix(rq.path, "/api/v1/superuser/users/")
				if got := bodyField(t, r, "email"); got != name+"-new@example.com" {
					t.Errorf("email %v after the change", got)
				}
			}},
		{method: DELETE, route: "/api/v1/superuser/users/{username}", class: clsAdmin, want: wantAdminister(204),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/superuser/users/" + x.newUser()}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				x.gone(strings.TrimPrefix(rq.path, "/api/v1/superuser/users/"))
			}},
		{method: GET, route: "/api/v1/superuser/organizations/{$}", class: clsInspect, want: wantInspect,
			build: fixedPath("/api/v1/superuser/organizations/"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if _, isList := bodyField(t, r, "organizations").([]any); !isList {
					t.Errorf("organizations: %s", r.Body)
				}
			}},
		slashRedirectCell(GET, "/api/v1/superuser/organizations"),
		{method: PUT, route: "/api/v1/superuser/organizations/{name}", class: clsAdmin, want: wantAdminister(200),
			build: func(x *accessCellCtx) accessRequest {
				org := x.newOrg("alice")
				return accessRequest{path: "/api/v1/superuser/organizations/" + org.Name, body: map[string]any{"email": org.Name + "@example.com"}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				name := strings.TrimPrefix(rq.path, "/api/v1/superuser/organizations/")
				if got := bodyField(t, r, "email"); got != name+"@example.com" {
					t.Errorf("email %v after the change", got)
				}
			}},
		{method: DELETE, route: "/api/v1/superuser/organizations/{name}", class: clsAdmin, want: wantAdminister(204),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/superuser/organizations/" + x.newOrg("alice").Name}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				x.gone(strings.TrimPrefix(rq.path, "/api/v1/superuser/organizations/"))
			}},
		{method: POST, route: "/api/v1/superuser/takeownership/{namespace}", class: clsAdmin, want: wantAdminister(200),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/superuser/takeownership/" + x.newOrg("alice").Name}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				name := strings.TrimPrefix(rq.path, "/api/v1/superuser/takeownership/")
				if got := bodyField(t, r, "namespace"); got != name {
					t.Errorf("namespace %v, want %s", got, name)
				}
			}},
		{method: GET, route: "/api/v1/superuser/logs", class: clsInspect, want: wantInspect, build: fixedPath("/api/v1/superuser/logs"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if _, isList := bodyField(t, r, "logs").([]any); !isList {
					t.Errorf("logs: %s", r.Body)
				}
			}},
		{method: GET, route: "/api/v1/superuser/aggregatelogs", class: clsInspect, want: wantInspect, build: fixedPath("/api/v1/superuser/aggregatelogs")},
		// FEATURE_SUPERUSER_CONFIGDUMP defaults to true in wharf.
		{method: GET, route: "/api/v1/superuser/config", class: clsInspect, want: wantInspect, build: fixedPath("/api/v1/superuser/config")},

		{method: GET, route: "/api/v1/error/{error_type}", class: clsOpen, want: wantAll(200), build: fixedPath("/api/v1/error/invalid_token"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if got := bodyField(t, r, "title"); got != "invalid_token" {
					t.Errorf("title %v", got)
				}
			}},
		{method: GET, route: "/api/v1/discovery", class: clsOpen, want: wantAll(200), build: fixedPath("/api/v1/discovery"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if got := bodyField(t, r, "swagger"); got != "2.0" {
					t.Errorf("swagger %v", got)
				}
			}},
	}
}

// checkRouteCoverage reads routes.go and fails unless the matrix has exactly one
// entry for every method of every route it registers, and a redirect entry
// for every method of every slash-redirected route.
func checkRouteCoverage(t *testing.T, eps []accessEndpoint) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "routes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	var redirects []string
	// Paths are string literals, concatenations, variables ranging over a
	// literal list of strings, and fields ranging over a literal table of
	// structs whose first field is the path (robots.base).
	bound := map[string][]string{}
	var paths func(e ast.Expr) ([]string, bool)
	paths = func(e ast.Expr) ([]string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(e.Value)
			return []string{s}, err == nil
		case *ast.Ident:
			v, ok := bound[e.Name]
			return v, ok
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok {
				v, ok := bound[x.Name+"."+e.Sel.Name]
				return v, ok
			}
		case *ast.BinaryExpr:
			l, okL := paths(e.X)
			r, okR := paths(e.Y)
			if e.Op != token.ADD || !okL || !okR {
				return nil, false
			}
			var out []string
			for _, a := range l {
				for _, b := range r {
					out = append(out, a+b)
				}
			}
			return out, true
		}
		return nil, false
	}
	ast.Inspect(file, func(n ast.Node) bool {
		if rs, ok := n.(*ast.RangeStmt); ok {
			if v, ok := rs.Value.(*ast.Ident); ok {
				if list, ok := rs.X.(*ast.CompositeLit); ok {
					name := v.Name
					if at, ok := list.Type.(*ast.ArrayType); ok {
						if st, ok := at.Elt.(*ast.StructType); ok {
							name += "." + st.Fields.List[0].Names[0].Name
						}
					}
					for _, elt := range list.Elts {
						if row, ok := elt.(*ast.CompositeLit); ok && len(row.Elts) > 0 {
							elt = row.Elts[0]
						}
						if vals, ok := paths(elt); ok {
							bound[name] = append(bound[name], vals...)
						}
					}
				}
			}
			return true
		}
		// path := "literal" (routes.go's builds prefix).
		if as, ok := n.(*ast.AssignStmt); ok && as.Tok == token.DEFINE && len(as.Lhs) == 1 && len(as.Rhs) == 1 {
			if v, ok := as.Lhs[0].(*ast.Ident); ok {
				if vals, ok := paths(as.Rhs[0]); ok {
					bound[v.Name] = vals
				}
			}
			return true
		}
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "handle" && sel.Sel.Name != "redirectSlash") || len(call.Args) == 0 {
			return true
		}
		ps, ok := paths(call.Args[0])
		if !ok {
			t.Errorf("%s: cannot work out the route path", fset.Position(call.Pos()))
			return true
		}
		if sel.Sel.Name == "redirectSlash" {
			redirects = append(redirects, ps...)
			return true
		}
		methods, ok := call.Args[1].(*ast.CompositeLit)
		if !ok {
			t.Errorf("%s: methods of %v are not a map literal", fset.Position(call.Pos()), ps)
			return true
		}
		for _, elt := range methods.Elts {
			key := elt.(*ast.KeyValueExpr).Key.(*ast.Ident).Name
			for _, path := range ps {
				registered[key+" "+path] = true
			}
		}
		return true
	})
	if len(registered) == 0 {
		t.Fatal("found no routes in routes.go")
	}
	for _, p := range redirects {
		for k := range registered {
			if method, path, _ := strings.Cut(k, " "); path == p+"/{$}" {
				registered[method+" "+p] = true
			}
		}
	}
	tested := map[string]bool{}
	for _, ep := range eps {
		k := ep.method + " " + ep.route
		if tested[k] {
			t.Errorf("%s is in the matrix twice", k)
		}
		tested[k] = true
		if !registered[k] {
			t.Errorf("%s is in the matrix but routes.go does not register it", k)
		}
	}
	var missing []string
	for k := range registered {
		if !tested[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	for _, k := range missing {
		t.Errorf("%s is registered in routes.go but missing from the access matrix", k)
	}
	t.Logf("%d route methods (%d slash redirects) covered", len(registered), len(redirects))
}
