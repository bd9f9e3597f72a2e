package registry_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// checkManifest fails unless name serves body by ref (GET and HEAD) with
// mediaType and digest.
func checkManifest(t *testing.T, c *client, name, ref string, body []byte, mediaType, digest string) {
	t.Helper()
	r := c.do("GET", "/v2/"+name+"/manifests/"+ref, nil, "Accept", mtOCIManifest+", "+mtOCIIndex+", "+mtDockerV2)
	must(t, "GET manifest "+ref, r, http.StatusOK)
	if !bytes.Equal(r.Body, body) {
		t.Fatalf("GET manifest %s: body differs from the one pushed:\n%s", ref, r.Body)
	}
	if got := r.Header.Get("Content-Type"); got != mediaType {
		t.Errorf("GET manifest %s: Content-Type %q, want %q", ref, got, mediaType)
	}
	if got := r.Header.Get("Docker-Content-Digest"); got != digest {
		t.Errorf("GET manifest %s: Docker-Content-Digest %q, want %q", ref, got, digest)
	}
	h := c.do("HEAD", "/v2/"+name+"/manifests/"+ref, nil)
	must(t, "HEAD manifest "+ref, h, http.StatusOK)
	if len(h.Body) != 0 || h.Header.Get("Content-Length") != strconv.Itoa(len(body)) || h.Header.Get("Docker-Content-Digest") != digest {
		t.Errorf("HEAD manifest %s: body %d bytes, Content-Length %q, digest %q", ref, len(h.Body),
			h.Header.Get("Content-Length"), h.Header.Get("Docker-Content-Digest"))
	}
}

// tagsOf lists name's tags (all of them, one page).
func tagsOf(t *testing.T, c *client, name string) []string {
	t.Helper()
	r := c.do("GET", "/v2/"+name+"/tags/list", nil)
	must(t, "tags list", r, http.StatusOK)
	var v struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("tags list: %v: %s", err, r.Body)
	}
	if v.Name != name {
		t.Fatalf("tags list name %q, want %q", v.Name, name)
	}
	return v.Tags
}

func TestManifestPush(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		const name = "alice/app"
		config := []byte(`{"architecture":"amd64","os":"linux"}`)
		layer := randomBytes(512)
		alice.pushBlob(name, config)
		alice.pushBlob(name, layer)
		cfg, lay := blobDesc(mtOCIConfig, config), blobDesc(mtOCILayer, layer)
		image := manifestJSON(mtOCIManifest, cfg, []desc{lay}, nil)
		docker := manifestJSON(mtDockerV2, desc{MediaType: "application/vnd.docker.container.image.v1+json", Digest: cfg.Digest, Size: cfg.Size},
			[]desc{{MediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", Digest: lay.Digest, Size: lay.Size}}, nil)
		alice.pushBlob(name, []byte("{}"))
		artifact := manifestJSON(mtOCIManifest, desc{MediaType: mtEmpty, Digest: sha256Of([]byte("{}")), Size: 2}, []desc{lay},
			map[string]any{"artifactType": "application/vnd.example.sbom", "subject": desc{MediaType: mtOCIManifest, Digest: sha256Of(image), Size: int64(len(image))}})

		cases := []struct {
			name        string
			ref         string // "" = by the body's sha256 digest
			contentType string
			body        []byte
			digest      string
			subject     string
		}{
			{"OCI manifest by tag", "v1", mtOCIManifest, image, sha256Of(image), ""},
			{"OCI manifest by digest", "", mtOCIManifest, image, sha256Of(image), ""},
			{"OCI manifest by sha512 digest", sha512Of(image), mtOCIManifest, image, sha512Of(image), ""},
			{"Docker schema 2 by tag", "docker", mtDockerV2, docker, sha256Of(docker), ""},
			{"index by tag", "multi", mtOCIIndex, indexJSON(desc{MediaType: mtOCIManifest, Digest: sha256Of(image), Size: int64(len(image))},
				desc{MediaType: mtDockerV2, Digest: sha256Of(docker), Size: int64(len(docker))}), "", ""},
			{"artifact with subject", "sbom", mtOCIManifest, artifact, sha256Of(artifact), sha256Of(image)},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.digest == "" {
					tc.digest = sha256Of(tc.body)
				}
				ref := tc.ref
				if ref == "" {
					ref = tc.digest
				}
				r := alice.do("PUT", "/v2/"+name+"/manifests/"+ref, tc.body, "Content-Type", tc.contentType)
				must(t, "PUT manifest", r, http.StatusCreated)
				if got, want := r.Header.Get("Location"), "/v2/"+name+"/manifests/"+tc.digest; got != want {
					t.Errorf("Location %q, want %q", got, want)
				}
				if got := r.Header.Get("Docker-Content-Digest"); got != tc.digest {
					t.Errorf("Docker-Content-Digest %q, want %q", got, tc.digest)
				}
				if got := r.Header.Get("OCI-Subject"); got != tc.subject {
					t.Errorf("OCI-Subject %q, want %q", got, tc.subject)
				}
				checkManifest(t, alice, name, ref, tc.body, tc.contentType, tc.digest)
				checkManifest(t, alice, name, tc.digest, tc.body, tc.contentType, tc.digest)
			})
		}
		if got, want := tagsOf(t, alice, name), []string{"docker", "multi", "sbom", "v1"}; !slices.Equal(got, want) {
			t.Errorf("tags %v, want %v (a push by digest makes no tag)", got, want)
		}
	})
}

func TestManifestRejects(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		config := []byte(`{"os":"linux"}`)
		layer := []byte("a layer")
		cfg, lay := blobDesc(mtOCIConfig, config), blobDesc(mtOCILayer, layer)
		missing := blobDesc(mtOCILayer, []byte("never pushed"))
		elsewhere := blobDesc(mtOCILayer, []byte("pushed to another repository"))
		alice.pushBlob("alice/elsewhere", []byte("pushed to another repository"))
		stored := manifestJSON(mtOCIManifest, cfg, []desc{lay}, nil)
		notStored := manifestJSON(mtOCIManifest, cfg, []desc{lay}, map[string]any{"annotations": map[string]string{"x": "never pushed"}})
		huge := manifestJSON(mtOCIManifest, cfg, []desc{lay}, map[string]any{"annotations": map[string]string{"pad": strings.Repeat("x", 4<<20)}})
		badDigest := desc{MediaType: mtOCILayer, Digest: "sha256:" + strings.Repeat("Z", 64), Size: 1}

		cases := []struct {
			name, ref, contentType string
			body                   []byte
			status                 int
			code                   string
		}{
			{"layer blob missing", "t", mtOCIManifest, manifestJSON(mtOCIManifest, cfg, []desc{lay, missing}, nil), 400, "MANIFEST_BLOB_UNKNOWN"},
			{"config blob missing", "t", mtOCIManifest, manifestJSON(mtOCIManifest, blobDesc(mtOCIConfig, []byte("{}")), []desc{lay}, nil), 400, "MANIFEST_BLOB_UNKNOWN"},
			{"blob only in another repository", "t", mtOCIManifest, manifestJSON(mtOCIManifest, cfg, []desc{elsewhere}, nil), 400, "MANIFEST_BLOB_UNKNOWN"},
			{"index child missing", "t", mtOCIIndex, indexJSON(desc{MediaType: mtOCIManifest, Digest: sha256Of(notStored), Size: int64(len(notStored))}), 400, "MANIFEST_BLOB_UNKNOWN"},
			{"index with one child present, one missing", "t+stored", mtOCIIndex, indexJSON(
				desc{MediaType: mtOCIManifest, Digest: sha256Of(stored), Size: int64(len(stored))},
				desc{MediaType: mtOCIManifest, Digest: sha256Of(notStored), Size: int64(len(notStored))}), 400, "MANIFEST_BLOB_UNKNOWN"},
			{"larger than 4 MiB", "t", mtOCIManifest, huge, 413, ""},
			{"malformed JSON", "t", mtOCIManifest, []byte(`{"schemaVersion": 2, "config": {`), 400, "MANIFEST_INVALID"},
			{"not JSON", "t", mtOCIManifest, []byte("hello"), 400, "MANIFEST_INVALID"},
			{"empty body", "t", mtOCIManifest, []byte{}, 400, "MANIFEST_INVALID"},
			{"JSON array", "t", mtOCIManifest, []byte("[]"), 400, "MANIFEST_INVALID"},
			{"trailing data", "t", mtOCIManifest, append(bytes.Clone(stored), []byte(`{}`)...), 400, "MANIFEST_INVALID"},
			{"schemaVersion 1", "t", mtOCIManifest, bytes.Replace(stored, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":1`), 1), 400, "MANIFEST_INVALID"},
			{"no schemaVersion", "t", mtOCIManifest, bytes.Replace(stored, []byte(`,"schemaVersion":2`), nil, 1), 400, "MANIFEST_INVALID"},
			{"no config", "t", mtOCIManifest, []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","layers":[]}`), 400, "MANIFEST_INVALID"},
			{"Content-Type contradicts mediaType", "t", mtDockerV2, stored, 400, "MANIFEST_INVALID"},
			{"unknown media type", "t", "application/vnd.example+json",
				[]byte(`{"schemaVersion":2,"mediaType":"application/vnd.example+json","config":{}}`), 400, "MANIFEST_INVALID"},
			{"invalid layer digest", "t", mtOCIManifest, manifestJSON(mtOCIManifest, cfg, []desc{badDigest}, nil), 400, "MANIFEST_INVALID"},
			{"negative size", "t", mtOCIManifest, manifestJSON(mtOCIManifest, cfg, []desc{{MediaType: mtOCILayer, Digest: lay.Digest, Size: -1}}, nil), 400, "MANIFEST_INVALID"},
			{"index with layers", "t", mtOCIIndex, []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIIndex + `","manifests":[],"layers":[]}`), 400, "MANIFEST_INVALID"},
			{"invalid tag (leading dash)", "-t", mtOCIManifest, stored, 400, "TAG_INVALID"},
			{"invalid tag (129 characters)", strings.Repeat("t", 129), mtOCIManifest, stored, 400, "TAG_INVALID"},
			{"digest in path does not match", sha256Of([]byte("other")), mtOCIManifest, stored, 400, "DIGEST_INVALID"},
			{"sha512 digest in path does not match", sha512Of([]byte("other")), mtOCIManifest, stored, 400, "DIGEST_INVALID"},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				name := fmt.Sprintf("alice/rejects-%d", i)
				alice.pushBlob(name, config)
				alice.pushBlob(name, layer)
				if ref, ok := strings.CutSuffix(tc.ref, "+stored"); ok {
					tc.ref = ref
					must(t, "PUT the present child", alice.do("PUT", "/v2/"+name+"/manifests/"+sha256Of(stored), stored,
						"Content-Type", mtOCIManifest), http.StatusCreated)
				}
				r := alice.do("PUT", "/v2/"+name+"/manifests/"+tc.ref, tc.body, "Content-Type", tc.contentType)
				if r.Status != tc.status || (tc.code != "" && r.Code() != tc.code) {
					t.Fatalf("PUT: %d %q, want %d %s; body %s", r.Status, r.Code(), tc.status, tc.code, r.Body)
				}
				// Nothing was stored: no manifest, no tag, no push log.
				for _, ref := range []string{sha256Of(tc.body), sha512Of(tc.body), "t"} {
					mustErr(t, "GET "+ref, alice.do("GET", "/v2/"+name+"/manifests/"+ref, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
				}
				if tags := tagsOf(t, alice, name); len(tags) != 0 {
					t.Fatalf("refused manifest left tags %v", tags)
				}
				for _, en := range e.logsOf("push_repo", strings.TrimPrefix(name, "alice/")) {
					if d := en.Metadata["manifest_digest"]; d == sha256Of(tc.body) || d == sha512Of(tc.body) {
						t.Fatalf("refused manifest was logged as pushed: %v", en.Metadata)
					}
				}
			})
		}

		t.Run("a manifest of exactly 4 MiB is accepted", func(t *testing.T) {
			const name = "alice/at-limit"
			alice.pushBlob(name, config)
			alice.pushBlob(name, layer)
			pad := func(n int) []byte {
				return manifestJSON(mtOCIManifest, cfg, []desc{lay}, map[string]any{"annotations": map[string]string{"pad": strings.Repeat("x", n)}})
			}
			body := pad(0)
			body = pad(4<<20 - len(body))
			if len(body) != 4<<20 {
				t.Fatalf("built %d bytes", len(body))
			}
			r := alice.do("PUT", "/v2/"+name+"/manifests/big", body, "Content-Type", mtOCIManifest)
			must(t, "PUT 4 MiB", r, http.StatusCreated)
			checkManifest(t, alice, name, "big", body, mtOCIManifest, sha256Of(body))
			body = pad(4<<20 - len(pad(0)) + 1)
			r = alice.do("PUT", "/v2/"+name+"/manifests/bigger", body, "Content-Type", mtOCIManifest)
			must(t, "PUT 4 MiB + 1", r, http.StatusRequestEntityTooLarge)
		})
		t.Run("the same manifest is accepted once its references exist", func(t *testing.T) {
			const name = "alice/rejects-then-ok"
			alice.pushBlob(name, config)
			body := manifestJSON(mtOCIManifest, cfg, []desc{lay}, nil)
			mustErr(t, "PUT before the layer", alice.do("PUT", "/v2/"+name+"/manifests/t", body, "Content-Type", mtOCIManifest),
				http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
			alice.pushBlob(name, layer)
			must(t, "PUT after the layer", alice.do("PUT", "/v2/"+name+"/manifests/t", body, "Content-Type", mtOCIManifest), http.StatusCreated)
			idx := indexJSON(desc{MediaType: mtOCIManifest, Digest: sha256Of(body), Size: int64(len(body))})
			must(t, "PUT index of stored child", alice.do("PUT", "/v2/"+name+"/manifests/idx", idx, "Content-Type", mtOCIIndex), http.StatusCreated)
		})
	})
}

// tagEvents returns the metadata of repo's create_tag and move_tag entries, newest first.
func tagEvents(e *env, repo string) (creates, moves []map[string]any) {
	for _, en := range e.logsOf("create_tag", repo) {
		creates = append(creates, en.Metadata)
	}
	for _, en := range e.logsOf("move_tag", repo) {
		moves = append(moves, en.Metadata)
	}
	return creates, moves
}

func TestTagLog(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		const name = "alice/app"
		m1, d1 := alice.pushImage(name, "v1", "one")
		check := func(t *testing.T, pushes, creates, moves, deletes int) {
			t.Helper()
			got := []int{len(e.logsOf("push_repo", "app")), len(e.logsOf("create_tag", "app")),
				len(e.logsOf("move_tag", "app")), len(e.logsOf("delete_tag", "app"))}
			if want := []int{pushes, creates, moves, deletes}; !slices.Equal(got, want) {
				t.Fatalf("push_repo, create_tag, move_tag, delete_tag = %v, want %v", got, want)
			}
		}
		t.Run("new tag", func(t *testing.T) {
			check(t, 1, 1, 0, 0)
			c, _ := tagEvents(e, "app")
			if c[0]["tag"] != "v1" || c[0]["manifest_digest"] != d1 || c[0]["namespace"] != "alice" {
				t.Fatalf("create_tag metadata %v", c[0])
			}
			if p := e.logsOf("push_repo", "app")[0].Metadata; p["tag"] != "v1" || p["manifest_digest"] != d1 {
				t.Fatalf("push_repo metadata %v", p)
			}
		})
		t.Run("same manifest to the same tag", func(t *testing.T) {
			must(t, "PUT", alice.do("PUT", "/v2/"+name+"/manifests/v1", m1, "Content-Type", mtOCIManifest), http.StatusCreated)
			check(t, 2, 1, 0, 0)
		})
		var d2 string
		t.Run("other manifest moves the tag", func(t *testing.T) {
			_, d2 = alice.pushImage(name, "v1", "two")
			check(t, 3, 1, 1, 0)
			_, m := tagEvents(e, "app")
			if m[0]["tag"] != "v1" || m[0]["manifest_digest"] != d2 || m[0]["original_manifest_digest"] != d1 {
				t.Fatalf("move_tag metadata %v, want v1 %s → %s", m[0], d1, d2)
			}
			r := alice.do("HEAD", "/v2/"+name+"/manifests/v1", nil)
			if must(t, "HEAD v1", r, http.StatusOK); r.Header.Get("Docker-Content-Digest") != d2 {
				t.Fatalf("v1 is %s after the move, want %s", r.Header.Get("Docker-Content-Digest"), d2)
			}
		})
		t.Run("push by digest touches no tag", func(t *testing.T) {
			must(t, "PUT", alice.do("PUT", "/v2/"+name+"/manifests/"+d1, m1, "Content-Type", mtOCIManifest), http.StatusCreated)
			check(t, 4, 1, 1, 0)
		})
		t.Run("second tag", func(t *testing.T) {
			must(t, "PUT", alice.do("PUT", "/v2/"+name+"/manifests/v2", m1, "Content-Type", mtOCIManifest), http.StatusCreated)
			check(t, 5, 2, 1, 0)
		})
		t.Run("delete by tag", func(t *testing.T) {
			must(t, "DELETE v2", alice.do("DELETE", "/v2/"+name+"/manifests/v2", nil), http.StatusAccepted)
			mustErr(t, "GET v2", alice.do("GET", "/v2/"+name+"/manifests/v2", nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
			checkManifest(t, alice, name, d1, m1, mtOCIManifest, d1)
			check(t, 5, 2, 1, 1)
			if del := e.logsOf("delete_tag", "app")[0].Metadata; del["tag"] != "v2" {
				t.Fatalf("delete_tag metadata %v", del)
			}
			mustErr(t, "DELETE v2 again", alice.do("DELETE", "/v2/"+name+"/manifests/v2", nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
		})
		t.Run("delete by digest removes its tags", func(t *testing.T) {
			must(t, "PUT v3", alice.do("PUT", "/v2/"+name+"/manifests/v3", m1, "Content-Type", mtOCIManifest), http.StatusCreated)
			must(t, "PUT v4", alice.do("PUT", "/v2/"+name+"/manifests/v4", m1, "Content-Type", mtOCIManifest), http.StatusCreated)
			must(t, "DELETE by digest", alice.do("DELETE", "/v2/"+name+"/manifests/"+d1, nil), http.StatusAccepted)
			for _, ref := range []string{d1, "v3", "v4"} {
				mustErr(t, "GET "+ref, alice.do("GET", "/v2/"+name+"/manifests/"+ref, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
			}
			if got := tagsOf(t, alice, name); !slices.Equal(got, []string{"v1"}) {
				t.Fatalf("tags %v, want [v1]", got)
			}
			check(t, 7, 4, 1, 3)
			mustErr(t, "DELETE digest again", alice.do("DELETE", "/v2/"+name+"/manifests/"+d1, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
			mustErr(t, "DELETE in an unknown repository", alice.do("DELETE", "/v2/alice/nothing/manifests/v1", nil), http.StatusNotFound, "NAME_UNKNOWN")
		})
	})
}
