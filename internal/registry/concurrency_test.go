package registry_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// Two clients pushing the same blob at the same time both succeed, and
// storage keeps one copy of it: content addressing holds under races.
func TestConcurrentSameBlob(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alicePass, bobPass := e.createUser("alice"), e.createUser("bob")
		e.createOrg("acme", "alice", "bob")
		const rounds = 4
		type push struct {
			user, pass, repo string
			chunked          bool
		}
		pushers := []push{
			{"alice", alicePass, "acme/app", false},
			{"bob", bobPass, "acme/app", true},
			{"alice", alicePass, "alice/mine", true},
			{"bob", bobPass, "bob/mine", false},
		}
		// Log in once per pusher, outside the race.
		clients := make([]*client, len(pushers))
		for i, p := range pushers {
			clients[i] = e.as(p.user, p.pass)
			must(t, "login", clients[i].login("repository:"+p.repo+":pull,push"), http.StatusOK)
		}
		var digests []string
		for round := range rounds {
			data := randomBytes(1<<20 + round)
			d := sha256Of(data)
			digests = append(digests, d)
			statuses := make([]string, len(pushers))
			each(pushers, func(i int, p push) {
				statuses[i] = racePush(e, clients[i], p.repo, data, d, p.chunked)
			})
			for i, s := range statuses {
				if s != "" {
					t.Errorf("round %d, %s → %s: %s", round, pushers[i].user, pushers[i].repo, s)
				}
			}
		}
		for _, d := range digests {
			copies := e.blobCopies(d)
			if len(copies) != 1 {
				t.Errorf("storage holds %d copies of %s: %v", len(copies), d, copies)
				continue
			}
			content, err := e.blobs.GetContent(t.Context(), copies[0])
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(content); "sha256:"+hex.EncodeToString(sum[:]) != d {
				t.Errorf("stored copy of %s has other content", d)
			}
			for i, p := range pushers {
				if r := clients[i].do("HEAD", "/v2/"+p.repo+"/blobs/"+d, nil); r.Status != http.StatusOK {
					t.Errorf("HEAD %s in %s: %d", d, p.repo, r.Status)
				}
			}
		}
		if files := e.storedFiles("uploads"); len(files) != 0 {
			t.Errorf("uploads left behind: %v", files)
		}
	})
}

// racePush pushes data (monolithic or in two chunks) and returns "" or
// what went wrong. It runs off the test goroutine, so it never fails the
// test itself.
func racePush(e *env, c *client, repo string, data []byte, d string, chunked bool) string {
	if !chunked {
		r := e.send("POST", "/v2/"+repo+"/blobs/uploads/?digest="+d, data, c.token)
		if r.Status != http.StatusCreated {
			return fmt.Sprintf("monolithic push: %d %s", r.Status, r.Body)
		}
		return ""
	}
	r := e.send("POST", "/v2/"+repo+"/blobs/uploads/", nil, c.token)
	if r.Status != http.StatusAccepted {
		return fmt.Sprintf("POST: %d %s", r.Status, r.Body)
	}
	half := len(data) / 2
	r = e.send("PATCH", r.Header.Get("Location"), data[:half], c.token, "Content-Range", fmt.Sprintf("0-%d", half-1))
	if r.Status != http.StatusAccepted {
		return fmt.Sprintf("PATCH: %d %s", r.Status, r.Body)
	}
	r = e.send("PUT", withQuery(r.Header.Get("Location"), "digest="+d), data[half:], c.token)
	if r.Status != http.StatusCreated {
		return fmt.Sprintf("PUT: %d %s", r.Status, r.Body)
	}
	return ""
}

// Concurrent manifest PUTs to one tag: every PUT succeeds, the tag ends on
// one of them, and the log tells one consistent story — the tag was
// created once and moved at most n-1 times.
func TestConcurrentTagPuts(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		const n = 8
		const rounds = 3
		config := []byte(`{"os":"linux"}`)
		layer := []byte("shared layer")
		alice.pushBlob("alice/app", config)
		alice.pushBlob("alice/app", layer)
		must(t, "login", alice.login("repository:alice/app:pull,push"), http.StatusOK)
		for round := range rounds {
			tag := fmt.Sprintf("race%d", round)
			bodies := make([][]byte, n)
			var digests []string
			for i := range bodies {
				bodies[i] = manifestJSON(mtOCIManifest, blobDesc(mtOCIConfig, config), []desc{blobDesc(mtOCILayer, layer)},
					map[string]any{"annotations": map[string]string{"n": fmt.Sprintf("%d-%d", round, i)}})
				digests = append(digests, sha256Of(bodies[i]))
			}
			statuses := make([]int, n)
			each(bodies, func(i int, body []byte) {
				r := e.send("PUT", "/v2/alice/app/manifests/"+tag, body, alice.token, "Content-Type", mtOCIManifest)
				statuses[i] = r.Status
				if r.Status != http.StatusCreated {
					t.Errorf("PUT %d: %d %s", i, r.Status, r.Body)
				}
			})
			r := alice.do("GET", "/v2/alice/app/manifests/"+tag, nil)
			must(t, "GET "+tag, r, http.StatusOK)
			final := r.Header.Get("Docker-Content-Digest")
			if !slices.Contains(digests, final) {
				t.Fatalf("%s points at %s, which none of the PUTs sent", tag, final)
			}
			var creates, moves int
			for _, en := range e.logs() {
				if en.Metadata["tag"] != tag || en.Metadata["repo"] != "app" {
					continue
				}
				switch en.Kind {
				case "create_tag":
					creates++
				case "move_tag":
					moves++
					if !slices.Contains(digests, fmt.Sprint(en.Metadata["original_manifest_digest"])) {
						t.Errorf("move_tag from %v, which was never the tag", en.Metadata["original_manifest_digest"])
					}
				}
			}
			if creates != 1 || moves > n-1 {
				t.Errorf("%s: %d create_tag and %d move_tag entries for %d concurrent PUTs; want exactly 1 create_tag and at most %d move_tag",
					tag, creates, moves, n, n-1)
			}
			if pushes := len(e.logsOf("push_repo", "app")); pushes != (round+1)*n {
				t.Errorf("%d push_repo entries after round %d, want %d", pushes, round, (round+1)*n)
			}
			if !bytes.Equal(r.Body, bodies[slices.Index(digests, final)]) {
				t.Errorf("GET %s returned another body than the one its digest names", tag)
			}
		}
	})
}
