package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/storage/s3"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// gcStore is where one test server keeps its blobs: the config.yaml
// lines that say so, and a driver over the same place to count them.
type gcStore struct {
	name  string
	yaml  string
	blobs storage.Driver
}

// newGCStore is the filesystem in dataDir (kind "filesystem") or, with
// WHARF_TEST_S3, a fresh prefix of its bucket (kind "s3").
func newGCStore(t *testing.T, kind, dataDir string) gcStore {
	t.Helper()
	if kind == "filesystem" {
		d, err := filesystem.New(mkdir(t, dataDir, "storage"), filesystem.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return gcStore{name: kind, blobs: d}
	}
	raw := os.Getenv("WHARF_TEST_S3")
	if raw == "" {
		unavailable(t, "WHARF_TEST_S3 is not set (WHARF_TEST_S3=$(scripts/test-s3.sh) starts a local S3 server)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("WHARF_TEST_S3: %v", err)
	}
	secret, _ := u.User.Password()
	params := map[string]any{"endpoint_url": u.Scheme + "://" + u.Host, "s3_bucket": strings.Trim(u.Path, "/"),
		"s3_access_key": u.User.Username(), "s3_secret_key": secret, "storage_path": fmt.Sprintf("/gc-%d", time.Now().UnixNano())}
	cfg, err := s3.FromQuayParams("S3Storage", params)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	yaml := "DISTRIBUTED_STORAGE_CONFIG:\n  s3:\n    - S3Storage\n    - " + js(params) + "\nDISTRIBUTED_STORAGE_PREFERENCE: [s3]\n"
	return gcStore{name: kind, yaml: yaml, blobs: d}
}

// stored returns the blobs in storage, digest → size.
func (s gcStore) stored(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := s.blobs.Walk(context.Background(), "blobs", func(fi storage.FileInfo) error {
		parts := strings.Split(fi.Path, "/")
		out[parts[1]+":"+parts[len(parts)-1]] = fi.Size
		return nil
	})
	if err != nil && !wharf.IsCode(err, wharf.NotFound) {
		t.Fatal(err)
	}
	return out
}

// waitStored waits (up to 30 s) until storage holds exactly want's digests.
func (s gcStore) waitStored(t *testing.T, what string, want map[string]bool) {
	t.Helper()
	s.waitStoredWithin(t, what, want, 30*time.Second)
}

// waitStoredWithin is waitStored with another bound.
func (s gcStore) waitStoredWithin(t *testing.T, what string, want map[string]bool, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		got := s.stored(t)
		same := len(got) == len(want)
		for d := range got {
			same = same && want[d]
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			var missing, extra []string
			for d := range want {
				if _, ok := got[d]; !ok {
					missing = append(missing, d)
				}
			}
			for d := range got {
				if !want[d] {
					extra = append(extra, d)
				}
			}
			t.Fatalf("%s: storage holds %d blobs, want %d; %d missing (e.g. %v), %d extra (e.g. %v)",
				what, len(got), len(want), len(missing), missing[:min(3, len(missing))], len(extra), extra[:min(3, len(extra))])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runCLI runs "wharf <args…>" with env and returns its stdout; a failure
// ends the test.
func runCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(e2eBinary, args...)
	cmd.Env = childEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("wharf %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

var checkLine = regexp.MustCompile(`(?m)^checked (\d+) blobs: 0 problems$`)

// gcImage is an image of a config and layers, the first layer shared.
func gcImage(t *testing.T, label string, base []byte) *image {
	t.Helper()
	own := randomBytes(t, 32<<10)
	config, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Labels": map[string]string{"wharf.e2e": label}}, "rootfs": map[string]any{"type": "layers"}})
	img := &image{blobs: map[string][]byte{sha256Digest(config): config, sha256Digest(base): base, sha256Digest(own): own}}
	img.parsed = imageManifest{SchemaVersion: 2, MediaType: mtOCIManifest,
		Config: ociDescriptor{MediaType: mtOCIConfig, Digest: sha256Digest(config), Size: int64(len(config))},
		Layers: []ociDescriptor{
			{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: sha256Digest(base), Size: int64(len(base))},
			{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: sha256Digest(own), Size: int64(len(own))}}}
	img.manifest, _ = json.Marshal(img.parsed)
	img.digest = sha256Digest(img.manifest)
	return img
}

// TestStorageComesBack: issue 12's first and fourth acceptance bullets, on
// both databases and both storage drivers. Three images sharing a base
// layer go into two repositories; deleting one repository removes exactly
// its own blobs from storage, the other image still pulls byte for byte,
// the quota usage and registry size fall, and wharf check is clean. A blob
// uploaded with no manifest is collected after PUSH_TEMP_TAG_EXPIRATION_SEC
// and stops counting. wharf gc --dry-run lists it first.
func TestStorageComesBack(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		for _, kind := range []string{"filesystem", "s3"} {
			t.Run(kind, func(t *testing.T) { storageComesBack(t, engine, kind) })
		}
	})
}

func storageComesBack(t *testing.T, engine db.Dialect, kind string) {
	const user, password, org, limit = "gcadmin", "gcadmin-password-1", "gcorg", int64(1 << 30)
	dataDir := t.TempDir()
	env := engineEnv(t, engine)
	s := newGCStore(t, kind, dataDir)
	config := filepath.Join(t.TempDir(), "config.yaml")
	yaml := s.yaml + "GARBAGE_COLLECTION_FREQUENCY: 1\nBLOB_COLLECTION_GRACE: 0s\nPUSH_TEMP_TAG_EXPIRATION_SEC: 3600\n"
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startWharfAt(t, dataDir, env, "--config", config)
	admin := srv.initialize(t, user, password, "gcadmin@example.com")
	setOrgQuota(t, admin, org, limit)
	reg := newRegistryClient(srv.URL, user, password)
	ctx := context.Background()
	base := randomBytes(t, 64<<10)
	one1, one2, two := gcImage(t, "one-1", base), gcImage(t, "one-2", base), gcImage(t, "two", base)
	for _, p := range []struct {
		repo, tag string
		img       *image
	}{{org + "/one", "v1", one1}, {org + "/one", "v2", one2}, {org + "/two", "v1", two}} {
		if o := pushSmallImage(ctx, reg, p.repo, p.tag, p.img); !o.accepted {
			t.Fatalf("push %s:%s: %s %v %v", p.repo, p.tag, o.step, o.err, o.refused)
		}
	}
	all := map[string]bool{}
	for _, img := range []*image{one1, one2, two} {
		for d := range img.blobs {
			all[d] = true
		}
	}
	s.waitStored(t, "after the pushes", all)
	usageBefore := namespaceUsage(t, admin, org, limit)

	expect(t, admin.call("DELETE", "repository/"+org+"/one", nil), 204)
	kept := map[string]bool{}
	for d := range two.blobs {
		kept[d] = true
	}
	s.waitStored(t, "after deleting "+org+"/one", kept)
	if problem := pullExact(context.Background(), reg, org+"/two", "v1", two); problem != "" {
		t.Fatal(problem)
	}
	var keptBytes int64
	for _, b := range two.blobs {
		keptBytes += int64(len(b))
	}
	if got := namespaceUsage(t, admin, org, limit); got != keptBytes {
		t.Errorf("usage %d after the delete (was %d), want %d: the kept image's blobs", got, usageBefore, keptBytes)
	}
	waitRegistrySize(t, admin, keptBytes)

	// An upload no manifest references counts until it is collected.
	stray := randomBytes(t, 10<<10)
	if err := reg.pushBlob(ctx, org+"/two", sha256Digest(stray), bytes.NewReader(stray), int64(len(stray))); err != nil {
		t.Fatal(err)
	}
	if got := namespaceUsage(t, admin, org, limit); got != keptBytes+int64(len(stray)) {
		t.Errorf("usage with a stray upload %d, want %d", got, keptBytes+int64(len(stray)))
	}
	cli := append(env, "WHARF_FEATURE_GARBAGE_COLLECTION=false")
	args := []string{"--data", dataDir, "--config", config}
	plan := runCLI(t, cli, append([]string{"gc", "--dry-run", "--grace", "0s"}, args...)...)
	if !strings.Contains(plan, "would unlink "+sha256Digest(stray)) || !strings.Contains(plan, fmt.Sprintf("1 unreferenced links (%d bytes)", len(stray))) {
		t.Errorf("dry run does not list the stray upload:\n%s", plan)
	}
	out := runCLI(t, cli, append([]string{"gc", "--grace", "0s"}, args...)...)
	if !strings.Contains(out, "collected 1 blobs ("+fmt.Sprint(len(stray))+" bytes); unlinked 1 unreferenced links") {
		t.Errorf("wharf gc --grace 0s:\n%s", out)
	}
	s.waitStored(t, "after wharf gc", kept)
	if got := namespaceUsage(t, admin, org, limit); got != keptBytes {
		t.Errorf("usage after the stray upload was collected %d, want %d", got, keptBytes)
	}
	if check := runCLI(t, env, append([]string{"check"}, args...)...); !checkLine.MatchString(check) {
		t.Errorf("wharf check:\n%s", check)
	}
}

// pullExact pulls repo:ref and its blobs and compares them with img byte
// for byte; it returns what differs ("" when nothing does).
func pullExact(ctx context.Context, reg *registryClient, repo, ref string, img *image) string {
	r, err := reg.exchange(ctx, "GET", repo, "/v2/"+repo+"/manifests/"+ref, nil, 0, map[string]string{"Accept": manifestAccept})
	if err != nil {
		return err.Error()
	}
	if r.Status != 200 || !bytes.Equal(r.Body, img.manifest) {
		return fmt.Sprintf("pull %s:%s: %s, want the pushed manifest", repo, ref, r)
	}
	for d, want := range img.blobs {
		r, err := reg.exchange(ctx, "GET", repo, "/v2/"+repo+"/blobs/"+d, nil, 0, nil)
		if err != nil {
			return err.Error()
		}
		if r.Status != 200 || !bytes.Equal(r.Body, want) {
			return fmt.Sprintf("pull %s:%s blob %s: %d (%d bytes), want 200 with the pushed %d bytes", repo, ref, d, r.Status, len(r.Body), len(want))
		}
	}
	return ""
}

func mkdir(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(parts...)
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitRegistrySize asks for a registry size calculation until it reports
// want bytes (the collector queues one after reclaiming).
func waitRegistrySize(t *testing.T, admin *client, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := admin.call("GET", "superuser/registrysize/", nil)
		expect(t, r, 200)
		if jsonEqual(r.object(t)["size_bytes"], want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry size %s, want %d", r, want)
		}
		admin.call("POST", "superuser/registrysize/", map[string]any{})
		time.Sleep(200 * time.Millisecond)
	}
}
