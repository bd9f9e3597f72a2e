package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestScaleOut: three wharf processes share one PostgreSQL database and one
// S3 bucket, with one SERVER_HOSTNAME — a load balancer in front of them,
// so every token realm and signed URL goes through it — and one SECRET_KEY.
// Each has its own data directory, as on hosts of their own.
//
//  1. An admin change made through one process is seen through the others
//     on the next request.
//  2. An image crane pushes through the first is pulled byte-identical
//     through the second and the third.
//  3. The first is killed with SIGKILL while a chunk of a blob upload is
//     streaming into it; the upload (same id, its first chunk in S3)
//     resumes through the second and is committed through the third.
//  4. By the record on each job's lease row, every hourly or daily job ran
//     once across the three and the others at most once per interval; the
//     registry size a superuser asked for is computed by a survivor once
//     the dead process's lease lapsed; a queued build is run by exactly one
//     process, once.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	if os.Getenv("WHARF_TEST_POSTGRES") == "" {
		unavailable(t, "WHARF_TEST_POSTGRES is not set: processes on several hosts share PostgreSQL, not SQLite")
	}
	lb := newBalancer(t)
	dbURI := dbtest.URI(t, db.Postgres)
	config := filepath.Join(t.TempDir(), "config.yaml")
	yaml := fmt.Sprintf("SERVER_HOSTNAME: %s\nSECRET_KEY: %s\n%s", lb.host(), hex.EncodeToString(randomBytes(t, 32)), s3StorageYAML(t, "scaleout"))
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"WHARF_DB_URI=" + dbURI}
	// The test reads what the processes record: upload claims, job runs.
	sqlDB, err := sql.Open("pgx", dbURI)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	start := time.Now()
	var procs []*wharfProc
	for range 3 {
		procs = append(procs, startWharfAt(t, t.TempDir(), env, "--config", config))
	}
	a, b, c := procs[0], procs[1], procs[2]
	lb.set(a, b, c)
	t.Logf("three processes ready in %v", time.Since(start).Round(time.Millisecond))

	// Each job's first run, at start-up, by whichever process took it
	// first; before any process dies mid-run.
	for _, job := range jobRuns {
		deadline := time.Now().Add(time.Minute)
		for jobRecord(t, sqlDB, job.name).runs == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("job %s has not run within a minute of start-up", job.name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	const user, password = "fleetadmin", "fleetadmin-password-1"
	admin := a.initialize(t, user, password, "fleet@example.com")
	step := time.Now()
	adminChangesEverywhere(t, admin.token, a, b, c)
	t.Logf("1. admin changes seen through every process (%v)", time.Since(step).Round(time.Millisecond))

	step = time.Now()
	pushHerePullThere(t, user, password, a, b, c)
	t.Logf("2. pushed through A, pulled through B and C (%v)", time.Since(step).Round(time.Millisecond))

	step = time.Now()
	resumeAfterKill(t, sqlDB, lb, user, password, a, b, c)
	t.Logf("3. upload resumed after A's SIGKILL (%v)", time.Since(step).Round(time.Millisecond))

	step = time.Now()
	jobsRunOnce(t, sqlDB, admin.token, start, a, b, c)
	t.Logf("4. background jobs and a build ran once across the processes (%v)", time.Since(step).Round(time.Millisecond))
}

// balancer is the load balancer SERVER_HOSTNAME names: it sends each
// request to the next live process in turn, as one with health checks
// would.
type balancer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	backends []*url.URL
	next     int
}

func newBalancer(t *testing.T) *balancer {
	b := &balancer{}
	b.srv = httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(b.pick())
	}})
	t.Cleanup(b.srv.Close)
	return b
}

// host is the balancer's address by name: clients (crane among them)
// refuse a token realm at a loopback IP literal other than the registry's.
func (b *balancer) host() string {
	return "localhost:" + b.srv.URL[strings.LastIndex(b.srv.URL, ":")+1:]
}

// set makes procs the backends.
func (b *balancer) set(procs ...*wharfProc) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = nil
	for _, p := range procs {
		u, _ := url.Parse(p.URL)
		b.backends = append(b.backends, u)
	}
}

func (b *balancer) pick() *url.URL {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.backends[b.next%len(b.backends)]
	b.next++
	return u
}

// adminChangesEverywhere creates an organization through B and disables a
// user through C; A and the others know at once.
func adminChangesEverywhere(t *testing.T, token string, a, b, c *wharfProc) {
	t.Helper()
	expect(t, b.withToken(t, token).call("POST", "organization/", map[string]any{"name": "fleet", "email": "fleet-org@example.com"}), 201)
	for _, p := range []*wharfProc{a, c} {
		expect(t, p.withToken(t, token).call("GET", "organization/fleet", nil), 200)
	}
	r := a.withToken(t, token).call("POST", "superuser/users/", map[string]any{"username": "dev", "email": "dev@example.com"})
	expect(t, r, 200)
	devPassword, _ := r.object(t)["password"].(string)
	if got := b.signinStatus(t, "dev", devPassword); got != 200 {
		t.Fatalf("dev signs in through B: %d, want 200", got)
	}
	expect(t, c.withToken(t, token).call("PUT", "superuser/users/dev", map[string]any{"enabled": false}), 200)
	for _, p := range []*wharfProc{a, b} {
		if got := p.signinStatus(t, "dev", devPassword); got != 403 {
			t.Errorf("dev, disabled through C, signs in through %s: %d, want 403", p.URL, got)
		}
		v := p.withToken(t, token).call("GET", "superuser/users/dev", nil).object(t)
		mustBool(t, "dev through "+p.URL, v, "enabled", false)
	}
}

// pushHerePullThere pushes an image with crane through A and pulls it
// through B and C.
func pushHerePullThere(t *testing.T, user, password string, a, b, c *wharfProc) {
	t.Helper()
	crane := clientTool(t, "crane")
	hosts := map[*wharfProc]string{}
	for _, p := range []*wharfProc{a, b, c} {
		hosts[p] = strings.TrimPrefix(p.URL, "http://")
	}
	sb := newSandbox(t, hosts[a], password)
	auths := map[string]any{}
	for _, h := range hosts {
		auths[h] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	}
	if err := os.WriteFile(sb.path("docker", "config.json"), []byte(js(map[string]any{"auths": auths})), 0o600); err != nil {
		t.Fatal(err)
	}
	img := newTestImage(t, "scaleout")
	writeLayout(t, sb.path("in"), img, "v1")
	sb.run(t, "", "", crane, "push", "--insecure", sb.path("in"), hosts[a]+"/fleet/app:v1")
	for i, p := range []*wharfProc{b, c} {
		out := sb.path("out" + strconv.Itoa(i))
		sb.run(t, "", "", crane, "pull", "--insecure", "--format", "oci", hosts[p]+"/fleet/app:v1", out)
		sameImage(t, "crane pull through "+hosts[p], readLayout(t, "crane pull", out, ""), img, true)
	}
}

// resumeAfterKill streams a blob's second chunk into A and kills A midway;
// the upload goes on through B from where its first chunk ended and is
// committed through C.
func resumeAfterKill(t *testing.T, sqlDB *sql.DB, lb *balancer, user, password string, a, b, c *wharfProc) {
	t.Helper()
	const repo, first, size = "fleet/big", 8 << 20, 24 << 20
	var seed [32]byte
	rand.Read(seed[:])
	data, digest := seededData(seed, size)
	ctx := context.Background()
	viaA := newRegistryClient(a.URL, user, password)
	loc, err := viaA.startUpload(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if loc, err = viaA.patch(ctx, repo, loc, io.LimitReader(data(), first), first); err != nil {
		t.Fatal(err)
	}
	uploadID := loc[strings.LastIndex(loc, "/")+1:]

	// The second chunk stops after 4 MiB; A dies while it waits for more,
	// holding the session's claim.
	rest := data()
	io.CopyN(io.Discard, rest, first)
	body := &pausingReader{src: rest, pauseAt: 4 << 20, paused: make(chan struct{}), release: make(chan struct{})}
	patchDone := make(chan error, 1)
	go func() {
		_, err := viaA.exchange(ctx, "PATCH", repo, loc, body, -1, map[string]string{"Content-Type": "application/octet-stream"})
		patchDone <- err
	}()
	select {
	case <-body.paused:
	case err := <-patchDone:
		t.Fatalf("the second chunk ended before A was killed: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("4 MiB of the second chunk were not sent within 60s")
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var claimed sql.NullInt64
		if err := sqlDB.QueryRow(`SELECT writer_until FROM upload WHERE id = $1`, uploadID).Scan(&claimed); err != nil {
			t.Fatal(err)
		}
		if claimed.Valid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A did not claim the upload for the second chunk within 30s")
		}
	}
	a.kill9(t)
	lb.set(b, c)
	close(body.release)
	if err := <-patchDone; err == nil {
		t.Error("the chunk streaming into A succeeded although A was killed")
	}

	// B knows the session: its id, and the first chunk as what it holds.
	viaB := newRegistryClient(b.URL, user, password)
	r := viaB.mustExchange(t, "GET", repo, loc, nil, 0, nil)
	if r.Status != 204 || r.Header.Get("Range") != fmt.Sprintf("0-%d", first-1) || r.Header.Get("Docker-Upload-UUID") != uploadID {
		t.Fatalf("%s: Range %q Docker-Upload-UUID %q, want 204, 0-%d, %s", r, r.Header.Get("Range"), r.Header.Get("Docker-Upload-UUID"), first-1, uploadID)
	}
	// The dead writer's claim on the session lapses (30 s after its last
	// renewal); until then B lets no second writer in.
	// Empty PATCHes ask without sending the data each time.
	killed := time.Now()
	for {
		r = viaB.mustExchange(t, "PATCH", repo, loc, http.NoBody, 0, map[string]string{"Content-Type": "application/octet-stream"})
		if r.Status == 202 {
			break
		}
		if r.Status != 416 || time.Since(killed) > uploadClaimBound {
			t.Fatalf("%s after %v: want 416 while A's claim lasts (at most %v), then 202", r, time.Since(killed).Round(time.Millisecond), uploadClaimBound)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("B took the upload over %v after A's death", time.Since(killed).Round(time.Millisecond))
	rest = data()
	io.CopyN(io.Discard, rest, first)
	r = viaB.mustExchange(t, "PATCH", repo, r.Header.Get("Location"), rest, size-first, map[string]string{
		"Content-Type": "application/octet-stream", "Content-Range": fmt.Sprintf("%d-%d", first, size-1)})
	if r.Status != 202 {
		t.Fatalf("%s: the rest of the blob through B, want 202", r)
	}
	viaC := newRegistryClient(c.URL, user, password)
	r, err = viaC.finish(ctx, repo, r.Header.Get("Location"), digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := blobCreatedOK(r, digest); err != nil {
		t.Fatal(err)
	}
	resp, err := viaB.do(ctx, "GET", repo, "/v2/"+repo+"/blobs/"+digest, nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); err != nil || resp.StatusCode != 200 || n != size || got != digest {
		t.Errorf("GET the blob through B: %d, %d bytes hashing to %s (%v), want 200, %d bytes, %s", resp.StatusCode, n, got, err, size, digest)
	}
}

// uploadClaimBound is how long a writer that died keeps an upload session
// from other writers, with room for a loaded machine.
const uploadClaimBound = 2 * time.Minute

// jobRuns are the background jobs every process offers to run, with their
// intervals (docs/operations.md, "Background jobs").
var jobRuns = []struct {
	name     string
	interval time.Duration
}{
	{"expire-uploads", time.Hour}, {"action-log-rotation", time.Hour}, {"reconcile-usage", 24 * time.Hour},
	{"expired-sessions", time.Hour}, {"expired-app-tokens", time.Hour}, {"collect-user-files", time.Hour}, {"service-key-gc", time.Hour},
	{"collect-untagged-manifests", time.Minute}, {"registry-size", 10 * time.Second}, {"build-reaper", 15 * time.Second},
	{"collect-blobs", 30 * time.Second}, {"sweep-blobs", 24 * time.Hour}, {"export-action-logs", 10 * time.Second},
}

// jobsRunOnce asks for the registry size and a build through the
// survivors, then reads every job's run record.
func jobsRunOnce(t *testing.T, sqlDB *sql.DB, token string, start time.Time, a, b, c *wharfProc) {
	t.Helper()
	expect(t, b.withToken(t, token).call("POST", "superuser/registrysize/", nil), 201)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		v := c.withToken(t, token).call("GET", "superuser/registrysize/", nil).object(t)
		if v["last_ran"] != nil && v["queued"] == false && v["running"] == false {
			t.Logf("registry size computed after A's death: %s", js(v))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry size was not computed within 2 minutes of the request: %s", js(v))
		}
		time.Sleep(500 * time.Millisecond)
	}
	buildOnce(t, token, b, c)

	elapsed := time.Since(start)
	holders := map[string]string{}
	for _, p := range []*wharfProc{a, b, c} {
		holders["-"+strconv.Itoa(p.cmd.Process.Pid)+"-"] = p.URL
	}
	processOf := func(holder string) string {
		for pid, u := range holders {
			if strings.Contains(holder, pid) {
				return u
			}
		}
		return "an unknown process " + holder
	}
	for _, job := range jobRuns {
		rec := jobRecord(t, sqlDB, job.name)
		// At most once per interval across the three, and a takeover when
		// a holder died; each process on its own schedule would triple it.
		most := int(elapsed/job.interval) + 2
		if job.interval > elapsed {
			most = 1
		}
		t.Logf("job %s (every %v): %d runs in %v, the last by %s", job.name, job.interval, rec.runs, elapsed.Round(time.Second), processOf(rec.holder))
		if rec.runs < 1 || rec.runs > most {
			t.Errorf("job %s ran %d times across three processes in %v, want 1 to %d", job.name, rec.runs, elapsed.Round(time.Second), most)
		}
	}
	if holder := jobRecord(t, sqlDB, "registry-size").holder; processOf(holder) == a.URL {
		t.Errorf("registry-size's lease is held by A, which is dead, after it computed the size")
	}
}

// jobLease is a job's lease row: who holds it, and how often it ran.
type jobLease struct {
	holder string
	runs   int
}

func jobRecord(t *testing.T, sqlDB *sql.DB, name string) jobLease {
	t.Helper()
	var rec jobLease
	err := sqlDB.QueryRow(`SELECT holder, runs FROM job_lease WHERE name = $1`, name).Scan(&rec.holder, &rec.runs)
	if err != nil && err != sql.ErrNoRows {
		t.Fatalf("job %s: %v", name, err)
	}
	return rec
}

// buildOnce uploads a context and asks for a build through C, waits for it
// through B, and checks that exactly one process ran it, once.
func buildOnce(t *testing.T, token string, b, c *wharfProc) {
	t.Helper()
	viaC, viaB := c.withToken(t, token), b.withToken(t, token)
	r := viaC.call("POST", "filedrop/", map[string]any{"mimeType": "application/gzip"})
	expect(t, r, 200)
	drop := r.object(t)
	archive := contextTar(t, ctxEntry{name: "Dockerfile", body: "FROM scratch\nCOPY hello.txt /hello.txt\n"},
		ctxEntry{name: "hello.txt", body: "built by one of three\n"})
	req, _ := http.NewRequest(http.MethodPut, drop["url"].(string), bytes.NewReader(archive))
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %s", drop["url"], resp.Status)
	}
	r = viaC.call("POST", "repository/fleet/app/build/", map[string]any{"file_id": drop["file_id"], "docker_tags": []string{"built"}})
	expect(t, r, 201)
	id := r.object(t)["id"].(string)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		phase := viaB.call("GET", "repository/fleet/app/build/"+id+"/status", nil).object(t)["phase"]
		if phase == "complete" {
			break
		}
		if phase == "error" || phase == "internalerror" || phase == "expired" || time.Now().After(deadline) {
			t.Fatalf("build %s: phase %v; logs: %s", id, phase, viaB.call("GET", "repository/fleet/app/build/"+id+"/logs", nil).Body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	logs := objects(t, viaB.call("GET", "repository/fleet/app/build/"+id+"/logs", nil).object(t)["logs"], "logs")
	phases := phasesOf(logs)
	if n := len(slices.DeleteFunc(slices.Clone(phases), func(p string) bool { return p != "build-scheduled" })); n != 1 {
		t.Errorf("build %s was claimed more than once: phases %v", id, phases)
	}
	var ranIn []string
	for _, p := range []*wharfProc{b, c} {
		if n := strings.Count(p.stderr.String(), `msg="build started" build=`+id); n > 0 {
			ranIn = append(ranIn, fmt.Sprintf("%s (%d times)", p.URL, n))
		}
	}
	if len(ranIn) != 1 || !strings.HasSuffix(ranIn[0], "(1 times)") {
		t.Errorf("build %s started in %v, want exactly one process, once", id, ranIn)
	}
	t.Logf("build %s ran once, in %s", id, strings.Join(ranIn, ", "))
}
