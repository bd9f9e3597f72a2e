package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// raceDuration is how long the sixteen clients push against the
// collector: 45 seconds, or WHARF_TEST_RACE_DURATION (a Go duration, such
// as 5m for the "several minutes"; give go test a -timeout past it).
func raceDuration(t *testing.T) time.Duration {
	v := os.Getenv("WHARF_TEST_RACE_DURATION")
	if v == "" {
		return 45 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("WHARF_TEST_RACE_DURATION=%q: want a positive Go duration such as 5m", v)
	}
	return d
}

// TestCollectorRaceE2E: issue 12's race test. Two wharf processes share
// one PostgreSQL and one S3 bucket behind a balancer, each offering the
// collector every second with no grace, while sixteen clients push images
// that share base layers (monolithic, chunked and mounted blobs), move
// tags, delete manifests and push them again. Every manifest a PUT
// accepted pulls completely right after, every manifest a sampler finds
// pulls completely while it is still there (0 BLOB_UNKNOWN), and wharf
// check is clean at the end.
func TestCollectorRaceE2E(t *testing.T) {
	t.Parallel()
	if os.Getenv("WHARF_TEST_POSTGRES") == "" {
		unavailable(t, "WHARF_TEST_POSTGRES is not set: two processes share PostgreSQL")
	}
	lb := newBalancer(t)
	dbURI := dbtest.URI(t, db.Postgres)
	s := newGCStore(t, "s3", t.TempDir())
	config := filepath.Join(t.TempDir(), "config.yaml")
	yaml := fmt.Sprintf("SERVER_HOSTNAME: %s\nSECRET_KEY: %s\n%sGARBAGE_COLLECTION_FREQUENCY: 1\nBLOB_COLLECTION_GRACE: 0s\n",
		lb.host(), hex.EncodeToString(randomBytes(t, 32)), s.yaml)
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"WHARF_DB_URI=" + dbURI}
	a, b := startWharfAt(t, t.TempDir(), env, "--config", config), startWharfAt(t, t.TempDir(), env, "--config", config)
	lb.set(a, b)
	const user, password, org = "racer", "racer-password-1", "race"
	admin := a.initialize(t, user, password, "racer@example.com")
	expect(t, admin.call("POST", "organization/", map[string]any{"name": org}), okCreate...)

	bases := [][]byte{randomBytes(t, 48<<10), randomBytes(t, 40<<10), randomBytes(t, 32<<10)}
	ctx, stop := context.WithTimeout(context.Background(), raceDuration(t))
	defer stop()
	var pushes, pulls, refused, failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 20 {
			t.Errorf(format, args...)
		}
	}
	const clients = 16
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			reg := newRegistryClient("http://"+lb.host(), user, password)
			repo := fmt.Sprintf("%s/app%d", org, i%8)
			peer := fmt.Sprintf("%s/app%d", org, (i+1)%8)
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for round := 0; ctx.Err() == nil; round++ {
				img := gcImage(t, fmt.Sprintf("c%d-r%d", i, round), bases[rng.IntN(len(bases))])
				if err := pushRaceImage(ctx, reg, repo, peer, img, round%3); err != nil {
					if ctx.Err() == nil {
						fail("client %d round %d: %v", i, round, err)
					}
					continue
				}
				tag := fmt.Sprintf("t%d", rng.IntN(4))
				r, err := reg.exchange(ctx, "PUT", repo, "/v2/"+repo+"/manifests/"+tag, bytes.NewReader(img.manifest),
					int64(len(img.manifest)), map[string]string{"Content-Type": mtOCIManifest})
				switch {
				case err != nil:
					continue // the run ended mid-request
				case r.Status == 400 && strings.Contains(string(r.Body), "MANIFEST_BLOB_UNKNOWN"):
					// Links live for PUSH_TEMP_TAG_EXPIRATION_SEC (an hour)
					// and another client's delete leaves a push's links
					// alone: a refusal is a lost link.
					refused.Add(1)
					fail("client %d: manifest PUT refused: %s", i, r)
					continue
				case r.Status != 201:
					fail("client %d: manifest PUT %s", i, r)
					continue
				}
				pushes.Add(1)
				if problem := pullExact(ctx, reg, repo, img.digest, img); problem != "" && ctx.Err() == nil && stillThere(ctx, reg, repo, img.digest) {
					fail("client %d, right after its push: %s", i, problem)
				}
				pulls.Add(1)
				if rng.IntN(3) == 0 { // delete it again: the layers lose references
					reg.exchange(ctx, "DELETE", repo, "/v2/"+repo+"/manifests/"+img.digest, nil, 0, nil)
				}
			}
		})
	}
	// The sampler pulls whatever the tags point at now.
	wg.Go(func() {
		reg := newRegistryClient("http://"+lb.host(), user, password)
		for ctx.Err() == nil {
			repo := fmt.Sprintf("%s/app%d", org, rand.IntN(8))
			r, err := reg.exchange(ctx, "GET", repo, "/v2/"+repo+"/tags/list", nil, 0, nil)
			if err != nil || r.Status != 200 {
				continue
			}
			var list struct{ Tags []string }
			json.Unmarshal(r.Body, &list)
			for _, tag := range list.Tags {
				m, err := reg.exchange(ctx, "GET", repo, "/v2/"+repo+"/manifests/"+tag, nil, 0, map[string]string{"Accept": manifestAccept})
				if err != nil || m.Status != 200 {
					continue // moved or deleted meanwhile
				}
				img := &image{manifest: m.Body, blobs: map[string][]byte{}, digest: sha256Digest(m.Body)}
				if problem := pullBlobs(ctx, reg, repo, img); problem != "" && ctx.Err() == nil && stillThere(ctx, reg, repo, img.digest) {
					fail("sampler: %s:%s: %s", repo, tag, problem)
				}
				pulls.Add(1)
			}
		}
	})
	wg.Wait()
	t.Logf("%d images pushed, %d pulls checked, %d manifest PUTs refused, %d failures",
		pushes.Load(), pulls.Load(), refused.Load(), failures.Load())
	if pushes.Load() == 0 {
		t.Fatal("no push succeeded")
	}
	sqlDB, err := sql.Open("pgx", dbURI)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	var runs int
	if err := sqlDB.QueryRow(`SELECT runs FROM job_lease WHERE name = 'collect-blobs'`).Scan(&runs); err != nil || runs < 10 {
		t.Errorf("collect-blobs ran %d times (%v), want it looping", runs, err)
	}
	if out := runCLI(t, env, "check", "--data", t.TempDir(), "--config", config); !checkLine.MatchString(out) {
		t.Errorf("wharf check:\n%s", out)
	}
}

// pushRaceImage uploads img's blobs to repo: monolithic (how 0), chunked
// (1) or mounted from peer where it has them (2, falling back to an upload).
func pushRaceImage(ctx context.Context, reg *registryClient, repo, peer string, img *image, how int) error {
	for d, blob := range img.blobs {
		switch how {
		case 0:
			r, err := reg.exchange(ctx, "POST", repo, "/v2/"+repo+"/blobs/uploads/?digest="+d, bytes.NewReader(blob), int64(len(blob)), nil)
			if err != nil {
				return err
			}
			if err := blobCreatedOK(r, d); err != nil {
				return err
			}
		case 1:
			if err := reg.pushBlob(ctx, repo, d, bytes.NewReader(blob), int64(len(blob))); err != nil {
				return err
			}
		default:
			r, err := reg.exchange(ctx, "POST", repo, "/v2/"+repo+"/blobs/uploads/?mount="+d+"&from="+peer, nil, 0, nil)
			if err != nil {
				return err
			}
			if r.Status == 201 {
				continue
			}
			if r.Status != 202 {
				return fmt.Errorf("mount: %s", r)
			}
			loc := r.Header.Get("Location")
			sep := "?"
			if strings.Contains(loc, "?") {
				sep = "&"
			}
			r, err = reg.exchange(ctx, "PUT", repo, loc+sep+"digest="+d, bytes.NewReader(blob), int64(len(blob)), nil)
			if err != nil {
				return err
			}
			if err := blobCreatedOK(r, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// pullBlobs pulls every blob img's manifest references from repo; it
// returns what failed ("" when nothing did).
func pullBlobs(ctx context.Context, reg *registryClient, repo string, img *image) string {
	var m imageManifest
	if err := json.Unmarshal(img.manifest, &m); err != nil {
		return err.Error()
	}
	for _, d := range append([]ociDescriptor{m.Config}, m.Layers...) {
		r, err := reg.exchange(ctx, "GET", repo, "/v2/"+repo+"/blobs/"+d.Digest, nil, 0, nil)
		if err != nil {
			return err.Error()
		}
		if r.Status != 200 || sha256Digest(r.Body) != d.Digest {
			return fmt.Sprintf("blob %s: %s", d.Digest, r)
		}
	}
	return ""
}

// stillThere reports whether repo still has manifest digest: a blob that
// went missing under a manifest that was deleted meanwhile is no loss.
func stillThere(ctx context.Context, reg *registryClient, repo, digest string) bool {
	r, err := reg.exchange(ctx, "HEAD", repo, "/v2/"+repo+"/manifests/"+digest, nil, 0, map[string]string{"Accept": manifestAccept})
	return err == nil && r.Status == 200
}

// TestCollectorKilledMidRun: the process collecting a thousand blobs is
// killed with SIGKILL mid-run and started again: nothing referenced is
// lost, the next runs finish the work (the dead run's lease and dooms
// lapse after a minute and are taken over), and wharf check is clean.
func TestCollectorKilledMidRun(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		for _, kind := range []string{"filesystem", "s3"} {
			t.Run(kind, func(t *testing.T) { collectorKilledMidRun(t, engine, kind) })
		}
	})
}

// collectorKilledMidRun is TestCollectorKilledMidRun on one database and
// one storage driver.
func collectorKilledMidRun(t *testing.T, engine db.Dialect, kind string) {
	const user, password, org = "killer", "killer-password-1", "kill"
	dataDir, env := t.TempDir(), engineEnv(t, engine)
	s := newGCStore(t, kind, dataDir)
	config := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config, []byte(s.yaml+"GARBAGE_COLLECTION_FREQUENCY: 1\nBLOB_COLLECTION_GRACE: 0s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startWharfAt(t, dataDir, env, "--config", config)
	admin := srv.initialize(t, user, password, "killer@example.com")
	expect(t, admin.call("POST", "organization/", map[string]any{"name": org}), okCreate...)
	reg := newRegistryClient(srv.URL, user, password)
	ctx := context.Background()
	kept := gcImage(t, "kept", randomBytes(t, 16<<10))
	if o := pushSmallImage(ctx, reg, org+"/keep", "v1", kept); !o.accepted {
		t.Fatalf("push: %s %v %v", o.step, o.err, o.refused)
	}
	const junk = 1000
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < junk; i += 8 {
				b := []byte(fmt.Sprintf("junk blob %d %d", i, time.Now().UnixNano()))
				r, err := reg.exchange(ctx, "POST", org+"/junk", "/v2/"+org+"/junk/blobs/uploads/?digest="+sha256Digest(b), bytes.NewReader(b), int64(len(b)), nil)
				if err != nil || r.Status != 201 {
					t.Errorf("junk upload: %v %v", r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := len(s.stored(t)); got != junk+len(kept.blobs) {
		t.Fatalf("%d blobs stored, want %d", got, junk+len(kept.blobs))
	}
	expect(t, admin.call("DELETE", "repository/"+org+"/junk", nil), 204)
	deadline := time.Now().Add(30 * time.Second)
	for n := len(s.stored(t)); n > junk+len(kept.blobs)-50; n = len(s.stored(t)) {
		if time.Now().After(deadline) {
			t.Fatalf("the collector did not start within 30 s (%d blobs stored)", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	srv.kill9(t)
	left := len(s.stored(t))
	t.Logf("killed with %d of %d junk blobs left", left-len(kept.blobs), junk)
	srv = startWharfAt(t, dataDir, env, "--config", config)
	want := map[string]bool{}
	for d := range kept.blobs {
		want[d] = true
	}
	// The dead holder's lease and its dooms lapse after a minute each.
	s.waitStoredWithin(t, "after the restart", want, 3*time.Minute)
	reg = newRegistryClient(srv.URL, user, password)
	if problem := pullExact(ctx, reg, org+"/keep", "v1", kept); problem != "" {
		t.Fatal(problem)
	}
	if out := runCLI(t, env, "check", "--data", dataDir, "--config", config); !checkLine.MatchString(out) {
		t.Errorf("wharf check:\n%s", out)
	}
}

// TestAutoPruneE2E: issue 12's auto-prune acceptance. A repository policy
// number_of_tags: 3 on a repository of ten tags leaves the newest three; a
// namespace creation_date policy with a tag pattern prunes only matching
// tags; both are logged as autoprune_tag_delete.
func TestAutoPruneE2E(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		const user, password, org = "pruner", "pruner-password-1", "prune"
		dataDir, env := t.TempDir(), engineEnv(t, engine)
		config := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(config, []byte("FEATURE_AUTO_PRUNE: true\nAUTO_PRUNING_POLL_PERIOD: 1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		srv := startWharfAt(t, dataDir, env, "--config", config)
		admin := srv.initialize(t, user, password, "pruner@example.com")
		expect(t, admin.call("POST", "organization/", map[string]any{"name": org}), okCreate...)
		reg := newRegistryClient(srv.URL, user, password)
		ctx := context.Background()
		base := randomBytes(t, 8<<10)
		for i := range 10 {
			if o := pushSmallImage(ctx, reg, org+"/counted", fmt.Sprintf("v%d", i), gcImage(t, fmt.Sprintf("c%d", i), base)); !o.accepted {
				t.Fatalf("push: %s %v %v", o.step, o.err, o.refused)
			}
			time.Sleep(5 * time.Millisecond) // distinct start times: "newest" is well defined
		}
		for _, tag := range []string{"dev-1", "dev-2", "release-1"} {
			if o := pushSmallImage(ctx, reg, org+"/dated", tag, gcImage(t, tag, base)); !o.accepted {
				t.Fatalf("push: %s %v %v", o.step, o.err, o.refused)
			}
		}
		r := admin.call("POST", "repository/"+org+"/counted/autoprunepolicy/", map[string]any{"method": "number_of_tags", "value": 3})
		expect(t, r, 201)
		r = admin.call("POST", "organization/"+org+"/autoprunepolicy/", map[string]any{"method": "creation_date", "value": "1s", "tagPattern": "^dev-"})
		expect(t, r, 201)
		waitTags(t, admin, org+"/counted", "v7 v8 v9")
		waitTags(t, admin, org+"/dated", "release-1")
		logs := allLogs(t, admin)
		pruned := 0
		for _, l := range logs {
			if l["kind"] == "autoprune_tag_delete" {
				pruned++
			}
		}
		if pruned != 9 {
			t.Errorf("%d autoprune_tag_delete entries, want 9 (7 counted, 2 dated)", pruned)
		}
	})
}

// waitTags waits (up to 30 s) until repo's alive tags are want (sorted, space-separated).
func waitTags(t *testing.T, admin *client, repo, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := admin.call("GET", "repository/"+repo+"/tag/?onlyActiveTags=true", nil)
		expect(t, r, 200)
		var names []string
		for _, tag := range objects(t, r.object(t)["tags"], "tags") {
			names = append(names, fmt.Sprint(tag["name"]))
		}
		slices.Sort(names)
		if got := strings.Join(names, " "); got == want {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("%s: alive tags %q, want %q", repo, got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
