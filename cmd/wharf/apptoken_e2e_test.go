package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
)

// TestAppTokenWithCrane: a user makes an app-specific token through the
// API (quay_docker_token's calls), logs crane in with it as "$app"
// (crane auth login), pushes and pulls as that user, and is refused once
// the token is revoked; a registry token the app token already earned
// stops within the revocation bound (measured and printed).
func TestAppTokenWithCrane(t *testing.T) {
	t.Parallel()
	crane := clientTool(t, "crane")
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		srv := startWharf(t, engineEnv(t, engine))
		admin := srv.initialize(t, "tokadmin", "tokadmin-password-1", "tokadmin@example.com")
		r := admin.call("POST", "superuser/users/", map[string]any{"username": "dev", "email": "dev@example.com"})
		expect(t, r, 200)
		password, _ := r.object(t)["password"].(string)
		dev := srv.client(t)
		dev.login("dev", password)
		defer dev.signout()

		r = dev.call("POST", "user/apptoken", map[string]any{"title": "crane"})
		expect(t, r, 200)
		tok := asObject(r.object(t)["token"])
		code, _ := tok["token_code"].(string)
		uuid, _ := tok["uuid"].(string)
		if len(code) != 120 || uuid == "" {
			t.Fatalf("created token: %s", r)
		}

		host := strings.TrimPrefix(srv.URL, "http://")
		sb := newSandbox(t, host, code)
		sb.run(t, "", code, crane, "auth", "login", host, "-u", "$app", "--password-stdin")
		img := newTestImage(t, "apptoken")
		layout := sb.path("layout")
		writeLayout(t, layout, img, "v1")
		ref := host + "/dev/app:v1"
		sb.run(t, "", "", crane, "push", "--insecure", layout, ref)
		if d := strings.TrimSpace(string(sb.run(t, "", "", crane, "digest", "--insecure", ref))); d != img.digest {
			t.Errorf("crane digest with the app token = %q, want %s", d, img.digest)
		}
		// The push was dev's: the repository is in dev's namespace, private.
		r = dev.call("GET", "repository/dev/app", nil)
		expect(t, r, 200)
		// Another user's namespace stays closed to dev's token.
		if out, err := sb.runTool(t, crane, "push", "--insecure", layout, host+"/tokadmin/app:v1"); err == nil {
			t.Errorf("crane pushed into tokadmin's namespace with dev's app token:\n%s", out)
		}

		// A registry token earned with the app token, kept by a client.
		app := newRegistryClient(srv.URL, "$app", code)
		blob := []byte("a blob pushed with an app token")
		sum := sha256.Sum256(blob)
		digest := "sha256:" + hex.EncodeToString(sum[:])
		expect(t, app.mustExchange(t, "POST", "dev/app", "/v2/dev/app/blobs/uploads/?digest="+digest, bytes.NewReader(blob), int64(len(blob)), nil), 201)
		head := func() int {
			r, err := app.exchange(context.Background(), "HEAD", "dev/app", "/v2/dev/app/blobs/"+digest, nil, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			return r.Status
		}
		if got := head(); got != 200 {
			t.Fatalf("HEAD with the app token's registry token → %d, want 200", got)
		}

		// Revoked: the listing forgets it, crane cannot log in, and the
		// registry token already issued stops within the bound.
		revoked := time.Now()
		expect(t, dev.call("DELETE", "user/apptoken/"+uuid, nil), 204)
		for {
			status := head()
			elapsed := time.Since(revoked)
			if status == 401 {
				t.Logf("%s: app token revoked; its registry token refused %v later (bound %v)", engine, elapsed.Round(time.Millisecond), revocationBound)
				break
			}
			if status != 200 {
				t.Fatalf("HEAD after revoking → %d, want 200 until refused with 401", status)
			}
			if elapsed > revocationBound {
				t.Fatalf("the revoked app token's registry token still works %v later (bound %v)", elapsed, revocationBound)
			}
			time.Sleep(20 * time.Millisecond)
		}
		out, err := sb.runTool(t, crane, "digest", "--insecure", ref)
		if err == nil {
			t.Errorf("crane still pulls with the revoked app token: %s", out)
		} else if !strings.Contains(out, "UNAUTHORIZED") && !strings.Contains(out, "401") {
			t.Errorf("crane with the revoked app token failed without showing the refusal:\n%s", out)
		}
		if r := dev.call("GET", "user/apptoken", nil); strings.Contains(string(r.Body), uuid) {
			t.Errorf("revoked token still listed: %s", r)
		}
	})
}
