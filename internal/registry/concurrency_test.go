package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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

// Two requests on one upload session at once (a client retrying a chunk
// it thinks was lost, or a hostile one) must never make a blob whose bytes
// differ from its digest: whatever each request is told, every blob the
// registry accepts under a digest hashes to that digest. Content is
// addressed across repositories, so one poisoned blob would be served to
// everybody who later pushes or pulls that digest.
func TestConcurrentChunksOfOneSession(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		bob := e.as("bob", e.createUser("bob"))
		alice.pushBlob("alice/app", []byte("exists"))
		must(t, "login", alice.login("repository:alice/app:pull,push"), http.StatusOK)
		const rounds = 60
		accepted, poisoned := 0, false
		for round := range rounds {
			r := e.send("POST", "/v2/alice/app/blobs/uploads/", nil, alice.token)
			must(t, "POST", r, http.StatusAccepted)
			loc := r.Header.Get("Location")
			chunks := [][]byte{randomBytes(64 << 10), randomBytes(64 << 10), randomBytes(64 << 10)}
			statuses := make([]int, len(chunks))
			each(chunks, func(i int, chunk []byte) {
				r := e.send("PATCH", loc, chunk, alice.token, "Content-Range", fmt.Sprintf("0-%d", len(chunk)-1))
				statuses[i] = r.Status
				if r.Status >= 500 {
					t.Errorf("round %d: concurrent PATCH: %d %s", round, r.Status, r.Body)
				}
			})
			claimed := sha256Of(chunks[round%len(chunks)])
			r = e.send("PUT", withQuery(loc, "digest="+claimed), nil, alice.token)
			if r.Status >= 500 {
				t.Errorf("round %d: PUT: %d %s", round, r.Status, r.Body)
			}
			if r.Status != http.StatusCreated {
				continue
			}
			accepted++
			got := alice.do("GET", "/v2/alice/app/blobs/"+claimed, nil)
			if sha256Of(got.Body) == claimed {
				continue
			}
			t.Errorf("round %d (PATCH statuses %v): blob %s was accepted but its %d bytes hash to %s",
				round, statuses, claimed, len(got.Body), sha256Of(got.Body))
			if !poisoned {
				// Another user pushing the true content gets the poison.
				poisoned = true
				bob.pushBlob("bob/victim", chunks[round%len(chunks)])
				if got := bob.do("GET", "/v2/bob/victim/blobs/"+claimed, nil); sha256Of(got.Body) != claimed {
					t.Errorf("bob pushed the true content of %s to bob/victim and is served bytes hashing to %s", claimed, sha256Of(got.Body))
				}
			}
		}
		t.Logf("%d of %d racing sessions were accepted", accepted, rounds)
		checkStoredBlobs(t, e)
	})
}

// checkStoredBlobs fails for every file below blobs/ whose content does
// not hash to the digest it is named by.
func checkStoredBlobs(t *testing.T, e *env) {
	t.Helper()
	for _, key := range e.storedFiles("blobs") {
		content, err := e.blobs.GetContent(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		name := key[strings.LastIndex(key, "/")+1:]
		var sum string
		switch len(name) {
		case 64:
			sum = sha256Of(content)
		case 128:
			sum = sha512Of(content)
		}
		if !strings.HasSuffix(sum, ":"+name) {
			t.Errorf("storage key %s holds content with digest %s", key, sum)
		}
	}
}

// A writer that died mid-chunk (its claim is never renewed) keeps the
// upload from other writers only until its claim ends; then the upload
// goes on where its last complete chunk ended.
func TestDeadWritersClaimLapses(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		pass := e.createUser("alice")
		c := e.as("alice", pass)
		must(t, "login", c.login("repository:alice/app:pull,push"), http.StatusOK)
		data := randomBytes(1 << 20)
		r := c.do("POST", "/v2/alice/app/blobs/uploads/", nil)
		must(t, "start", r, http.StatusAccepted)
		half := len(data) / 2
		r = c.do("PATCH", r.Header.Get("Location"), data[:half], "Content-Range", fmt.Sprintf("0-%d", half-1))
		must(t, "first chunk", r, http.StatusAccepted)
		loc := r.Header.Get("Location")

		// The dead writer: a claim nobody renews.
		u, err := store.Uploads.UploadByID(context.Background(), loc[strings.LastIndex(loc, "/")+1:])
		if err != nil {
			t.Fatal(err)
		}
		ends := time.Now().Add(time.Second)
		if ok, err := store.Uploads.ClaimUpload(context.Background(), u, ends); !ok || err != nil {
			t.Fatalf("ClaimUpload: %v, %v", ok, err)
		}
		second := func() *response {
			return c.do("PATCH", loc, data[half:], "Content-Range", fmt.Sprintf("%d-%d", half, len(data)-1))
		}
		mustErr(t, "a second writer while the claim lasts", second(), http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
		for time.Now().Before(ends.Add(50 * time.Millisecond)) {
			time.Sleep(50 * time.Millisecond)
		}
		r = second()
		must(t, "the second chunk once the claim ended", r, http.StatusAccepted)
		must(t, "commit", c.do("PUT", withQuery(r.Header.Get("Location"), "digest="+sha256Of(data)), nil), http.StatusCreated)
	})
}
