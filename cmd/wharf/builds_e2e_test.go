package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
)

// The build service end to end, as a new user meets it: push a base image,
// upload a context through the filedrop URL, request a build, watch its
// phases and logs, and pull the result with crane.

// ctxEntry is one entry of a hand-made build context archive.
type ctxEntry struct {
	name, body, link string
	typ              byte
}

// contextTar packs entries into a gzip-compressed tar.
func contextTar(t *testing.T, entries ...ctxEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.typ, Linkname: e.link, ModTime: time.Unix(1700000000, 0)}
		if h.Typeflag == 0 {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if h.Typeflag == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, e.body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

// baseImageTar is the layer of the builds' base image: busybox-static as
// /bin/busybox with /bin/sh linked to it (so buildah can RUN), and the
// account files COPY --chown resolves names with.
func baseImageTar(t *testing.T) string {
	t.Helper()
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		unavailable(t, "/bin/busybox is missing (scripts/install-test-tools.sh installs busybox-static)")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
	} {
		h.ModTime = mtime
		tw.WriteHeader(h)
	}
	for name, body := range map[string][]byte{
		"bin/busybox": busybox,
		"etc/passwd":  []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"),
		"etc/group":   []byte("root:x:0:\napp:x:1000:\n"),
	} {
		mode := int64(0o644)
		if name == "bin/busybox" {
			mode = 0o755
		}
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(body)), ModTime: mtime})
		tw.Write(body)
	}
	tw.Close()
	path := filepath.Join(t.TempDir(), "base.tar")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// buildFixture is a server with an organization, a pushed base image and
// an empty target repository.
type buildFixture struct {
	srv   *wharfProc
	admin *client
	host  string
	sb    *sandbox
	crane string
}

const (
	buildUser, buildPassword = "builder", "builder-password-1"
	buildOrg                 = "acme"
)

func newBuildFixture(t *testing.T, dataDir string, env []string) *buildFixture {
	t.Helper()
	crane := clientTool(t, "crane")
	layer := baseImageTar(t)
	srv := startWharfAt(t, dataDir, env)
	f := &buildFixture{srv: srv, crane: crane, host: strings.TrimPrefix(srv.URL, "http://")}
	f.admin = srv.initialize(t, buildUser, buildPassword, "builder@example.com")
	expect(t, f.admin.call("POST", "organization/", map[string]any{"name": buildOrg}), okCreate...)
	expect(t, f.admin.call("POST", "repository", map[string]any{"namespace": buildOrg, "repository": "app",
		"visibility": "private", "description": ""}), okCreate...)
	f.sb = newSandbox(t, f.host, buildPassword)
	f.sb.dockerLogin(t, buildUser, buildPassword)
	f.sb.run(t, "", "", crane, "append", "--insecure", "--oci-empty-base", "-f", layer, "-t", f.host+"/"+buildOrg+"/base:latest")
	return f
}

// upload sends a context through POST /filedrop/ and the URL it returns.
func (f *buildFixture) upload(t *testing.T, archive []byte) string {
	t.Helper()
	r := f.admin.call("POST", "filedrop/", map[string]any{"mimeType": "application/gzip"})
	expect(t, r, 200)
	drop := r.object(t)
	req, _ := http.NewRequest(http.MethodPut, drop["url"].(string), bytes.NewReader(archive))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %s", drop["url"], resp.Status)
	}
	return drop["file_id"].(string)
}

// request asks for a build of acme/app and returns its id.
func (f *buildFixture) request(t *testing.T, body map[string]any) string {
	t.Helper()
	r := f.admin.call("POST", "repository/"+buildOrg+"/app/build/", body)
	expect(t, r, 201)
	v := r.object(t)
	if want := "/api/v1/repository/" + buildOrg + "/app/build/" + v["id"].(string) + "/status"; !strings.HasSuffix(r.Header.Get("Location"), want) {
		t.Errorf("Location %q, want …%s", r.Header.Get("Location"), want)
	}
	return v["id"].(string)
}

// waitPhase polls the build's status until it is in one of phases.
func (f *buildFixture) waitPhase(t *testing.T, id string, timeout time.Duration, phases ...string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last map[string]any
	for time.Now().Before(deadline) {
		r := f.admin.call("GET", "repository/"+buildOrg+"/app/build/"+id+"/status", nil)
		expect(t, r, 200)
		last = r.object(t)
		for _, p := range phases {
			if last["phase"] == p {
				return last
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("build %s not in %v within %v; last status %s\nlogs: %s", id, phases, timeout, js(last),
		f.admin.call("GET", "repository/"+buildOrg+"/app/build/"+id+"/logs", nil).Body)
	return nil
}

// logs returns the build's log entries.
func (f *buildFixture) logs(t *testing.T, id string) []map[string]any {
	t.Helper()
	r := f.admin.call("GET", "repository/"+buildOrg+"/app/build/"+id+"/logs", nil)
	expect(t, r, 200)
	return objects(t, r.object(t)["logs"], "logs")
}

func phasesOf(logs []map[string]any) []string {
	var out []string
	for _, e := range logs {
		if e["type"] == "phase" {
			out = append(out, e["message"].(string))
		}
	}
	return out
}

// craneJSON runs crane and decodes its JSON output.
func (f *buildFixture) craneJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out := f.sb.run(t, "", "", f.crane, append(args, "--insecure")...)
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("crane %v: %v\n%s", args, err, out)
	}
	return v
}

// lastLayerFiles lists the files of ref's last layer with their content.
func (f *buildFixture) lastLayerFiles(t *testing.T, ref string) map[string]string {
	t.Helper()
	m := f.craneJSON(t, "manifest", ref)
	layers := objects(t, m["layers"], "layers")
	digest := layers[len(layers)-1]["digest"].(string)
	repo := ref[:strings.LastIndex(ref, ":")] // host:port/ns/name:tag
	blob := f.sb.run(t, "", "", f.crane, "blob", "--insecure", repo+"@"+digest)
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		files[strings.TrimPrefix(h.Name, "/")] = string(body)
	}
	return files
}

func TestBuildWithBuiltinExecutor(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		f := newBuildFixture(t, t.TempDir(), engineEnv(t, engine))
		dockerfile := "FROM " + buildOrg + "/base\n" +
			"ENV GREETING=hello APP_HOME=/srv/app\n" +
			"LABEL org.example.team=\"build team\" version=1\n" +
			"WORKDIR $APP_HOME\n" +
			"COPY --chown=app:app message.txt ./\n" +
			"ENTRYPOINT [\"/bin/sh\", \"-c\", \"cat message.txt\"]\n"
		id := f.request(t, map[string]any{"file_id": f.upload(t, contextTar(t,
			ctxEntry{name: "Dockerfile", body: dockerfile},
			ctxEntry{name: "message.txt", body: "built by wharf\n"})), "docker_tags": []string{"v1", "latest"}})

		status := f.waitPhase(t, id, 2*time.Minute, "complete", "error", "expired")
		if status["phase"] != "complete" {
			t.Fatalf("build ended %s: %s\nlogs: %s", status["phase"], js(status), js(f.logs(t, id)))
		}
		mustMatch(t, "build view", status, map[string]any{"tags": []any{"v1", "latest"}, "manual_user": buildUser,
			"is_writer": true, "context": "/", "dockerfile_path": "/Dockerfile", "subdirectory": "/Dockerfile", "error": nil,
			"repository": map[string]any{"namespace": buildOrg, "name": "app"}, "trigger": nil, "pull_robot": nil})

		ref := f.host + "/" + buildOrg + "/app:v1"
		cfg := asObject(f.craneJSON(t, "config", ref)["config"])
		env := strings.Join(strings.Fields(js(cfg["Env"])), "")
		for _, want := range []string{"GREETING=hello", "APP_HOME=/srv/app"} {
			if !strings.Contains(env, want) {
				t.Errorf("config Env %s lacks %s", env, want)
			}
		}
		mustMatch(t, "image config", cfg, map[string]any{"Labels": map[string]any{"org.example.team": "build team", "version": "1"},
			"Entrypoint": []any{"/bin/sh", "-c", "cat message.txt"}, "WorkingDir": "/srv/app"})
		files := f.lastLayerFiles(t, ref)
		if files["srv/app/message.txt"] != "built by wharf\n" {
			t.Errorf("the last layer holds %v, want srv/app/message.txt", keysOf(files))
		}
		if got := f.craneJSON(t, "manifest", f.host+"/"+buildOrg+"/app:latest"); js(got) != js(f.craneJSON(t, "manifest", ref)) {
			t.Errorf("tags v1 and latest name different manifests")
		}

		// The log: phases in Quay's order, each Dockerfile step as a command.
		logs := f.logs(t, id)
		if got, want := strings.Join(phasesOf(logs), ","), "waiting,build-scheduled,unpacking,pulling,building,pushing,complete"; got != want {
			t.Errorf("phases %s, want %s", got, want)
		}
		var steps []string
		for _, e := range logs {
			if e["type"] == "command" {
				steps = append(steps, e["message"].(string))
			}
		}
		if len(steps) != 6 || steps[0] != "Step 1/6 : FROM "+buildOrg+"/base" || !strings.HasPrefix(steps[4], "Step 5/6 : COPY") {
			t.Errorf("command entries %q, want the six steps", steps)
		}

		// The superuser views of the same build (spec §2.22–2.24).
		for _, view := range []string{"status", "build"} {
			r := f.admin.call("GET", "superuser/"+id+"/"+view, nil)
			expect(t, r, 200)
			mustMatch(t, "superuser "+view, r.object(t), map[string]any{"id": id, "phase": "complete", "tags": []any{"v1", "latest"}})
		}
		r := f.admin.call("GET", "superuser/"+id+"/logs?start=2", nil)
		expect(t, r, 200)
		if v := r.object(t); !jsonEqual(v["total"], len(logs)) || !jsonEqual(v["start"], 2) || len(objects(t, v["logs"], "logs")) != len(logs)-2 {
			t.Errorf("superuser logs?start=2: %s (total %d)", r.Body, len(logs))
		}
		checkProblem(t, f.admin.call("GET", "superuser/00000000-0000-4000-8000-000000000000/status", nil), 400, "invalid_response", "Unable to locate a build by id")
		expect(t, f.admin.call("GET", "superuser/00000000-0000-4000-8000-000000000000/build", nil), 404)

		// The action log has the request (by the requester) and the outcome
		// (by nobody: the worker).
		actions := allLogs(t, f.admin)
		mustFindLogs(t, actions, []wantLog{{kind: "build_dockerfile", performer: buildUser, namespace: buildOrg, viaToken: true,
			metadata: map[string]any{"build_id": id, "docker_tags": []any{"v1", "latest"}, "repo": "app", "manual_user": buildUser}}})
		if e := findLog(actions, wantLog{kind: "build_success", namespace: buildOrg, metadata: map[string]any{"build_id": id}}); e == nil {
			t.Errorf("no build_success action-log entry for %s", id)
		}

		// .dockerignore keeps files out of COPY.
		id = f.request(t, map[string]any{"file_id": f.upload(t, contextTar(t,
			ctxEntry{name: "Dockerfile", body: "FROM scratch\nCOPY . /ctx/\n"},
			ctxEntry{name: ".dockerignore", body: "secret.txt\n*.log\n"},
			ctxEntry{name: "keep.txt", body: "kept"}, ctxEntry{name: "secret.txt", body: "s3cr3t"},
			ctxEntry{name: "debug.log", body: "noise"})), "docker_tags": []string{"ignored"}})
		if status := f.waitPhase(t, id, time.Minute, "complete", "error"); status["phase"] != "complete" {
			t.Fatalf("the .dockerignore build ended %s: %s", status["phase"], js(status))
		}
		files = f.lastLayerFiles(t, f.host+"/"+buildOrg+"/app:ignored")
		if files["ctx/keep.txt"] != "kept" || files["ctx/secret.txt"] != "" || files["ctx/debug.log"] != "" {
			t.Errorf("COPY . with a .dockerignore copied %v, want keep.txt without secret.txt and debug.log", keysOf(files))
		}

		// RUN needs buildah: the built-in executor says so.
		id = f.request(t, map[string]any{"file_id": f.upload(t, contextTar(t,
			ctxEntry{name: "Dockerfile", body: "FROM " + buildOrg + "/base\nRUN echo hi > /hi.txt\n"}))})
		status = f.waitPhase(t, id, time.Minute, "complete", "error")
		if status["phase"] != "error" || !strings.Contains(js(status["error"]), "BUILD_EXECUTOR: buildah") {
			t.Errorf("a RUN build with the built-in executor: %s, want error naming BUILD_EXECUTOR: buildah", js(status))
		}
	})
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestBuildRefusesUnsafeContext(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	f := newBuildFixture(t, dataDir, nil)
	outside := filepath.Join(dataDir, "builds")
	for _, tc := range []struct {
		name    string
		entries []ctxEntry
		want    string
	}{
		{"parent path", []ctxEntry{{name: "Dockerfile", body: "FROM scratch\n"}, {name: "../evil", body: "x"}}, "escapes"},
		{"symlink out", []ctxEntry{{name: "Dockerfile", body: "FROM scratch\nCOPY passwd /\n"}, {name: "passwd", typ: tar.TypeSymlink, link: "/etc/passwd"}}, "symlink"},
		{"dockerfile outside", nil, "must stay inside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.entries == nil {
				fileID := f.upload(t, contextTar(t, ctxEntry{name: "Dockerfile", body: "FROM scratch\n"}))
				r := f.admin.call("POST", "repository/"+buildOrg+"/app/build/", map[string]any{"file_id": fileID, "dockerfile_path": "/../../etc/Dockerfile"})
				checkProblem(t, r, 400, "invalid_request", tc.want)
				return
			}
			id := f.request(t, map[string]any{"file_id": f.upload(t, contextTar(t, tc.entries...))})
			status := f.waitPhase(t, id, time.Minute, "complete", "error")
			if status["phase"] != "error" || !strings.Contains(js(status["error"]), tc.want) {
				t.Errorf("status %s, want error mentioning %q", js(status), tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dataDir, "evil")); err == nil {
		t.Errorf("a file escaped the build scratch directory into %s", dataDir)
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 0 {
		t.Errorf("build scratch directories left behind: %v", entries)
	}
}

// slowArchive serves a build context slowly the first time it is fetched
// (so a build stays in its unpacking phase), at once afterwards.
type slowArchive struct {
	body    []byte
	fetches atomic.Int32
}

func (s *slowArchive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.fetches.Add(1) == 1 {
		w.Header().Set("Content-Length", "1000000")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Minute):
		}
		return
	}
	w.Write(s.body)
}

// startWorker runs "wharf worker" beside srv, sharing its data directory.
func startWorker(t *testing.T, dataDir string, env []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(e2eBinary, "worker", "--data", dataDir)
	cmd.Env = childEnv(env...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		t.Logf("worker output:\n%s", out.String())
	})
	return cmd
}

func TestBuildCancelAndDeadWorker(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		dataDir := t.TempDir()
		env := append(engineEnv(t, engine), "WHARF_BUILD_WORKERS=0", "WHARF_BUILD_WORKER_LEASE=2s",
			"WHARF_OUTBOUND_ALLOWED_NETWORKS=127.0.0.1/32")
		f := newBuildFixture(t, dataDir, env)
		workerEnv := append(env, "WHARF_BUILD_WORKERS=1", "WHARF_BUILD_REGISTRY_URL="+f.srv.URL)
		archive := contextTar(t, ctxEntry{name: "Dockerfile", body: "FROM " + buildOrg + "/base\nLABEL built=yes\n"})

		// Without the allow-list a loopback archive URL is refused up front.
		checkProblem(t, f.admin.call("POST", "repository/"+buildOrg+"/app/build/", map[string]any{"archive_url": "http://169.254.169.254/latest/meta-data"}),
			400, "invalid_request", "link-local")

		// 1. Cancel a running build: it ends cancelled and no tag moves.
		slow := &slowArchive{body: archive}
		ts := httptest.NewServer(slow)
		defer ts.Close()
		first := startWorker(t, dataDir, workerEnv)
		id := f.request(t, map[string]any{"archive_url": ts.URL + "/ctx.tgz", "docker_tags": []string{"cancelled"}})
		f.waitPhase(t, id, 30*time.Second, "unpacking")
		r := f.admin.call("DELETE", "repository/"+buildOrg+"/app/build/"+id, nil)
		expect(t, r, 201)
		if status := f.waitPhase(t, id, 10*time.Second, "cancelled"); status["phase"] != "cancelled" {
			t.Fatal(status)
		}
		checkProblem(t, f.admin.call("DELETE", "repository/"+buildOrg+"/app/build/"+id, nil), 400, "invalid_request", "running or has finished")
		time.Sleep(3 * time.Second) // past a lease renewal: the worker has seen the cancel
		if out, err := f.sb.runTool(t, f.crane, "manifest", "--insecure", f.host+"/"+buildOrg+"/app:cancelled"); err == nil {
			t.Errorf("the cancelled build's tag exists: %s", out)
		}
		mustFindLogs(t, allLogs(t, f.admin), []wantLog{{kind: "cancel_build", performer: buildUser, namespace: buildOrg, viaToken: true,
			metadata: map[string]any{"build_uuid": id}}})

		// 2. Kill the worker mid-build: the build shows internalerror once
		// its lease lapses, goes back to the queue, and another worker
		// finishes it. The first worker stops first, so that the victim is
		// the one that claims the build.
		first.Process.Signal(syscall.SIGTERM)
		first.Wait()
		slow.fetches.Store(0)
		victim := startWorker(t, dataDir, workerEnv)
		id = f.request(t, map[string]any{"archive_url": ts.URL + "/ctx.tgz", "docker_tags": []string{"retried"}})
		f.waitPhase(t, id, 30*time.Second, "unpacking")
		victim.Process.Kill()
		f.waitPhase(t, id, 10*time.Second, "internalerror", "waiting")
		startWorker(t, dataDir, workerEnv)
		status := f.waitPhase(t, id, time.Minute, "complete", "error", "expired")
		if status["phase"] != "complete" {
			t.Fatalf("the retried build ended %s: %s", status["phase"], js(status))
		}
		cfg := asObject(f.craneJSON(t, "config", f.host+"/"+buildOrg+"/app:retried")["config"])
		mustMatch(t, "retried image", cfg, map[string]any{"Labels": map[string]any{"built": "yes"}})
	})
}

func TestBuildWithBuildah(t *testing.T) {
	t.Parallel()
	clientTool(t, "buildah")
	f := newBuildFixture(t, t.TempDir(), []string{"WHARF_BUILD_EXECUTOR=buildah"})
	// RUN works; it runs without network (the registry itself is out of
	// reach) and without the server's environment.
	probe := "/bin/busybox wget -T 3 -q -O /dev/null http://" + f.host + "/v2/ && echo online > /net.txt || echo offline > /net.txt"
	id := f.request(t, map[string]any{"file_id": f.upload(t, contextTar(t,
		ctxEntry{name: "Dockerfile", body: "FROM " + f.host + "/" + buildOrg + "/base\nRUN echo hi > /hi.txt && env > /env.txt && " + probe + "\n"}))})
	status := f.waitPhase(t, id, 3*time.Minute, "complete", "error", "expired")
	if status["phase"] != "complete" {
		t.Fatalf("buildah build ended %s: %s\nlogs: %s", status["phase"], js(status), js(f.logs(t, id)))
	}
	files := f.lastLayerFiles(t, f.host+"/"+buildOrg+"/app:latest")
	if files["hi.txt"] != "hi\n" {
		t.Errorf("the RUN layer holds %v, want hi.txt = \"hi\\n\"", keysOf(files))
	}
	if files["net.txt"] != "offline\n" {
		t.Errorf("a RUN step reached the registry over the network: net.txt = %q", files["net.txt"])
	}
	if env := files["env.txt"]; env == "" || strings.Contains(env, "WHARF_") || strings.Contains(env, "buildtoken") {
		t.Errorf("a RUN step saw the server's environment or credentials:\n%s", env)
	}

	// ADD of a URL is refused up front: the build has no network.
	id = f.request(t, map[string]any{"file_id": f.upload(t, contextTar(t,
		ctxEntry{name: "Dockerfile", body: "FROM " + buildOrg + "/base\nADD http://169.254.169.254/latest/meta-data /m\n"}))})
	status = f.waitPhase(t, id, time.Minute, "complete", "error")
	if status["phase"] != "error" || !strings.Contains(js(status["error"]), "ADD of a URL is not available") {
		t.Errorf("ADD of a URL with buildah: %s", js(status))
	}
}

func TestBuildCountsAgainstQuota(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t, t.TempDir(), nil)
	// The base image is in; allow 256 KiB more.
	r := f.admin.call("POST", "superuser/organization/"+buildOrg+"/quota", map[string]any{"limit_bytes": 1 << 40})
	expect(t, r, 201)
	used := namespaceUsage(t, f.admin, buildOrg, 1<<40)
	quotas := objects(t, f.admin.call("GET", "superuser/organization/"+buildOrg+"/quota", nil).value(t), "quotas")
	limit := used + 256<<10
	expect(t, f.admin.call("PUT", "superuser/organization/"+buildOrg+"/quota/"+js(quotas[0]["id"]), map[string]any{"limit_bytes": limit}), 200)

	big := string(randomBytes(t, 2<<20))
	id := f.request(t, map[string]any{"file_id": f.upload(t, contextTar(t,
		ctxEntry{name: "Dockerfile", body: "FROM " + buildOrg + "/base\nCOPY big.bin /\n"},
		ctxEntry{name: "big.bin", body: big}))})
	status := f.waitPhase(t, id, time.Minute, "complete", "error")
	if status["phase"] != "error" || !strings.Contains(js(status["error"]), "Quota has been exceeded on namespace "+buildOrg) {
		t.Errorf("a build past the quota: %s, want an error with the registry's quota message", js(status))
	}
	// The refused layer counts nowhere. A small blob the build uploaded
	// before the refusal (its config, when that upload won the race) counts
	// until the collector takes it, as every unreferenced upload does.
	if got := namespaceUsage(t, f.admin, buildOrg, limit); got < used || got-used > 64<<10 {
		t.Errorf("usage after the refused build %d, want %d as before (or up to 64 KiB more for the small blobs it uploaded first)", got, used)
	}
	if out, err := f.sb.runTool(t, f.crane, "manifest", "--insecure", f.host+"/"+buildOrg+"/app:latest"); err == nil {
		t.Errorf("the refused build's tag exists: %s", out)
	}
}
