package main

// TestTenancyRegistry is issue 11's registry scenario, with crane against
// the built binary on both databases, with blobs on the filesystem and in
// S3: teams, grants, default permissions, public reads, app tokens and
// repository states decide who pulls and pushes, and taking a membership,
// a grant or an app token away stops a token already issued within the
// revocation bound.

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
)

// tenancyWorld is one wharf with organization acme and the people of the
// scenario, each with a crane sandbox of its own.
type tenancyWorld struct {
	srv    *e2eServer
	admin  *client
	host   string
	crane  string
	layer  string
	people map[string]*sandbox
	pass   map[string]string
}

// newTenancyWorld starts wharf on engine with args (the storage).
func newTenancyWorld(t *testing.T, engine db.Dialect, args ...string) *tenancyWorld {
	t.Helper()
	w := &tenancyWorld{crane: clientTool(t, "crane"), people: map[string]*sandbox{}, pass: map[string]string{}}
	w.srv = startWharf(t, engineEnv(t, engine), args...)
	w.host = strings.TrimPrefix(w.srv.URL, "http://")
	w.pass["owner"] = "owner-password-1"
	w.admin = w.srv.initialize(t, "owner", w.pass["owner"], "owner@example.com")
	expect(t, w.admin.call("POST", "organization/", map[string]any{"name": "acme"}), 201)
	for _, u := range []string{"dev", "maker", "plain"} {
		r := w.admin.call("POST", "superuser/users/", map[string]any{"username": u, "email": u + "@example.com"})
		expect(t, r, 200)
		w.pass[u], _ = r.object(t)["password"].(string)
	}
	w.layer = filepath.Join(t.TempDir(), "layer.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("tenancy scenario\n")
	tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(1700000000, 0)})
	tw.Write(body)
	tw.Close()
	if err := os.WriteFile(w.layer, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, pass := range w.pass {
		w.person(t, name, pass)
	}
	w.people["anonymous"] = newSandbox(t, w.host)
	return w
}

func (w *tenancyWorld) person(t *testing.T, name, secret string) {
	sb := newSandbox(t, w.host, secret)
	sb.dockerLogin(t, name, secret)
	w.people[name], w.pass[name] = sb, secret
}

// push pushes a one-layer image to acme/<repo>:<tag> as who; it returns
// crane's error and output.
func (w *tenancyWorld) push(t *testing.T, who, repo, tag string) (string, error) {
	t.Helper()
	return w.people[who].runTool(t, w.crane, "append", "--insecure", "--oci-empty-base", "-f", w.layer, "-t", w.host+"/acme/"+repo+":"+tag)
}

func (w *tenancyWorld) pull(t *testing.T, who, repo, tag string) (string, error) {
	t.Helper()
	return w.people[who].runTool(t, w.crane, "manifest", "--insecure", w.host+"/acme/"+repo+":"+tag)
}

func (w *tenancyWorld) mustPush(t *testing.T, who, repo, tag string) {
	t.Helper()
	if out, err := w.push(t, who, repo, tag); err != nil {
		t.Fatalf("%s pushes acme/%s:%s: %v\n%s", who, repo, tag, err, out)
	}
}

func (w *tenancyWorld) mustNotPush(t *testing.T, who, repo, tag, why string) {
	t.Helper()
	out, err := w.push(t, who, repo, tag)
	if err == nil {
		t.Fatalf("%s pushed acme/%s:%s; want refused (%s)", who, repo, tag, why)
	}
	if !strings.Contains(out, "DENIED") && !strings.Contains(out, "UNAUTHORIZED") && !strings.Contains(out, "403") && !strings.Contains(out, "401") {
		t.Errorf("%s's refused push does not show the denial: %s", who, out)
	}
}

func (w *tenancyWorld) mustPull(t *testing.T, who, repo, tag string) {
	t.Helper()
	if out, err := w.pull(t, who, repo, tag); err != nil {
		t.Fatalf("%s pulls acme/%s:%s: %v\n%s", who, repo, tag, err, out)
	}
}

func (w *tenancyWorld) mustNotPull(t *testing.T, who, repo, tag string) {
	t.Helper()
	if out, err := w.pull(t, who, repo, tag); err == nil {
		t.Fatalf("%s pulled acme/%s:%s; want refused\n%s", who, repo, tag, out)
	}
}

// pushToken is a registry token of who for pull,push on acme/repo, as a
// client holds it between requests.
func (w *tenancyWorld) pushToken(t *testing.T, who, repo string) string {
	t.Helper()
	q := url.Values{"service": {w.host}, "scope": {"repository:acme/" + repo + ":pull,push"}}
	req, _ := http.NewRequest("GET", w.srv.URL+"/v2/auth?"+q.Encode(), nil)
	req.SetBasicAuth(who, w.pass[who])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/v2/auth for %s: %d %v", who, resp.StatusCode, err)
	}
	return v.Token
}

// startUpload starts a blob upload to acme/repo with token and returns
// the status.
func (w *tenancyWorld) startUpload(t *testing.T, token, repo string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", w.srv.URL+"/v2/acme/"+repo+"/blobs/uploads/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// stopsWithin asserts that token, which starts uploads to acme/repo now,
// stops doing so within the revocation bound once revoke ran; it returns
// how long that took.
func (w *tenancyWorld) stopsWithin(t *testing.T, token, repo string, revoke func()) time.Duration {
	t.Helper()
	if s := w.startUpload(t, token, repo); s != http.StatusAccepted {
		t.Fatalf("the token before the revocation: %d, want 202", s)
	}
	revoke()
	start := time.Now()
	for time.Since(start) < revocationBound {
		if s := w.startUpload(t, token, repo); s == http.StatusUnauthorized || s == http.StatusForbidden {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the token still starts uploads %v after the revocation", revocationBound)
	return 0
}

func TestTenancyRegistry(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		t.Run("filesystem", func(t *testing.T) { tenancyScenario(t, newTenancyWorld(t, engine)) })
		t.Run("s3", func(t *testing.T) {
			config := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(config, []byte(s3StorageYAML(t, "tenancy")), 0o600); err != nil {
				t.Fatal(err)
			}
			tenancyScenario(t, newTenancyWorld(t, engine, "--config", config))
		})
	})
}

// tenancyScenario is the acceptance scenario, in order, against w.
func tenancyScenario(t *testing.T, w *tenancyWorld) {
	a := w.admin
	w.mustPush(t, "owner", "a", "v1")
	w.mustPush(t, "owner", "b", "v1")

	t.Run("a robot with read on acme/a pulls it, cannot push it, cannot see acme/b", func(t *testing.T) {
		r := a.call("PUT", "organization/acme/robots/reader", map[string]any{"description": "reads acme/a"})
		expect(t, r, 201)
		token, _ := r.object(t)["token"].(string)
		w.person(t, "acme+reader", token)
		expect(t, a.call("PUT", "repository/acme/a/permissions/user/acme+reader", map[string]any{"role": "read"}), 200)
		w.mustPull(t, "acme+reader", "a", "v1")
		w.mustNotPush(t, "acme+reader", "a", "robot", "read only")
		w.mustNotPull(t, "acme+reader", "b", "v1")
		perms := a.call("GET", "organization/acme/robots/reader/permissions", nil)
		expect(t, perms, 200)
		if !strings.Contains(string(perms.Body), `"name":"a"`) || strings.Contains(string(perms.Body), `"name":"b"`) {
			t.Errorf("the robot's permissions: %s", perms.Body)
		}
	})

	t.Run("a team with write lets its members push", func(t *testing.T) {
		expect(t, a.call("PUT", "organization/acme/team/devs", map[string]any{"role": "member", "description": "developers"}), 200)
		w.mustNotPush(t, "dev", "a", "dev", "not yet a member")
		expect(t, a.call("PUT", "organization/acme/team/devs/members/dev", map[string]any{}), 200)
		expect(t, a.call("PUT", "repository/acme/a/permissions/team/devs", map[string]any{"role": "write"}), 200)
		w.mustPush(t, "dev", "a", "dev")
		w.mustNotPull(t, "dev", "b", "v1")
	})

	t.Run("removing the member stops its token within the bound", func(t *testing.T) {
		took := w.stopsWithin(t, w.pushToken(t, "dev", "a"), "a", func() {
			expect(t, a.call("DELETE", "organization/acme/team/devs/members/dev", nil), 204)
		})
		t.Logf("the member's token stopped %v after the removal", took.Round(time.Millisecond))
		w.mustNotPush(t, "dev", "a", "gone", "no longer a member")
	})

	t.Run("removing the grant stops its token within the bound", func(t *testing.T) {
		expect(t, a.call("PUT", "organization/acme/team/devs/members/dev", map[string]any{}), 200)
		took := w.stopsWithin(t, w.pushToken(t, "dev", "a"), "a", func() {
			expect(t, a.call("DELETE", "repository/acme/a/permissions/team/devs", nil), 204)
		})
		t.Logf("the grantee's token stopped %v after the grant went", took.Round(time.Millisecond))
	})

	t.Run("a creator creates a repository by push, a member cannot", func(t *testing.T) {
		expect(t, a.call("PUT", "organization/acme/team/makers", map[string]any{"role": "creator"}), 200)
		expect(t, a.call("PUT", "organization/acme/team/makers/members/maker", map[string]any{}), 200)
		expect(t, a.call("PUT", "organization/acme/team/readers", map[string]any{"role": "member"}), 200)
		expect(t, a.call("PUT", "organization/acme/team/readers/members/plain", map[string]any{}), 200)
		w.mustPush(t, "maker", "made", "v1")
		w.mustNotPush(t, "plain", "notmade", "v1", "a member creates nothing")
		w.mustNotPush(t, "maker", "b", "v2", "a creator holds nothing on others' repositories")
	})

	t.Run("a default permission for devs applies to a repository created by push", func(t *testing.T) {
		r := a.call("POST", "organization/acme/prototypes", map[string]any{"role": "write",
			"delegate": map[string]any{"name": "devs", "kind": "team"}})
		expect(t, r, 200)
		w.mustPush(t, "maker", "proto", "v1")
		perms := a.call("GET", "repository/acme/proto/permissions/team/devs", nil)
		expect(t, perms, 200)
		if role, _ := perms.object(t)["role"].(string); role != "write" {
			t.Errorf("devs on acme/proto: %s", perms.Body)
		}
		w.mustPush(t, "dev", "proto", "dev")
		w.mustNotPush(t, "dev", "made", "dev", "made before the prototype")
	})

	t.Run("an app token works with crane auth login and stops when revoked", func(t *testing.T) {
		dev := w.srv.client(t)
		dev.login("dev", w.pass["dev"])
		defer dev.signout()
		r := dev.call("POST", "user/apptoken", map[string]any{"title": "crane"})
		expect(t, r, 200)
		tok := asObject(r.object(t)["token"])
		code, _ := tok["token_code"].(string)
		uuid, _ := tok["uuid"].(string)
		if code == "" || uuid == "" {
			t.Fatalf("created app token: %s", r)
		}
		sb := newSandbox(t, w.host, code)
		sb.run(t, "", code, w.crane, "auth", "login", w.host, "-u", "$app", "--password-stdin")
		w.people["dev's app token"], w.pass["$app"] = sb, code
		w.mustPush(t, "dev's app token", "proto", "app")
		w.mustNotPull(t, "dev's app token", "b", "v1")
		took := w.stopsWithin(t, w.pushToken(t, "$app", "proto"), "proto", func() {
			expect(t, dev.call("DELETE", "user/apptoken/"+uuid, nil), 204)
		})
		t.Logf("the app token's registry token stopped %v after the revocation", took.Round(time.Millisecond))
		w.mustNotPush(t, "dev's app token", "proto", "revoked", "the app token is revoked")
	})

	t.Run("a public repository pulls anonymously", func(t *testing.T) {
		w.mustNotPull(t, "anonymous", "a", "v1")
		expect(t, a.call("POST", "repository/acme/a/changevisibility", map[string]any{"visibility": "public"}), 200)
		w.mustPull(t, "anonymous", "a", "v1")
		w.mustPull(t, "plain", "a", "v1")
		w.mustNotPush(t, "plain", "a", "plain", "public is read")
	})

	t.Run("a READ_ONLY repository refuses pushes", func(t *testing.T) {
		expect(t, a.call("PUT", "repository/acme/b/changestate", map[string]any{"state": "READ_ONLY"}), 200)
		w.mustNotPush(t, "owner", "b", "ro", "read-only")
		w.mustPull(t, "owner", "b", "v1")
		v := a.call("GET", "repository/acme/b", nil).object(t)
		if v["state"] != "READ_ONLY" || v["can_write"] != false || v["can_admin"] != true {
			t.Errorf("the read-only repository's view: %v", v)
		}
		expect(t, a.call("PUT", "repository/acme/b/changestate", map[string]any{"state": "NORMAL"}), 200)
		w.mustPush(t, "owner", "b", "rw")
	})
}
