package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Image builds and their uploads in the access matrix (TestAccessMatrix):
// spec §1.11 rows 22–24 for the superuser views, Quay's build.py rules for
// the repository endpoints (read: list, get, status; write: request, logs;
// admin: cancel), with wharf's order authentication → permission →
// validation. Global read-only superusers read every repository's builds
// and logs (Quay's allow_for_global_readonly_superuser), never write.

var uuidForm = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// testBuildMaxBytes is the build service's upload limit in the harness.
const testBuildMaxBytes = 1 << 20

// testURLPolicy stands in for package outbound: it refuses the metadata
// address and loopback hosts as outbound.Policy does, and never fetches.
type testURLPolicy struct{}

func (testURLPolicy) Check(_ context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid Archive URL: %v", err)
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); host == "localhost" || (err == nil && (ip.IsLoopback() || ip.String() == "169.254.169.254")) {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid Archive URL: %s is not an allowed host", host)
	}
	return u, nil
}

func (testURLPolicy) Client(time.Duration) *http.Client { return http.DefaultClient }

// storeUploadedFile records a completed upload by uploader straight in the
// store (its content is never read by the cells that use it).
func storeUploadedFile(t testing.TB, store *db.DB, uploader *wharf.Account) string {
	t.Helper()
	f := &wharf.UserFile{UUID: build.NewUUID(), MimeType: "application/x-tar", UploaderID: uploader.ID}
	f.StorageKey = "userfiles/" + f.UUID
	sum := sha256.Sum256([]byte(f.UUID))
	if err := store.Builds.CreateUserFile(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	if err := store.Builds.CompleteUserFile(t.Context(), f.UUID, f.StorageKey, 10, hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	return f.UUID
}

// storeBuild queues a build of repo from user file fileID straight through
// the store: phase waiting, no worker will ever take it.
func storeBuild(t testing.TB, store *db.DB, repo *wharf.Repository, fileID string) *wharf.Build {
	t.Helper()
	b := &wharf.Build{UUID: build.NewUUID(), Repository: *repo, DisplayName: "abc1234", ResourceKey: fileID,
		Job: wharf.BuildJob{DockerTags: []string{"latest"}, Registry: "wharf.test", BuildSubdir: "/Dockerfile", Context: "/",
			TriggerMetadata: map[string]any{}, IsManual: true},
		RetriesRemaining: 3}
	if err := store.Builds.CreateBuild(t.Context(), b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

// repoOf loads the repository "namespace/name" at the start of path.
func repoOf(t testing.TB, store *db.DB, path string) *wharf.Repository {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(path, "/api/v1/repository/"), "/")
	r, err := store.Registry.RepositoryByName(t.Context(), parts[0], parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// repoBuild is a fresh repository of the cell's target with one queued
// build; it returns the build's path.
func (x *accessCellCtx) repoBuild() string {
	x.t.Helper()
	repo := x.callerRepo()
	b := storeBuild(x.t, x.f.store, repoOf(x.t, x.f.store, "/api/v1/repository/"+repo), storeUploadedFile(x.t, x.f.store, x.f.accounts["admin"]))
	return "/api/v1/repository/" + repo + "/build/" + b.UUID
}

// storedBuild loads the build whose uuid is segment i of path.
func storedBuild(t *testing.T, x *accessCellCtx, path string, i int) *wharf.Build {
	t.Helper()
	b, err := x.f.store.Builds.BuildByUUID(t.Context(), pathSegment(path, i))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkCellBuildView asserts the view of stored build b as the cell's
// caller sees it: is_writer and archive_url only on the caller's own
// repository (anonymous callers read admin's public one; read-only
// superusers read others' as outsiders).
func checkCellBuildView(t *testing.T, x *accessCellCtx, v map[string]any, b *wharf.Build) {
	t.Helper()
	writer := x.target == tgtOwn && x.p.user != ""
	_, hasArchive := v["archive_url"]
	if v["id"] != b.UUID || v["phase"] != wharf.PhaseWaiting || v["is_writer"] != writer || hasArchive != writer ||
		v["resource_key"] != b.ResourceKey || v["display_name"] != b.DisplayName {
		t.Errorf("view %v of build %s (writer %t)", v, b.UUID, writer)
	}
	if repo, _ := v["repository"].(map[string]any); repo["namespace"] != b.Repository.Namespace || repo["name"] != b.Repository.Name {
		t.Errorf("repository %v, want %s/%s", v["repository"], b.Repository.Namespace, b.Repository.Name)
	}
}

// accessBuildRead: builds of somebody else's public repository are readable
// by anyone; a private one does not exist for outsiders, superusers
// included, except for the global read-only superuser.
var accessBuildRead = []accessVariant{
	{suffix: "-other-public-repo", target: tgtOtherPublicRepo, want: http.StatusOK,
		callers: []accessCaller{callerAnonymous, callerNormalToken, callerNormalSession, callerAdminSession, callerAdminTokenSuper}},
	{suffix: "-other-private-repo", target: tgtOtherPrivateRepo, want: http.StatusNotFound,
		callers: []accessCaller{callerAnonymous, callerNormalToken, callerNormalSession, callerAdminSession, callerAdminTokenSuper}},
	{suffix: "-other-private-repo-readonly-superuser", target: tgtOtherPrivateRepo, want: http.StatusOK,
		callers: []accessCaller{callerAuditorToken}},
}

// accessBuildWrite: requesting or cancelling a build of somebody else's
// repository: 403 on a public one (readonly superusers included), 404 on a
// private one, 403 for the read-only superuser who can see it.
var accessBuildWrite = []accessVariant{
	{suffix: "-other-public-repo", target: tgtOtherPublicRepo, want: http.StatusForbidden,
		callers: []accessCaller{callerNormalToken, callerNormalSession, callerAuditorToken, callerAdminSession, callerAdminTokenSuper}},
	{suffix: "-other-private-repo", target: tgtOtherPrivateRepo, want: http.StatusNotFound, callers: accessRepoCallers},
	{suffix: "-other-private-repo-readonly-superuser", target: tgtOtherPrivateRepo, want: http.StatusForbidden,
		callers: []accessCaller{callerAuditorToken}},
}

// anonBuildLogs is what an anonymous caller gets for the logs of a public
// repository's build: no credentials → 401 (README), as Quay's
// require_repo_write answers anonymous callers.
const anonBuildLogs = http.StatusUnauthorized

// accessBuildLogs: logs need write permission on the repository, or being
// the global read-only superuser.
var accessBuildLogs = []accessVariant{
	{suffix: "-other-public-repo", target: tgtOtherPublicRepo, want: http.StatusForbidden, callers: accessRepoCallers},
	{suffix: "-other-public-repo", target: tgtOtherPublicRepo, want: anonBuildLogs, callers: []accessCaller{callerAnonymous}},
	{suffix: "-other-private-repo", target: tgtOtherPrivateRepo, want: http.StatusNotFound,
		callers: []accessCaller{callerAnonymous, callerNormalToken, callerNormalSession, callerAdminSession, callerAdminTokenSuper}},
	{suffix: "-other-private-repo-readonly-superuser", target: tgtOtherPrivateRepo, want: http.StatusOK,
		callers: []accessCaller{callerAuditorToken}},
}

// redirectCellAt is slashRedirectCell for a route with wildcards, requested
// at path.
func redirectCellAt(method, route, path string) accessEndpoint {
	ep := slashRedirectCell(method, path)
	ep.route = route
	return ep
}

func buildAccessMatrix() []accessEndpoint {
	const GET, POST, DELETE = http.MethodGet, http.MethodPost, http.MethodDelete
	const builds = "/api/v1/repository/{namespace}/{repository}/build"
	// Own target: every caller reads its own repository's builds; anonymous
	// callers read admin's public repository.
	readAll := wantAll(http.StatusOK)
	logsWant := wantAll(http.StatusOK)
	logsWant[callerAnonymous] = anonBuildLogs
	checkGet := func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
		checkCellBuildView(t, x, r.JSON(t), storedBuild(t, x, rq.path, 7))
	}
	suViews := []string{"status", "build", "logs"}
	return []accessEndpoint{
		{method: POST, route: "/api/v1/filedrop/{$}", class: clsSignedIn, want: wantUsers(http.StatusOK),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/filedrop/", body: map[string]any{"mimeType": "application/x-tar"}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				id, _ := bodyField(t, r, "file_id").(string)
				u, _ := bodyField(t, r, "url").(string)
				if !uuidForm.MatchString(id) || !strings.HasPrefix(u, x.env.srv.URL+"/userfiles/"+id+"?expires=") {
					t.Fatalf("file_id %q, url %q", id, u)
				}
				f, err := x.f.store.Builds.UserFile(t.Context(), id)
				if err != nil || f.Size != -1 || f.UploaderID != x.f.accounts[x.p.user].ID || f.MimeType != "application/x-tar" {
					t.Errorf("stored file %+v, %v", f, err)
				}
			}},
		slashRedirectCell(POST, "/api/v1/filedrop"),

		{method: GET, route: builds + "/{$}", class: clsRepo, want: readAll, variants: accessBuildRead,
			build: func(x *accessCellCtx) accessRequest {
				p := x.repoBuild()
				storeBuild(x.t, x.f.store, repoOf(x.t, x.f.store, p), storeUploadedFile(x.t, x.f.store, x.f.accounts["admin"]))
				return accessRequest{path: strings.TrimSuffix(p, pathSegment(p, 7))}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				stored, err := x.f.store.Builds.ListBuilds(t.Context(), repoOf(t, x.f.store, rq.path).ID, 100, time.Time{})
				list, _ := bodyField(t, r, "builds").([]any)
				if err != nil || len(stored) != 2 || len(list) != 2 {
					t.Fatalf("builds %s; stored %d (%v)", r.Body, len(stored), err)
				}
				for i, b := range stored { // newest first
					v, _ := list[i].(map[string]any)
					checkCellBuildView(t, x, v, b)
				}
			}},
		{method: POST, route: builds + "/{$}", class: clsRepo, want: wantUsers(http.StatusCreated), variants: accessBuildWrite,
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/repository/" + x.callerRepo() + "/build/",
					body: map[string]any{"file_id": storeUploadedFile(x.t, x.f.store, x.f.accounts["admin"])}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				v := r.JSON(t)
				id, _ := v["id"].(string)
				b, err := x.f.store.Builds.BuildByUUID(t.Context(), id)
				if err != nil || b.Repository.ID != repoOf(t, x.f.store, rq.path).ID || v["manual_user"] != x.p.user {
					t.Fatalf("view %s; stored %+v, %v", r.Body, b, err)
				}
				checkCellBuildView(t, x, v, b)
				if want := x.env.srv.URL + strings.TrimSuffix(rq.path, "/") + "/" + id + "/status"; r.Header.Get("Location") != want {
					t.Errorf("Location %q, want %q", r.Header.Get("Location"), want)
				}
			}},
		redirectCellAt(GET, builds, "/api/v1/repository/acme/app/build"),
		redirectCellAt(POST, builds, "/api/v1/repository/acme/app/build"),

		{method: GET, route: builds + "/{build_uuid}", class: clsRepo, want: readAll, variants: accessBuildRead,
			build: func(x *accessCellCtx) accessRequest { return accessRequest{path: x.repoBuild()} },
			ok:    checkGet},
		{method: DELETE, route: builds + "/{build_uuid}", class: clsRepo, want: wantUsers(http.StatusCreated), variants: accessBuildWrite,
			build: func(x *accessCellCtx) accessRequest { return accessRequest{path: x.repoBuild()} },
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if got := string(bytes.TrimSpace(r.Body)); got != `"Okay"` {
					t.Errorf("body %s, want \"Okay\"", got)
				}
				if b := storedBuild(t, x, rq.path, 7); b.Phase != wharf.PhaseCancelled {
					t.Errorf("phase %s after the cancel", b.Phase)
				}
			}},
		{method: GET, route: builds + "/{build_uuid}/status", class: clsRepo, want: readAll, variants: accessBuildRead,
			build: func(x *accessCellCtx) accessRequest { return accessRequest{path: x.repoBuild() + "/status"} },
			ok:    checkGet},
		{method: GET, route: builds + "/{build_uuid}/logs", class: clsRepo, want: logsWant, variants: accessBuildLogs,
			build: func(x *accessCellCtx) accessRequest { return accessRequest{path: x.repoBuild() + "/logs"} },
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				checkWaitingLog(t, r, 0)
			}},

		// The superuser views (spec §2.22–2.24) of a build in alice's
		// private repository, where superusers have no permission: no
		// archive_url, not a writer (spec §1.9.6). The cells go round the
		// three views.
		{method: GET, route: "/api/v1/superuser/{build_uuid}/{view}", class: clsInspect, want: wantInspect,
			build: func(x *accessCellCtx) accessRequest {
				repo, err := repositories(x.f.store).Create(x.t.Context(), &wharf.Caller{}, x.f.accounts["alice"], x.f.nextName("repo"), wharf.Private, "")
				if err != nil {
					x.t.Fatal(err)
				}
				b := storeBuild(x.t, x.f.store, repo, storeUploadedFile(x.t, x.f.store, x.f.accounts["alice"]))
				return accessRequest{path: "/api/v1/superuser/" + b.UUID + "/" + suViews[x.f.seq%len(suViews)]}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if pathSegment(rq.path, 5) == "logs" {
					checkWaitingLog(t, r, 0)
					return
				}
				v := r.JSON(t)
				b := storedBuild(t, x, rq.path, 4)
				_, hasArchive := v["archive_url"]
				if v["id"] != b.UUID || b.Repository.Namespace != "alice" || v["is_writer"] != false || hasArchive || v["trigger_metadata"] != nil {
					t.Errorf("superuser view %s of %s/%s", r.Body, b.Repository.Namespace, b.Repository.Name)
				}
			}},
		// Spec §3.8: wharf never archives build logs (…/logs serves them
		// whole), so for a superuser every existing build answers 400.
		{method: GET, route: "/api/v1/superuser/{build_uuid}/logs/archive", class: clsInspect, want: wantInspectStatus(http.StatusBadRequest),
			badRequestType: "invalid_response", refusal: "",
			build: func(x *accessCellCtx) accessRequest {
				repo, err := repositories(x.f.store).Create(x.t.Context(), &wharf.Caller{}, x.f.accounts["alice"], x.f.nextName("repo"), wharf.Private, "")
				if err != nil {
					x.t.Fatal(err)
				}
				b := storeBuild(x.t, x.f.store, repo, storeUploadedFile(x.t, x.f.store, x.f.accounts["alice"]))
				return accessRequest{path: "/api/v1/superuser/" + b.UUID + "/logs/archive"}
			}},
	}
}

// wantInspectStatus is wantInspect with status for the callers who pass.
func wantInspectStatus(status int) [nAccessCallers]int {
	w := wantInspect
	for i, s := range w {
		if s == http.StatusOK {
			w[i] = status
		}
	}
	return w
}

// checkWaitingLog asserts the log of a build that only ever waited, from start.
func checkWaitingLog(t *testing.T, r *response, start int) {
	t.Helper()
	want := map[string]any{"start": float64(start), "total": float64(1),
		"logs": []any{map[string]any{"message": "waiting", "type": "phase", "data": map[string]any{}}}}
	if diff := cmp.Diff(want, r.JSON(t)); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
}

// TestBuildTeamRoles: within a private organization repository the team
// grant decides: a team with read reads builds (not as a writer, and not
// the logs), one with write also requests builds and reads logs, only
// administrators cancel. The teams and grants are written with SQL.
func TestBuildTeamRoles(t *testing.T) {
	for _, d := range dbtest.Engines(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := t.Context()
			uri := dbtest.URI(t, d)
			store, err := db.Open(ctx, uri)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			_, driver, dsn, err := db.SQLDriver(uri)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			e := newEnv(t, store, nil)
			adm := e.bootstrap()
			mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
			acme := mustAccount(t, store, "acme")
			repo, err := repositories(store).Create(ctx, &wharf.Caller{}, acme, "app", wharf.Private, "")
			if err != nil {
				t.Fatal(err)
			}
			callers := map[string]*client{}
			for _, role := range []string{"creator", "member"} {
				callers[role] = e.login(role, e.createUser(adm, role))
				var team int64
				if err := raw.QueryRowContext(ctx, `INSERT INTO team (org_id, name, role) VALUES ($1, $2, $3) RETURNING id`,
					acme.ID, role+"s", role).Scan(&team); err != nil {
					t.Fatal(err)
				}
				if _, err := raw.ExecContext(ctx, `INSERT INTO team_member (team_id, account_id) VALUES ($1, $2)`,
					team, mustAccount(t, store, role).ID); err != nil {
					t.Fatal(err)
				}
				// A team role gives nothing on an existing repository: the
				// members read and the creators write through grants.
				grant := map[string]string{"member": "read", "creator": "write"}[role]
				if _, err := raw.ExecContext(ctx, `INSERT INTO repository_permission (repository_id, team_id, role) VALUES ($1, $2, $3)`,
					repo.ID, team, grant); err != nil {
					t.Fatal(err)
				}
			}
			file := storeUploadedFile(t, store, mustAccount(t, store, "admin"))
			b := storeBuild(t, store, repo, file)
			base := "/api/v1/repository/acme/app/build/"
			for _, c := range []struct {
				role, method, path string
				status             int
			}{
				{"member", "GET", base, http.StatusOK},
				{"member", "GET", base + b.UUID, http.StatusOK},
				{"member", "GET", base + b.UUID + "/logs", http.StatusForbidden},
				{"member", "POST", base, http.StatusForbidden},
				{"member", "DELETE", base + b.UUID, http.StatusForbidden},
				{"creator", "GET", base + b.UUID + "/status", http.StatusOK},
				{"creator", "GET", base + b.UUID + "/logs", http.StatusOK},
				{"creator", "POST", base, http.StatusCreated},
				{"creator", "DELETE", base + b.UUID, http.StatusForbidden},
				{"admin", "DELETE", base + b.UUID, http.StatusCreated},
			} {
				t.Run(c.role+" "+c.method+" "+strings.Replace(c.path, b.UUID, "{build_uuid}", 1), func(t *testing.T) {
					who := callers[c.role]
					if c.role == "admin" {
						who = adm
					}
					var body any
					if c.method == "POST" {
						body = map[string]any{"file_id": file}
					}
					r := who.boundTo(t).do(c.method, c.path, body)
					mustStatus(t, r, c.status)
					if r.Status != http.StatusOK || strings.HasSuffix(c.path, "/logs") {
						return
					}
					v := r.JSON(t)
					if list, ok := v["builds"].([]any); ok && len(list) == 1 {
						v, _ = list[0].(map[string]any)
					}
					_, hasArchive := v["archive_url"]
					if writer := c.role == "creator"; v["id"] != b.UUID || v["is_writer"] != writer || hasArchive != writer {
						t.Errorf("%s sees %v", c.role, v)
					}
				})
			}
		})
	}
}

// TestBuildReadonlySuperuser: the global read-only superuser reads
// alice's private builds and logs, as an outsider (no archive_url, not a
// writer), only with super:user on a token; it writes nothing.
func TestBuildReadonlySuperuser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newBuildFixture(t, store)
		e := f.e
		file := storeUploadedFile(t, store, mustAccount(t, store, "alice"))
		b := storeBuild(t, store, f.app, file)
		logs := buildPath(f.app, b.UUID+"/logs")
		auditor := e.login("auditor", e.createUser(f.admin, "auditor"))
		app := e.createApp(f.admin, "acme")
		withSuper := e.mintToken(auditor, app, "repo:read repo:write super:user user:read")
		noSuper := e.mintToken(auditor, app, "repo:read repo:write user:read")
		for _, c := range []struct {
			name   string
			who    *client
			method string
			path   string
			body   any
			status int
		}{
			{"session list", auditor, "GET", buildPath(f.app, ""), nil, http.StatusOK},
			{"session logs", auditor, "GET", logs, nil, http.StatusOK},
			{"token list", withSuper, "GET", buildPath(f.app, ""), nil, http.StatusOK},
			{"token status", withSuper, "GET", buildPath(f.app, b.UUID+"/status"), nil, http.StatusOK},
			{"token logs", withSuper, "GET", logs, nil, http.StatusOK},
			{"token without super:user list", noSuper, "GET", buildPath(f.app, ""), nil, http.StatusNotFound},
			{"token without super:user logs", noSuper, "GET", logs, nil, http.StatusNotFound},
			{"session request", auditor, "POST", buildPath(f.app, ""), map[string]any{"file_id": file}, http.StatusForbidden},
			{"token cancel", withSuper, "DELETE", buildPath(f.app, b.UUID), nil, http.StatusForbidden},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := buildState(t, store, []*wharf.Repository{f.app}, file)
				r := c.who.boundTo(t).do(c.method, c.path, c.body)
				mustStatus(t, r, c.status)
				if c.status == http.StatusOK && c.path != logs {
					if strings.Contains(string(r.Body), `"archive_url"`) || strings.Contains(string(r.Body), `"is_writer":true`) {
						t.Errorf("the read-only superuser is shown as a writer: %s", r.Body)
					}
				}
				if after := buildState(t, store, []*wharf.Repository{f.app}, file); after != before {
					t.Errorf("changed the store:\n%s", snapshotDiff(before, after))
				}
			})
		}
	})
}
