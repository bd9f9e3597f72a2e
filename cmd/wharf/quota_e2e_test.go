package main

// Black-box tests of issue 4's quota acceptance, against the built binary:
//
//   - TestQuotaRefusesPush: an organization with a 10 MiB quota takes a
//     6 MiB image pushed by crane, refuses a second distinct 6 MiB image
//     with a clear message in crane's output, takes it once the first
//     image's manifest is deleted; the usage the API shows is the bytes of
//     the unique blobs stored for the namespace's manifests, and the
//     registry size is the bytes of every blob in storage.
//   - TestConcurrentPushersStayUnderQuota: 16 clients push distinct 1 MiB
//     images into one namespace with a 10 MiB quota at once; the namespace
//     ends at most at its quota, every refusal is the quota error (403
//     DENIED), none is a 5xx, and "wharf check" is clean.
//
// Both run on SQLite and, with WHARF_TEST_POSTGRES, on PostgreSQL.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
)

// quotaMiB is the 10 MiB quota both tests set.
const quotaMiB = 10 << 20

// setOrgQuota creates organization org as the superuser and gives it a
// quota of limit bytes through the superuser endpoint.
func setOrgQuota(t *testing.T, admin *client, org string, limit int64) {
	t.Helper()
	expect(t, admin.call("POST", "organization/", map[string]any{"name": org}), okCreate...)
	r := admin.call("POST", "superuser/organization/"+org+"/quota", map[string]any{"limit_bytes": limit})
	expect(t, r, 201)
	r = admin.call("GET", "superuser/organization/"+org+"/quota", nil)
	expect(t, r, 200)
	quotas := objects(t, r.value(t), "GET superuser/organization/"+org+"/quota")
	if len(quotas) != 1 || !jsonEqual(quotas[0]["limit_bytes"], limit) {
		t.Fatalf("%s: want one quota with limit_bytes %d", r, limit)
	}
}

// namespaceUsage returns the usage the API shows for organization org:
// quota_report.quota_bytes in the superuser organization list (§1.9.3),
// checked against the same field of GET /api/v1/organization/{org} when
// that view carries it.
func namespaceUsage(t *testing.T, admin *client, org string, limit int64) int64 {
	t.Helper()
	r := admin.call("GET", "superuser/organizations/", nil)
	expect(t, r, 200)
	o := findBy(objects(t, r.object(t)["organizations"], "organizations"), "name", org)
	if o == nil {
		t.Fatalf("%s: %s is not listed", r, org)
	}
	report := asObject(o["quota_report"])
	n, ok := report["quota_bytes"].(json.Number)
	usage, err := n.Int64()
	if !ok || err != nil {
		t.Fatalf("superuser/organizations/ %s: quota_report.quota_bytes = %s, want an integer (full: %s)", org, js(report["quota_bytes"]), js(o))
	}
	if !jsonEqual(report["configured_quota"], limit) {
		t.Errorf("superuser/organizations/ %s: quota_report.configured_quota = %s, want %d", org, js(report["configured_quota"]), limit)
	}
	if quotas := objects(t, o["quotas"], org+" quotas"); len(quotas) != 1 || !jsonEqual(quotas[0]["limit_bytes"], limit) {
		t.Errorf("superuser/organizations/ %s: quotas = %s, want one with limit_bytes %d", org, js(o["quotas"]), limit)
	}
	r = admin.call("GET", "organization/"+org, nil)
	expect(t, r, 200)
	if rep, ok := r.object(t)["quota_report"]; ok {
		if !jsonEqual(asObject(rep)["quota_bytes"], usage) {
			t.Errorf("GET organization/%s: quota_report.quota_bytes = %s, the superuser list says %d", org, js(asObject(rep)["quota_bytes"]), usage)
		}
	}
	return usage
}

// quotaImage makes a one-layer OCI image of about payload random bytes
// (the layer is a gzipped tar of one random file), distinct on every call.
func quotaImage(t *testing.T, label string, payload int) *image {
	t.Helper()
	raw, gz := tarLayer(t, map[string][]byte{"wharf/" + label + ".bin": randomBytes(t, payload)})
	img := &image{blobs: map[string][]byte{}, files: map[string]string{}, diffIDs: []string{sha256Digest(raw)}}
	ld := sha256Digest(gz)
	img.blobs[ld] = gz
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
		"config": map[string]any{"Labels": map[string]string{"wharf.e2e": label}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": img.diffIDs},
	})
	cd := sha256Digest(config)
	img.blobs[cd] = config
	img.parsed = imageManifest{SchemaVersion: 2, MediaType: mtOCIManifest,
		Config: ociDescriptor{MediaType: mtOCIConfig, Digest: cd, Size: int64(len(config))},
		Layers: []ociDescriptor{{MediaType: mtOCILayerGzip, Digest: ld, Size: int64(len(gz))}}}
	img.manifest, _ = json.Marshal(img.parsed)
	img.digest = sha256Digest(img.manifest)
	return img
}

// blobBytes is the sum of the sizes of img's config and layers.
func (img *image) blobBytes() int64 {
	n := img.parsed.Config.Size
	for _, l := range img.parsed.Layers {
		n += l.Size
	}
	return n
}

// runTool runs a client in the sandbox and returns its combined output and
// error, without failing the test: for commands expected to fail.
func (s *sandbox) runTool(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = childEnv(s.env...)
	cmd.Dir = s.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("$ %s → %v (%v)", s.redact(filepath.Base(tool)+" "+strings.Join(args, " ")), err, time.Since(start).Round(time.Millisecond))
	return s.redact(out.String()), err
}

// quotaMessage is the numbers of the quota error: "Quota has been exceeded
// on namespace NS: this push adds N bytes to the U bytes in use, and the
// limit is L bytes".
var quotaMessage = regexp.MustCompile(`Quota has been exceeded on namespace (\S+): this push adds (\d+) bytes to the (\d+) bytes in use, and the limit is (\d+) bytes`)

// checkQuotaMessage asserts text holds the quota error for namespace ns
// with the given numbers (any value where want is negative).
func checkQuotaMessage(t *testing.T, what, text, ns string, added, usage, limit int64) {
	t.Helper()
	m := quotaMessage.FindStringSubmatch(text)
	if m == nil {
		t.Errorf("%s: no %q message in:\n%s", what, "Quota has been exceeded on namespace …: this push adds N bytes to the U bytes in use, and the limit is L bytes", text)
		return
	}
	got := []int64{0, 0, 0}
	for i := range got {
		got[i], _ = strconv.ParseInt(m[i+2], 10, 64)
	}
	if m[1] != ns || (added >= 0 && got[0] != added) || (usage >= 0 && got[1] != usage) || (limit >= 0 && got[2] != limit) {
		t.Errorf("%s: %q; want namespace %s, adds %d, in use %d, limit %d (negative: any)", what, m[0], ns, added, usage, limit)
	}
}

// storedBlobBytes returns the size of each committed blob file in storage.
func storedBlobBytes(t *testing.T, dataDir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for name, size := range storedFiles(t, dataDir) {
		if rest, ok := strings.CutPrefix(name, "blobs/"); ok {
			parts := strings.Split(rest, "/")
			if len(parts) == 3 {
				out[parts[0]+":"+parts[2]] = size
			}
		}
	}
	return out
}

// usageInStorage sums, over the unique blobs the images reference, the
// size of each one's file in storage; a blob missing from storage fails.
func usageInStorage(t *testing.T, dataDir string, imgs ...*image) int64 {
	t.Helper()
	stored := storedBlobBytes(t, dataDir)
	seen := map[string]bool{}
	var total int64
	for _, img := range imgs {
		for _, d := range append([]ociDescriptor{img.parsed.Config}, img.parsed.Layers...) {
			if seen[d.Digest] {
				continue
			}
			seen[d.Digest] = true
			size, ok := stored[d.Digest]
			if !ok {
				t.Errorf("storage has no file for %s, which a live manifest references", d.Digest)
			} else if size != d.Size {
				t.Errorf("storage: %s has %d bytes, its descriptor says %d", d.Digest, size, d.Size)
			}
			total += size
		}
	}
	return total
}

// linkedBytes sums the sizes of img's blobs that repo serves: what a push
// of img left linked (and charged) there.
func linkedBytes(t *testing.T, reg *registryClient, repo string, img *image) int64 {
	t.Helper()
	var n int64
	for d, b := range img.blobs {
		if r := reg.mustExchange(t, "HEAD", repo, "/v2/"+repo+"/blobs/"+d, nil, 0, nil); r.Status == 200 {
			n += int64(len(b))
		}
	}
	return n
}

// TestQuotaRefusesPush: acceptance bullet 2 of issue 4, with crane. Bytes
// are judged as they arrive (issue 10): the refusal comes with the upload
// that would pass the limit, and the blobs of the refused push that did
// arrive (its config) stay linked and charged until they are deleted or
// collected.
func TestQuotaRefusesPush(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		crane := clientTool(t, "crane")
		dataDir, env := t.TempDir(), engineEnv(t, engine)
		srv := startWharfAt(t, dataDir, env)
		const user, password, org = "quotaadmin", "quotaadmin-password-1", "acme"
		admin := srv.initialize(t, user, password, "quotaadmin@example.com")
		setOrgQuota(t, admin, org, quotaMiB)
		if got := namespaceUsage(t, admin, org, quotaMiB); got != 0 {
			t.Errorf("usage of the new organization %s = %d, want 0", org, got)
		}

		host := strings.TrimPrefix(srv.URL, "http://")
		sb := newSandbox(t, host, password)
		sb.dockerLogin(t, user, password)
		reg := newRegistryClient(srv.URL, user, password)
		const payload = 6<<20 - 16<<10 // each image ≈ 6 MiB in all
		img1, img2 := quotaImage(t, "one", payload), quotaImage(t, "two", payload)
		t.Logf("image one: %d bytes of blobs, image two: %d", img1.blobBytes(), img2.blobBytes())
		in1, in2 := sb.path("one"), sb.path("two")
		writeLayout(t, in1, img1, "v1")
		writeLayout(t, in2, img2, "v1")
		ref1, ref2 := host+"/"+org+"/one:v1", host+"/"+org+"/two:v1"

		// 1. The first 6 MiB image fits in 10 MiB.
		out := sb.run(t, "", "", crane, "push", "--insecure", in1, ref1)
		if want := host + "/" + org + "/one@" + img1.digest; strings.TrimSpace(string(out)) != want {
			t.Errorf("crane push printed %q, want %q", out, want)
		}
		if got, want := namespaceUsage(t, admin, org, quotaMiB), usageInStorage(t, dataDir, img1); got != want {
			t.Errorf("after the first push the API shows usage %d, the stored blobs of %s's manifests are %d bytes", got, org, want)
		}

		// 2. A second, distinct 6 MiB image would take it to 12 MiB: refused,
		// and crane says why.
		text, err := sb.runTool(t, crane, "push", "--insecure", in2, ref2)
		if err == nil {
			t.Fatalf("crane push of a second 6 MiB image into a 10 MiB quota succeeded; output:\n%s", text)
		}
		t.Logf("crane's output for the refused push:\n%s", text)
		if !strings.Contains(text, "Quota has been exceeded") {
			t.Errorf("crane's output does not say %q:\n%s", "Quota has been exceeded", text)
		}
		if !strings.Contains(text, "DENIED") {
			t.Errorf("crane's output does not carry the OCI code DENIED:\n%s", text)
		}
		checkQuotaMessage(t, "refused crane push", text, org, -1, -1, quotaMiB)
		// The refused manifest is not served; what arrived of the push is
		// what counts besides image one.
		if r := reg.mustExchange(t, "GET", org+"/two", "/v2/"+org+"/two/manifests/"+img2.digest, nil, 0,
			map[string]string{"Accept": manifestAccept}); r.Status != 404 {
			t.Errorf("%s: the refused manifest is served, want 404", r)
		}
		leftover := linkedBytes(t, reg, org+"/two", img2)
		if leftover >= img2.blobBytes() {
			t.Errorf("every blob of the refused image arrived (%d bytes)", leftover)
		}
		if got, want := namespaceUsage(t, admin, org, quotaMiB), usageInStorage(t, dataDir, img1)+leftover; got != want {
			t.Errorf("after the refused push the API shows usage %d, want %d (image one and the %d bytes of image two that arrived)",
				got, want, leftover)
		}

		// 3. Deleting the first image's manifest frees its bytes.
		r := reg.mustExchange(t, "DELETE", org+"/one", "/v2/"+org+"/one/manifests/"+img1.digest, nil, 0, nil)
		if r.Status != 202 {
			t.Fatalf("%s: want 202", r)
		}
		if got := namespaceUsage(t, admin, org, quotaMiB); got != leftover {
			t.Errorf("after deleting the only manifest the API shows usage %d, want %d (what arrived of image two)", got, leftover)
		}

		// 4. Now the second image goes in.
		out = sb.run(t, "", "", crane, "push", "--insecure", in2, ref2)
		if want := host + "/" + org + "/two@" + img2.digest; strings.TrimSpace(string(out)) != want {
			t.Errorf("crane push printed %q, want %q", out, want)
		}
		sameImage(t, "wharf after the second crane push", reg.image(t, org+"/two", "v1"), img2, true)
		if got, want := namespaceUsage(t, admin, org, quotaMiB), usageInStorage(t, dataDir, img2); got != want {
			t.Errorf("after the second push the API shows usage %d, the stored blobs of %s's manifests are %d bytes", got, org, want)
		}

		// 5. The registry size counts every blob in storage once.
		expect(t, admin.call("POST", "superuser/registrysize/", nil), 201)
		deadline := time.Now().Add(45 * time.Second)
		var state map[string]any
		for {
			r := admin.call("GET", "superuser/registrysize/", nil)
			expect(t, r, 200)
			state = r.object(t)
			if state["last_ran"] != nil && state["queued"] == false && state["running"] == false {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the registry size was not computed within 45 s of POST: %s", js(state))
			}
			time.Sleep(500 * time.Millisecond)
		}
		var stored int64
		for _, n := range storedBlobBytes(t, dataDir) {
			stored += n
		}
		if !jsonEqual(state["size_bytes"], stored) {
			t.Errorf("registrysize size_bytes = %s, the blobs in storage are %d bytes: %s", js(state["size_bytes"]), stored, js(state))
		}

		srv.stop(t)
		wharfCheck(t, dataDir, env)
	})
}

// pushOutcome is how one concurrent push ended.
type pushOutcome struct {
	accepted bool
	refused  *response // the 403 that refused it
	step     string    // where it was refused or failed
	err      error     // a transport error or an unexpected answer
}

// pushSmallImage pushes config and layer, then the manifest, with reg;
// each request must answer as the distribution spec says or 403.
func pushSmallImage(ctx context.Context, reg *registryClient, repo, tag string, img *image) pushOutcome {
	refusedOr := func(step string, r *response, want int) (pushOutcome, bool) {
		switch {
		case r.Status == want:
			return pushOutcome{}, false
		case r.Status == 403:
			return pushOutcome{refused: r, step: step}, true
		default:
			return pushOutcome{step: step, err: fmt.Errorf("%s: want %d (or 403 for the quota)", r, want)}, true
		}
	}
	for _, d := range append([]ociDescriptor{img.parsed.Config}, img.parsed.Layers...) {
		blob := img.blobs[d.Digest]
		r, err := reg.exchange(ctx, "POST", repo, "/v2/"+repo+"/blobs/uploads/", nil, 0, nil)
		if err != nil {
			return pushOutcome{step: "upload start", err: err}
		}
		if o, done := refusedOr("upload start", r, 202); done {
			return o
		}
		r, err = reg.exchange(ctx, "PATCH", repo, r.Header.Get("Location"), bytes.NewReader(blob), int64(len(blob)),
			map[string]string{"Content-Type": "application/octet-stream"})
		if err != nil {
			return pushOutcome{step: "upload PATCH", err: err}
		}
		if o, done := refusedOr("upload PATCH", r, 202); done {
			return o
		}
		r, err = reg.finish(ctx, repo, r.Header.Get("Location"), d.Digest)
		if err != nil {
			return pushOutcome{step: "upload PUT", err: err}
		}
		if o, done := refusedOr("upload PUT", r, 201); done {
			return o
		}
	}
	r, err := reg.exchange(ctx, "PUT", repo, "/v2/"+repo+"/manifests/"+tag, bytes.NewReader(img.manifest), int64(len(img.manifest)),
		map[string]string{"Content-Type": mtOCIManifest})
	if err != nil {
		return pushOutcome{step: "manifest PUT", err: err}
	}
	if o, done := refusedOr("manifest PUT", r, 201); done {
		return o
	}
	return pushOutcome{accepted: true}
}

// exactImage makes an OCI image whose config and random layer are exactly
// size bytes together.
func exactImage(t *testing.T, label string, size int) *image {
	t.Helper()
	config, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Labels": map[string]string{"wharf.e2e": label}}, "rootfs": map[string]any{"type": "layers"}})
	layer := randomBytes(t, size-len(config))
	img := &image{blobs: map[string][]byte{sha256Digest(config): config, sha256Digest(layer): layer}}
	img.parsed = imageManifest{SchemaVersion: 2, MediaType: mtOCIManifest,
		Config: ociDescriptor{MediaType: mtOCIConfig, Digest: sha256Digest(config), Size: int64(len(config))},
		Layers: []ociDescriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: sha256Digest(layer), Size: int64(len(layer))}}}
	img.manifest, _ = json.Marshal(img.parsed)
	img.digest = sha256Digest(img.manifest)
	return img
}

// TestConcurrentPushersStayUnderQuota: acceptance bullet 3 of issue 4.
func TestConcurrentPushersStayUnderQuota(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		const pushers, imageBytes = 16, 1 << 20
		const user, password, org, repo = "crowdadmin", "crowdadmin-password-1", "crowd", "crowd/app"
		dataDir, env := t.TempDir(), engineEnv(t, engine)
		srv := startWharfAt(t, dataDir, env)
		admin := srv.initialize(t, user, password, "crowdadmin@example.com")
		setOrgQuota(t, admin, org, quotaMiB)

		// Every pusher is its own client with its own token; all start
		// their first request at the same moment.
		imgs := make([]*image, pushers)
		regs := make([]*registryClient, pushers)
		for i := range pushers {
			imgs[i] = exactImage(t, fmt.Sprintf("pusher-%02d", i), imageBytes)
			regs[i] = newRegistryClient(srv.URL, user, password)
			if _, err := regs[i].token(repo); err != nil {
				t.Fatal(err)
			}
		}
		outcomes := make([]pushOutcome, pushers)
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for i := range pushers {
			wg.Go(func() {
				<-gate
				outcomes[i] = pushSmallImage(context.Background(), regs[i], repo, fmt.Sprintf("p%02d", i), imgs[i])
			})
		}
		start := time.Now()
		close(gate)
		wg.Wait()
		t.Logf("%d concurrent pushes in %v", pushers, time.Since(start).Round(time.Millisecond))

		accepted := 0
		refusedAt := map[string]int{}
		for i, o := range outcomes {
			switch {
			case o.err != nil:
				t.Errorf("pusher %d, %s: %v", i, o.step, o.err)
			case o.accepted:
				accepted++
			default:
				refusedAt[o.step]++
				r := o.refused
				var body struct {
					Errors []struct{ Code, Message string }
				}
				if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Errors) != 1 || body.Errors[0].Code != "DENIED" {
					t.Errorf("pusher %d refused at %s: %s; want 403 with one error of code DENIED", i, o.step, r)
					continue
				}
				added := int64(-1) // at upload start: what the request declares
				if o.step == "manifest PUT" {
					added = imageBytes
				}
				checkQuotaMessage(t, fmt.Sprintf("pusher %d refused at %s", i, o.step), body.Errors[0].Message, org, added, -1, quotaMiB)
			}
		}
		t.Logf("%d pushes accepted, refused: %v", accepted, refusedAt)

		usage := namespaceUsage(t, admin, org, quotaMiB)
		if usage > quotaMiB {
			t.Errorf("the namespace ends at %d bytes, past its %d-byte quota", usage, quotaMiB)
		}
		// What arrived of a refused push (its config, uploaded before its
		// layer was refused) counts too: it is stored.
		reg := newRegistryClient(srv.URL, user, password)
		var leftover int64
		for i, o := range outcomes {
			if !o.accepted {
				leftover += linkedBytes(t, reg, repo, imgs[i])
			}
		}
		if usage != int64(accepted)*imageBytes+leftover {
			t.Errorf("the namespace uses %d bytes after %d accepted pushes of %d bytes each and %d bytes of refused ones",
				usage, accepted, imageBytes, leftover)
		}
		// Every image is exactly 1 MiB, so ten fit, or nine when the
		// leftovers of refused pushes (a few hundred bytes each) take the
		// room of the tenth: fewer means a push that fitted was refused.
		if want := quotaMiB / imageBytes; accepted != want && !(accepted == want-1 && leftover > 0) {
			t.Errorf("%d pushes accepted with %d bytes of leftovers, want %d (the quota holds that many 1 MiB images)", accepted, leftover, want)
		}
		// What the registry serves agrees: the accepted manifests, and
		// nothing of the refused ones.
		var live []*image
		for i, o := range outcomes {
			tag := fmt.Sprintf("p%02d", i)
			r := reg.mustExchange(t, "GET", repo, "/v2/"+repo+"/manifests/"+tag, nil, 0, map[string]string{"Accept": manifestAccept})
			switch {
			case o.accepted && r.Status != 200:
				t.Errorf("%s: an accepted push is not served", r)
			case o.accepted:
				live = append(live, imgs[i])
			case o.err == nil && r.Status != 404:
				t.Errorf("%s: a refused push is served, want 404", r)
			}
		}
		if got := usageInStorage(t, dataDir, live...) + leftover; got != usage {
			t.Errorf("the API shows usage %d, the stored blobs of the live manifests and the leftovers are %d bytes", usage, got)
		}
		srv.stop(t)
		wharfCheck(t, dataDir, env)
	})
}
