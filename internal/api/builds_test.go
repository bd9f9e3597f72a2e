package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// buildFixture: admin (token), alice (session) with private repositories
// alice/app and alice/other and robot alice+ci, organization acme (alice is
// no member) with robot acme+bot, and admin's private repository admin/own.
type buildFixture struct {
	e               *testEnv
	store           *db.DB
	admin, alice    *client
	app, other, own *wharf.Repository
}

func newBuildFixture(t *testing.T, store *db.DB) *buildFixture {
	t.Helper()
	e := newEnv(t, store, nil)
	f := &buildFixture{e: e, store: store, admin: e.bootstrap()}
	alicePw := e.createUser(f.admin, "alice")
	mustStatus(t, f.admin.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
	repos := repositories(store)
	mk := func(ns, name string) *wharf.Repository {
		r, err := repos.Create(t.Context(), &wharf.Caller{}, mustAccount(t, store, ns), name, wharf.Private, "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	f.app, f.other, f.own = mk("alice", "app"), mk("alice", "other"), mk("admin", "own")
	for ns, short := range map[string]string{"alice": "ci", "acme": "bot"} {
		if _, err := repos.CreateRobot(t.Context(), &wharf.Caller{}, mustAccount(t, store, ns), short, ""); err != nil {
			t.Fatal(err)
		}
	}
	f.alice = e.login("alice", alicePw)
	return f
}

// relURL is the path and query of an absolute URL of the test server.
func (f *buildFixture) relURL(t testing.TB, abs string) string {
	t.Helper()
	rel, ok := strings.CutPrefix(abs, f.e.srv.URL)
	if !ok {
		t.Fatalf("URL %q is not on the server %s", abs, f.e.srv.URL)
	}
	return rel
}

// dropFile asks for a filedrop URL as c; it returns the file id and the URL.
func (f *buildFixture) dropFile(t testing.TB, c *client) (id, putURL string) {
	t.Helper()
	r := c.boundTo(t).do("POST", "/api/v1/filedrop/", map[string]any{"mimeType": "application/x-tar"})
	mustStatus(t, r, http.StatusOK)
	m := r.JSON(t)
	id, _ = m["file_id"].(string)
	u, _ := m["url"].(string)
	return id, f.relURL(t, u)
}

// upload drops content as c through the filedrop URL; it returns the file id.
func (f *buildFixture) upload(t testing.TB, c *client, content string) string {
	t.Helper()
	id, u := f.dropFile(t, c)
	mustStatus(t, f.e.anonymous().boundTo(t).do("PUT", u, []byte(content)), http.StatusOK)
	return id
}

// buildPath is the path of repo's builds, plus rest.
func buildPath(repo *wharf.Repository, rest string) string {
	return "/api/v1/repository/" + repo.Namespace + "/" + repo.Name + "/build/" + rest
}

// buildState renders what a refused build request must leave alone:
// snapshot's accounts and action log, every build of repos with its log,
// and the given user files.
func buildState(t testing.TB, store *db.DB, repos []*wharf.Repository, files ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(snapshot(t, store))
	for _, repo := range repos {
		builds, err := store.Builds.ListBuilds(t.Context(), repo.ID, 1000, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, bd := range builds {
			total, logs, err := store.Builds.BuildLogs(t.Context(), bd.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(struct {
				Build *wharf.Build
				Total int
				Logs  []wharf.BuildLogEntry
			}{bd, total, logs})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "build %s\n", raw)
		}
	}
	for _, id := range files {
		uf, err := store.Builds.UserFile(t.Context(), id)
		fmt.Fprintf(&b, "file %s %+v %v\n", id, uf, err)
	}
	return b.String()
}

var rfc2822Date = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d -0000$`)

// checkNewBuildView asserts Quay's build view (§1.9.6) of a build alice
// just requested: want's fields exactly, plus a fresh id, a started date
// in RFC 2822 of the last minute, and archive_url (present for writers).
func checkNewBuildView(t *testing.T, f *buildFixture, v map[string]any, want map[string]any, archiveURL string) {
	t.Helper()
	got := map[string]any{}
	for k, val := range v {
		got[k] = val
	}
	id, _ := got["id"].(string)
	started, _ := got["started"].(string)
	archive, _ := got["archive_url"].(string)
	delete(got, "id")
	delete(got, "started")
	delete(got, "archive_url")
	if !uuidForm.MatchString(id) {
		t.Errorf("id %q", id)
	}
	at, err := time.Parse(time.RFC1123Z, strings.Replace(started, "-0000", "+0000", 1))
	if !rfc2822Date.MatchString(started) || err != nil || time.Since(at) > time.Minute || time.Since(at) < -time.Minute {
		t.Errorf("started %q (%v)", started, err)
	}
	if archiveURL == "" { // an uploaded file: a signed URL of this server
		if !strings.HasPrefix(archive, f.e.srv.URL+"/userfiles/"+fmt.Sprint(want["resource_key"])+"?expires=") {
			t.Errorf("archive_url %q", archive)
		}
	} else if archive != archiveURL {
		t.Errorf("archive_url %q, want %q", archive, archiveURL)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("build view (-want +got):\n%s", diff)
	}
}

// baseView is the view of a build named name that alice requested in
// alice/app from file with the defaults; overrides are applied over it.
func baseView(file, name string, overrides map[string]any) map[string]any {
	v := map[string]any{
		"phase": "waiting", "display_name": name, "status": map[string]any{},
		"subdirectory": "/Dockerfile", "dockerfile_path": "/Dockerfile", "context": "/",
		"tags": []any{"latest"}, "manual_user": "alice", "is_writer": true, "trigger": nil,
		"trigger_metadata": map[string]any{}, "resource_key": file, "pull_robot": nil,
		"repository": map[string]any{"namespace": "alice", "name": "app"}, "error": nil,
	}
	for k, val := range overrides {
		v[k] = val
	}
	return v
}

// TestBuildRequest: POST …/build/ refuses bad requests without writing
// anything, and answers a valid one with Quay's view (§1.9.6), applying
// Quay's dockerfile_path/context rules and logging build_dockerfile.
func TestBuildRequest(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newBuildFixture(t, store)
		const content = "FROM scratch\n"
		sum := sha256.Sum256([]byte(content))
		hexSum := hex.EncodeToString(sum[:])[:7] // Quay names a build after its file
		file := f.upload(t, f.alice, content)
		pending, _ := f.dropFile(t, f.alice) // never uploaded
		// admin's file, built in admin/own: alice may not reuse it.
		foreign := f.upload(t, f.admin, "FROM alpine\n")
		mustStatus(t, f.admin.do("POST", buildPath(f.own, ""), map[string]any{"file_id": foreign}), http.StatusCreated)

		path := buildPath(f.app, "")
		with := func(extra map[string]any) map[string]any {
			body := map[string]any{"file_id": file}
			for k, v := range extra {
				body[k] = v
			}
			return body
		}
		const bad = http.StatusBadRequest
		required := "file_id or archive_url required"
		outside := "must stay inside the build context"
		cases := []badInput{
			{name: "no source", body: map[string]any{"docker_tags": []string{"latest"}}, status: bad, msg: required},
			{name: "empty file_id", body: map[string]any{"file_id": ""}, status: bad, msg: required},
			{name: "empty archive_url", body: map[string]any{"archive_url": ""}, status: bad, msg: required},
			{name: "malformed file_id", body: map[string]any{"file_id": "../../etc/passwd"}, status: bad, msg: "File ../../etc/passwd could not be found or is invalid"},
			{name: "unknown file_id", body: map[string]any{"file_id": "0a1b2c3d-0000-4000-8000-000000000000"}, status: bad, msg: "File 0a1b2c3d-0000-4000-8000-000000000000 could not be found or is invalid"},
			{name: "file not uploaded", body: map[string]any{"file_id": pending}, status: bad, msg: "File " + pending + " could not be found or is invalid"},
			{name: "file built where alice cannot write", body: map[string]any{"file_id": foreign}, status: http.StatusForbidden},
			{name: "tag with space", body: with(map[string]any{"docker_tags": []string{"bad tag"}}), status: bad, contains: `Invalid tag "bad tag"`},
			{name: "tag starting with dot", body: with(map[string]any{"docker_tags": []string{".v1"}}), status: bad, contains: "Invalid tag"},
			{name: "tag starting with dash", body: with(map[string]any{"docker_tags": []string{"-v1"}}), status: bad, contains: "Invalid tag"},
			{name: "tag of 129 characters", body: with(map[string]any{"docker_tags": []string{strings.Repeat("a", 129)}}), status: bad, contains: "Invalid tag"},
			{name: "empty tag", body: with(map[string]any{"docker_tags": []string{"v1", ""}}), status: bad, contains: "Invalid tag"},
			{name: "duplicate tags", body: with(map[string]any{"docker_tags": []string{"v1", "latest", "v1"}}), status: bad, msg: `docker_tags lists "v1" twice`},
			{name: "no tags", body: with(map[string]any{"docker_tags": []string{}}), status: bad, msg: "docker_tags must name at least one tag"},
			{name: "tags not a list", body: with(map[string]any{"docker_tags": "latest"}), status: bad, contains: "'docker_tags'"},
			{name: "dockerfile_path climbing", body: with(map[string]any{"dockerfile_path": "../Dockerfile"}), status: bad, contains: outside},
			{name: "dockerfile_path climbing inside", body: with(map[string]any{"dockerfile_path": "/a/../../Dockerfile"}), status: bad, contains: outside},
			{name: "context climbing", body: with(map[string]any{"context": "/.."}), status: bad, contains: outside},
			{name: "subdirectory climbing", body: with(map[string]any{"subdirectory": "sub/../.."}), status: bad, contains: outside},
			{name: "archive_url ftp", body: map[string]any{"archive_url": "ftp://example.com/ctx.tar.gz"}, status: bad, msg: "Invalid Archive URL: Must be http or https"},
			{name: "archive_url without scheme", body: map[string]any{"archive_url": "example.com/ctx.tar.gz"}, status: bad, msg: "Invalid Archive URL: Must be http or https"},
			{name: "archive_url metadata address", body: map[string]any{"archive_url": "http://169.254.169.254/latest/meta-data"}, status: bad, contains: "169.254.169.254"},
			{name: "archive_url loopback", body: map[string]any{"archive_url": "http://127.0.0.1:1/ctx.tar"}, status: bad, contains: "127.0.0.1"},
			{name: "pull_robot not a robot", body: with(map[string]any{"pull_robot": "alice"}), status: http.StatusForbidden},
			{name: "pull_robot unknown", body: with(map[string]any{"pull_robot": "alice+nosuch"}), status: http.StatusNotFound},
			{name: "pull_robot of another namespace", body: with(map[string]any{"pull_robot": "acme+bot"}), status: http.StatusForbidden},
			{name: "malformed JSON", body: `{"file_id": `, status: bad},
			{name: "no body", body: nil, status: http.StatusUnsupportedMediaType},
		}
		repos := []*wharf.Repository{f.app, f.other, f.own}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := buildState(t, store, repos, file, pending, foreign)
				r := f.alice.boundTo(t).do("POST", path, c.body)
				checkProblem(t, r, c.status, c.msg, c.contains)
				if after := buildState(t, store, repos, file, pending, foreign); after != before {
					t.Errorf("the refused request changed the store:\n%s", snapshotDiff(before, after))
				}
			})
		}

		// Valid requests: Quay's view, and Quay's dockerfile_path/context rules.
		archive := "https://example.com/ctx.tar.gz"
		archiveSum := sha256.Sum224([]byte(archive))
		controls := []struct {
			name       string
			body       map[string]any
			want       map[string]any
			archiveURL string
		}{
			{"defaults", with(nil), baseView(file, hexSum, nil), ""},
			{"subdirectory", with(map[string]any{"subdirectory": "sub"}),
				baseView(file, hexSum, map[string]any{"context": "sub", "subdirectory": "sub/Dockerfile", "dockerfile_path": "sub/Dockerfile"}), ""},
			{"dockerfile_path", with(map[string]any{"dockerfile_path": "/sub/Dockerfile.dev"}),
				baseView(file, hexSum, map[string]any{"context": "/sub", "subdirectory": "/sub/Dockerfile.dev", "dockerfile_path": "/sub/Dockerfile.dev"}), ""},
			{"context and dockerfile_path", with(map[string]any{"context": "/ctx", "dockerfile_path": "/ctx/df/Dockerfile"}),
				baseView(file, hexSum, map[string]any{"context": "/ctx", "subdirectory": "/ctx/df/Dockerfile", "dockerfile_path": "/ctx/df/Dockerfile"}), ""},
			{"empty pull_robot", with(map[string]any{"pull_robot": ""}), baseView(file, hexSum, nil), ""},
			{"archive_url, tags and robot", map[string]any{"archive_url": archive, "docker_tags": []string{"v1", "latest"}, "pull_robot": "alice+ci"},
				baseView("", hex.EncodeToString(archiveSum[:])[:7], map[string]any{"resource_key": nil,
					"tags": []any{"v1", "latest"}, "pull_robot": map[string]any{"name": "alice+ci", "kind": "user", "is_robot": true}}), archive},
		}
		for _, c := range controls {
			t.Run("valid/"+c.name, func(t *testing.T) {
				r := f.alice.boundTo(t).do("POST", path, c.body)
				mustStatus(t, r, http.StatusCreated)
				v := r.JSON(t)
				checkNewBuildView(t, f, v, c.want, c.archiveURL)
				id, _ := v["id"].(string)
				if loc := r.Header.Get("Location"); loc != f.e.srv.URL+buildPath(f.app, id+"/status") {
					t.Errorf("Location %q", loc)
				}
				// The stored build serves the same view.
				g := f.alice.boundTo(t).do("GET", buildPath(f.app, id), nil)
				mustStatus(t, g, http.StatusOK)
				gv := g.JSON(t)
				if _, ok := gv["archive_url"]; !ok {
					t.Errorf("GET shows the writer no archive_url: %s", g.Body)
				}
				delete(gv, "archive_url")
				delete(v, "archive_url") // signed at each call: its expiry may differ
				if diff := cmp.Diff(v, gv); diff != "" {
					t.Errorf("GET differs from the POST answer (-post +get):\n%s", diff)
				}
				// Quay's build_dockerfile action-log entry.
				entries, err := store.Logs.ListLogs(t.Context(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 1})
				if err != nil || len(entries) == 0 {
					t.Fatalf("logs: %v", err)
				}
				e := entries[0]
				raw, _ := json.Marshal(e.Metadata)
				var meta map[string]any
				json.Unmarshal(raw, &meta)
				wantMeta := map[string]any{"build_id": id, "docker_tags": v["tags"], "repo": "app", "namespace": "alice",
					"is_manual": true, "manual_user": "alice"}
				if diff := cmp.Diff(wantMeta, meta); e.Kind != "build_dockerfile" || e.Account.Name != "alice" || e.Performer.Name != "alice" || diff != "" {
					t.Errorf("newest log %s for %s by %s (-want +got):\n%s", e.Kind, e.Account.Name, e.Performer.Name, diff)
				}
			})
		}
	})
}

// TestBuildListAndLogs: the list's limit and since, the logs' start, and
// the superuser views (spec §2.22–2.24) with their unknown-build answers.
func TestBuildListAndLogs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newBuildFixture(t, store)
		file := f.upload(t, f.alice, "FROM scratch\n")
		var ids []string // oldest first
		for range 3 {
			r := f.alice.do("POST", buildPath(f.app, ""), map[string]any{"file_id": file})
			mustStatus(t, r, http.StatusCreated)
			ids = append(ids, r.JSON(t)["id"].(string))
			time.Sleep(2 * time.Millisecond)
		}
		listed := func(t *testing.T, query string) []string {
			t.Helper()
			r := f.alice.boundTo(t).do("GET", buildPath(f.app, query), nil)
			mustStatus(t, r, http.StatusOK)
			var body struct{ Builds []map[string]any }
			if err := json.Unmarshal(r.Body, &body); err != nil || body.Builds == nil {
				t.Fatalf("list %s (%v)", r.Body, err)
			}
			out := []string{}
			for _, b := range body.Builds {
				out = append(out, b["id"].(string))
			}
			return out
		}
		future := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
		for query, want := range map[string][]string{
			"": {ids[2], ids[1], ids[0]}, "?limit=2": {ids[2], ids[1]}, "?limit=1": {ids[2]}, "?limit=100": {ids[2], ids[1], ids[0]},
			"?since=0": {ids[2], ids[1], ids[0]}, "?since=" + future: {}, "?since=" + future + "&limit=1": {},
		} {
			if got := listed(t, query); !cmp.Equal(got, want) {
				t.Errorf("list%s: %v, want %v", query, got, want)
			}
		}
		if r := f.alice.do("GET", buildPath(f.other, ""), nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"builds":[]`) {
			t.Errorf("list of a repository without builds: %d %s", r.Status, r.Body)
		}

		// Logs: the phase entry, then a command and plain output.
		b, err := store.Builds.BuildByUUID(t.Context(), ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Builds.AppendBuildLogs(t.Context(), b.ID, "", wharf.BuildLogEntry{Message: "Step 1/1 : FROM scratch", Type: "command"},
			wharf.BuildLogEntry{Message: "output line"}); err != nil {
			t.Fatal(err)
		}
		phase := map[string]any{"message": "waiting", "type": "phase", "data": map[string]any{}}
		command := map[string]any{"message": "Step 1/1 : FROM scratch", "type": "command", "data": map[string]any{}}
		output := map[string]any{"message": "output line"}
		logs := buildPath(f.app, ids[0]+"/logs")
		suLogs := "/api/v1/superuser/" + ids[0] + "/logs"
		for query, want := range map[string][]any{"": {phase, command, output}, "?start=0": {phase, command, output},
			"?start=1": {command, output}, "?start=2": {output}, "?start=3": {}, "?start=50": {}} {
			start := 0
			if _, v, ok := strings.Cut(query, "="); ok {
				start, _ = strconv.Atoi(v)
			}
			wantBody := map[string]any{"start": float64(start), "total": float64(3), "logs": want}
			for _, c := range []struct {
				who  *client
				path string
			}{{f.alice, logs}, {f.admin, suLogs}} {
				r := c.who.do("GET", c.path+query, nil)
				mustStatus(t, r, http.StatusOK)
				if diff := cmp.Diff(wantBody, r.JSON(t)); diff != "" {
					t.Errorf("%s%s (-want +got):\n%s", c.path, query, diff)
				}
			}
		}

		// The superuser views of alice's private build: admin has no
		// permission on alice/app (spec §1.9.6: no writer, no archive_url).
		status := f.admin.do("GET", "/api/v1/superuser/"+ids[0]+"/status", nil)
		mustStatus(t, status, http.StatusOK)
		sv := status.JSON(t)
		if _, has := sv["archive_url"]; has || sv["is_writer"] != false || sv["trigger_metadata"] != nil || sv["id"] != ids[0] || sv["resource_key"] != file {
			t.Errorf("superuser status view %s", status.Body)
		}
		view := f.admin.do("GET", "/api/v1/superuser/"+ids[0]+"/build", nil)
		mustStatus(t, view, http.StatusOK)
		if diff := cmp.Diff(sv, view.JSON(t)); diff != "" {
			t.Errorf("build view differs from the status view (-status +build):\n%s", diff)
		}

		unknown := build.NewUUID()
		var refused []badInput
		for _, v := range []string{"0", "101", "x", "-1"} {
			refused = append(refused, badInput{path: buildPath(f.app, "?limit="+v), status: http.StatusBadRequest, msg: "limit must be an integer from 1 to 100"})
		}
		for _, v := range []string{"-1", "yesterday", "1.5"} {
			refused = append(refused, badInput{path: buildPath(f.app, "?since="+v), status: http.StatusBadRequest, msg: "since must be a Unix time in seconds"})
			refused = append(refused, badInput{path: logs + "?start=" + v, status: http.StatusBadRequest, contains: "start must be an integer"})
			refused = append(refused, badInput{path: suLogs + "?start=" + v, status: http.StatusBadRequest, contains: "start must be an integer"})
		}
		before := buildState(t, store, []*wharf.Repository{f.app, f.other}, file)
		for _, c := range append(refused, []badInput{
			{path: buildPath(f.app, unknown), status: http.StatusNotFound},
			{path: buildPath(f.app, unknown+"/logs"), status: http.StatusNotFound},
			{path: "/api/v1/repository/alice/nosuch/build/", status: http.StatusNotFound},
			// Spec §2.22–2.24: an unknown build is 400 for status and logs, 404 for build.
			{path: "/api/v1/superuser/" + unknown + "/status", status: http.StatusBadRequest, msg: "Unable to locate a build by id: " + unknown},
			{path: "/api/v1/superuser/" + unknown + "/logs", status: http.StatusBadRequest, msg: "Unable to locate a build by id: " + unknown},
			{path: "/api/v1/superuser/nope/status", status: http.StatusBadRequest, msg: "Unable to locate a build by id: nope"},
			{path: "/api/v1/superuser/" + unknown + "/build", status: http.StatusNotFound},
			// Spec §3.8: logs are never archived (they stay in the database).
			{path: "/api/v1/superuser/" + unknown + "/logs/archive", status: http.StatusBadRequest, msg: "Unable to locate a build by id: " + unknown},
			{path: "/api/v1/superuser/" + ids[0] + "/logs/archive", status: http.StatusBadRequest, msg: "Archived logs not available"},
			{path: "/api/v1/superuser/" + ids[0] + "/archive", status: http.StatusNotFound},
		}...) {
			c.name = c.path
			t.Run(c.name, func(t *testing.T) {
				who := f.alice
				if strings.HasPrefix(c.path, "/api/v1/superuser/") {
					who = f.admin
				}
				checkProblem(t, who.boundTo(t).do("GET", c.path, nil), c.status, c.msg, c.contains)
			})
		}
		if after := buildState(t, store, []*wharf.Repository{f.app, f.other}, file); after != before {
			t.Errorf("refused reads changed the store:\n%s", snapshotDiff(before, after))
		}
	})
}

// TestBuildCancel: Quay's cancel rules — any phase before pushing, once;
// the build must belong to the repository of the path.
func TestBuildCancel(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newBuildFixture(t, store)
		ctx := t.Context()
		file := f.upload(t, f.alice, "FROM scratch\n")
		request := func(repo *wharf.Repository) string {
			t.Helper()
			r := f.alice.do("POST", buildPath(repo, ""), map[string]any{"file_id": file})
			mustStatus(t, r, http.StatusCreated)
			return r.JSON(t)["id"].(string)
		}
		// claim has a worker take the one waiting build, id, to phase.
		claim := func(id, worker, phase string) {
			t.Helper()
			b, err := store.Builds.ClaimBuild(ctx, worker, time.Minute)
			if err != nil || b == nil || b.UUID != id {
				t.Fatalf("claimed %+v, %v; want %s", b, err, id)
			}
			if err := store.Builds.SetBuildPhase(ctx, id, worker, phase); err != nil {
				t.Fatal(err)
			}
		}
		phaseOf := func(id string) string {
			t.Helper()
			r := f.alice.do("GET", buildPath(f.app, id+"/status"), nil)
			mustStatus(t, r, http.StatusOK)
			return r.JSON(t)["phase"].(string)
		}
		cancelled := func(id string) {
			t.Helper()
			r := f.alice.do("DELETE", buildPath(f.app, id), nil)
			mustStatus(t, r, http.StatusCreated)
			if string(r.Body) != "\"Okay\"\n" {
				t.Errorf("body %q", r.Body)
			}
			if p := phaseOf(id); p != wharf.PhaseCancelled {
				t.Errorf("phase %s after the cancel", p)
			}
			r = f.alice.do("GET", buildPath(f.app, id+"/logs?start=1"), nil)
			mustStatus(t, r, http.StatusOK)
			if logs, _ := r.JSON(t)["logs"].([]any); len(logs) == 0 || !cmp.Equal(logs[len(logs)-1],
				map[string]any{"message": "cancelled", "type": "phase", "data": map[string]any{}}) {
				t.Errorf("log after the cancel: %s", r.Body)
			}
			entries, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 1})
			if err != nil || len(entries) == 0 {
				t.Fatalf("logs: %v", err)
			}
			e := entries[0]
			want := map[string]any{"build_uuid": id, "repo": "app", "namespace": "alice"}
			if diff := cmp.Diff(want, e.Metadata); e.Kind != "cancel_build" || e.Account.Name != "alice" || e.Performer.Name != "alice" || diff != "" {
				t.Errorf("newest log %s for %s by %s (-want +got):\n%s", e.Kind, e.Account.Name, e.Performer.Name, diff)
			}
		}

		waiting := request(f.app)
		cancelled(waiting)
		// A running build may still be cancelled; its worker loses it.
		running := request(f.app)
		claim(running, "w1", wharf.PhaseBuilding)
		cancelled(running)
		if err := store.Builds.RenewBuildLease(ctx, running, "w1", time.Minute); !wharf.IsCode(err, wharf.Conflict) {
			t.Errorf("the worker still holds the cancelled build: %v", err)
		}
		pushing := request(f.app)
		claim(pushing, "w2", wharf.PhasePushing)
		foreign := request(f.other)

		const over = "Build is currently running or has finished"
		for _, c := range []badInput{
			{name: "cancelled twice", method: "DELETE", path: buildPath(f.app, waiting), status: http.StatusBadRequest, msg: over},
			{name: "pushing", method: "DELETE", path: buildPath(f.app, pushing), status: http.StatusBadRequest, msg: over},
			{name: "another repository's build", method: "DELETE", path: buildPath(f.app, foreign), status: http.StatusNotFound},
			{name: "get another repository's build", method: "GET", path: buildPath(f.app, foreign), status: http.StatusNotFound},
			{name: "status of another repository's build", method: "GET", path: buildPath(f.app, foreign+"/status"), status: http.StatusNotFound},
			{name: "logs of another repository's build", method: "GET", path: buildPath(f.app, foreign+"/logs"), status: http.StatusNotFound},
			{name: "unknown build", method: "DELETE", path: buildPath(f.app, build.NewUUID()), status: http.StatusNotFound},
			{name: "malformed id", method: "DELETE", path: buildPath(f.app, "nope"), status: http.StatusNotFound},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := buildState(t, store, []*wharf.Repository{f.app, f.other}, file)
				checkProblem(t, f.alice.boundTo(t).do(c.method, c.path, nil), c.status, c.msg, c.contains)
				if after := buildState(t, store, []*wharf.Repository{f.app, f.other}, file); after != before {
					t.Errorf("the refused request changed the store:\n%s", snapshotDiff(before, after))
				}
			})
		}
		if p := phaseOf(pushing); p != wharf.PhasePushing {
			t.Errorf("pushing build in phase %s", p)
		}
	})
}

// TestFileDrop: the filedrop URL (spec: Quay's user files), signed for one
// method, one file and one hour; an upload happens once, within the limit.
// TestSuperuserBuildViewScopes: the superuser views show is_writer and
// archive_url by the caller's permissions clipped by its token's scopes,
// as the repository endpoints do: a super:user token of a writer gets
// neither, an all-scopes token of the same user gets both.
func TestSuperuserBuildViewScopes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newBuildFixture(t, store)
		file := f.upload(t, f.admin, "FROM scratch\n")
		r := f.admin.do("POST", buildPath(f.own, ""), map[string]any{"file_id": file})
		mustStatus(t, r, http.StatusCreated)
		id := r.JSON(t)["id"].(string)
		superOnly := f.e.mintToken(f.e.login("admin", "adminpass1"), f.e.createApp(f.admin, "acme"), string(wharf.SuperUser))
		for _, c := range []struct {
			name   string
			who    *client
			writer bool
		}{{"all scopes", f.admin, true}, {"super:user only", superOnly, false}} {
			for _, view := range []string{"status", "build"} {
				r := c.who.do("GET", "/api/v1/superuser/"+id+"/"+view, nil)
				mustStatus(t, r, http.StatusOK)
				v := r.JSON(t)
				if _, has := v["archive_url"]; has != c.writer || v["is_writer"] != c.writer {
					t.Errorf("%s: superuser %s view %s, want is_writer and archive_url %t", c.name, view, r.Body, c.writer)
				}
			}
		}
	})
}

func TestFileDrop(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newBuildFixture(t, store)
		anon := f.e.anonymous()
		checkProblem(t, f.alice.do("POST", "/api/v1/filedrop/", map[string]any{}), http.StatusBadRequest, "'mimeType' is a required property", "")
		checkProblem(t, f.alice.do("POST", "/api/v1/filedrop/", map[string]any{"mimeType": 5}), http.StatusBadRequest, "", "'mimeType'")

		// sign makes a URL as wharf signs them (HMAC of the method, the file
		// id and the expiry under a key derived from SECRET_KEY).
		sign := func(method, id string, expires int64) string {
			mac := hmac.New(sha256.New, []byte("userfiles:"+f.e.cfg.SecretKey))
			fmt.Fprintf(mac, "%s\n%s\n%d", method, id, expires)
			return fmt.Sprintf("/userfiles/%s?expires=%d&signature=%s", id, expires, hex.EncodeToString(mac.Sum(nil)))
		}
		hour := time.Now().Add(time.Hour).Unix()
		id, put := f.dropFile(t, f.alice)
		other, _ := f.dropFile(t, f.alice)
		u, err := url.Parse(put)
		if err != nil {
			t.Fatal(err)
		}
		sig, expires := u.Query().Get("signature"), u.Query().Get("expires")
		if exp, err := strconv.ParseInt(expires, 10, 64); err != nil || exp < hour-60 || exp > hour+60 || len(sig) != 64 {
			t.Fatalf("URL %s: want an expiry in an hour and a signature", put)
		}
		flip := map[byte]string{'0': "1"}[sig[10]]
		if flip == "" {
			flip = "0"
		}
		notUploaded := func(t *testing.T, ids ...string) {
			t.Helper()
			for _, id := range ids {
				if uf, err := store.Builds.UserFile(t.Context(), id); err != nil || uf.Size != -1 {
					t.Errorf("file %s after a refused upload: %+v, %v", id, uf, err)
				}
			}
		}
		for _, c := range []badInput{
			{name: "tampered signature", path: "/userfiles/" + id + "?expires=" + expires + "&signature=" + sig[:10] + flip + sig[11:], status: http.StatusForbidden},
			{name: "later expiry", path: fmt.Sprintf("/userfiles/%s?expires=%d&signature=%s", id, hour+3600, sig), status: http.StatusForbidden},
			{name: "another file's URL", path: strings.Replace(put, id, other, 1), status: http.StatusForbidden},
			{name: "unsigned", path: "/userfiles/" + id, status: http.StatusForbidden},
			{name: "expired", path: sign("PUT", id, time.Now().Add(-time.Minute).Unix()), status: http.StatusForbidden},
			{name: "signed for GET", path: sign("GET", id, hour), status: http.StatusForbidden},
			{name: "unknown file", path: sign("PUT", build.NewUUID(), hour), status: http.StatusNotFound},
			{name: "malformed file id", path: sign("PUT", "nope", hour), status: http.StatusNotFound},
			{name: "over the limit", path: put, body: strings.Repeat("x", testBuildMaxBytes+1), status: http.StatusRequestEntityTooLarge},
		} {
			t.Run(c.name, func(t *testing.T) {
				body := c.body
				if body == nil {
					body = "FROM scratch\n"
				}
				checkProblem(t, anon.boundTo(t).do("PUT", c.path, body), c.status, c.msg, c.contains)
				notUploaded(t, id, other)
			})
		}

		// The URL wharf gave, after a refused attempt: stores the file once.
		content := strings.Repeat("0123456789abcdef", testBuildMaxBytes/16) // exactly the limit
		mustStatus(t, anon.do("PUT", put, content), http.StatusOK)
		sum := sha256.Sum256([]byte(content))
		if uf, err := store.Builds.UserFile(t.Context(), id); err != nil || uf.Size != int64(len(content)) || uf.SHA256 != hex.EncodeToString(sum[:]) || uf.UploadedAt.IsZero() {
			t.Errorf("stored file %+v, %v", uf, err)
		}
		checkProblem(t, anon.do("PUT", put, "FROM alpine\n"), http.StatusConflict, "", "already uploaded")
		// A URL signed like wharf's works (so the refusals above were about the signature).
		mustStatus(t, anon.do("PUT", sign("PUT", other, hour), "FROM alpine\n"), http.StatusOK)

		// The build view's archive_url serves the file, anonymously, with
		// its type; a forged or cross-method signature does not.
		r := f.alice.do("POST", buildPath(f.app, ""), map[string]any{"file_id": id})
		mustStatus(t, r, http.StatusCreated)
		archive, _ := r.JSON(t)["archive_url"].(string)
		g := anon.do("GET", f.relURL(t, archive), nil)
		mustStatus(t, g, http.StatusOK)
		// Whatever MIME type the uploader named, the file comes back as an
		// opaque attachment the browser will not render.
		if string(g.Body) != content || g.Header.Get("Content-Type") != "application/octet-stream" ||
			g.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(g.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("archive_url served %d bytes with headers %v", len(g.Body), g.Header)
		}
		checkProblem(t, anon.do("GET", sign("PUT", id, hour), nil), http.StatusForbidden, "", "")
		checkProblem(t, anon.do("GET", strings.Replace(f.relURL(t, archive), "signature=", "signature=0", 1), nil), http.StatusForbidden, "", "")
		pending, _ := f.dropFile(t, f.alice)
		checkProblem(t, anon.do("GET", sign("GET", pending, hour), nil), http.StatusNotFound, "", "")
	})
}
