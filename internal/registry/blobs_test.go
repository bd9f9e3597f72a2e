package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/registry"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// checkBlob fails unless name serves data under digest, with the headers
// the distribution spec requires.
func checkBlob(t *testing.T, c *client, name, digest string, data []byte) {
	t.Helper()
	r := c.do("GET", "/v2/"+name+"/blobs/"+digest, nil)
	must(t, "GET blob", r, http.StatusOK)
	if !bytes.Equal(r.Body, data) {
		t.Fatalf("GET blob: %d bytes differ from the %d pushed", len(r.Body), len(data))
	}
	if got := r.Header.Get("Docker-Content-Digest"); got != digest {
		t.Fatalf("Docker-Content-Digest %q, want %q", got, digest)
	}
	if got := r.Header.Get("Content-Length"); got != strconv.Itoa(len(data)) {
		t.Fatalf("Content-Length %q, want %d", got, len(data))
	}
}

// checkInvisible fails if digest is visible anywhere: in name, in storage
// or as a known blob in the database.
func checkInvisible(t *testing.T, e *env, c *client, name, digest string) {
	t.Helper()
	r := c.do("HEAD", "/v2/"+name+"/blobs/"+digest, nil)
	must(t, "HEAD "+digest, r, http.StatusNotFound)
	if files := e.blobCopies((digest)); len(files) != 0 {
		t.Fatalf("storage holds %v for a blob that never verified", files)
	}
	if _, err := e.store.Registry.BlobSize(context.Background(), digest); !wharf.IsCode(err, wharf.NotFound) {
		t.Fatalf("database knows blob %s (err %v)", digest, err)
	}
}

// startSession opens an upload session in name and returns its Location.
func startSession(t *testing.T, c *client, name string) string {
	t.Helper()
	r := c.do("POST", "/v2/"+name+"/blobs/uploads/", nil)
	must(t, "POST upload", r, http.StatusAccepted)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/v2/"+name+"/blobs/uploads/") || r.Header.Get("Docker-Upload-UUID") == "" {
		t.Fatalf("POST upload: Location %q, Docker-Upload-UUID %q", loc, r.Header.Get("Docker-Upload-UUID"))
	}
	if got := r.Header.Get("Range"); got != "0-0" {
		t.Fatalf("POST upload: Range %q, want 0-0", got)
	}
	return loc
}

func withQuery(loc, q string) string {
	if strings.Contains(loc, "?") {
		return loc + "&" + q
	}
	return loc + "?" + q
}

// patch sends one chunk (with Content-Range unless cr is "-") and checks
// the 202 and the new Range.
func patch(t *testing.T, c *client, loc string, chunk []byte, from int, cr string) string {
	t.Helper()
	hdr := []string{"Content-Type", "application/octet-stream"}
	if cr == "" {
		cr = fmt.Sprintf("%d-%d", from, from+len(chunk)-1)
	}
	if cr != "-" {
		hdr = append(hdr, "Content-Range", cr)
	}
	r := c.do("PATCH", loc, chunk, hdr...)
	must(t, "PATCH "+cr, r, http.StatusAccepted)
	if got, want := r.Header.Get("Range"), fmt.Sprintf("0-%d", from+len(chunk)-1); got != want {
		t.Fatalf("PATCH: Range %q, want %q", got, want)
	}
	return r.Header.Get("Location")
}

func TestUploads(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		data := randomBytes(70_000)
		chunks := [][]byte{data[:30_000], data[30_000:60_000], data[60_000:]}

		cases := []struct {
			name   string
			digest func([]byte) string
			push   func(t *testing.T, name, digest string)
		}{
			{"monolithic POST sha256", sha256Of, func(t *testing.T, name, d string) {
				r := alice.do("POST", "/v2/"+name+"/blobs/uploads/?digest="+d, data, "Content-Type", "application/octet-stream")
				must(t, "POST ?digest", r, http.StatusCreated)
				if got, want := r.Header.Get("Location"), "/v2/"+name+"/blobs/"+d; got != want {
					t.Fatalf("Location %q, want %q", got, want)
				}
				if got := r.Header.Get("Docker-Content-Digest"); got != d {
					t.Fatalf("Docker-Content-Digest %q, want %q", got, d)
				}
			}},
			{"monolithic POST sha512", sha512Of, func(t *testing.T, name, d string) {
				r := alice.do("POST", "/v2/"+name+"/blobs/uploads/?digest="+d, data)
				must(t, "POST ?digest", r, http.StatusCreated)
			}},
			{"POST then PUT sha256", sha256Of, func(t *testing.T, name, d string) {
				loc := startSession(t, alice, name)
				must(t, "PUT", alice.do("PUT", withQuery(loc, "digest="+d), data), http.StatusCreated)
			}},
			{"POST then PUT sha512", sha512Of, func(t *testing.T, name, d string) {
				loc := startSession(t, alice, name)
				must(t, "PUT", alice.do("PUT", withQuery(loc, "digest="+d), data), http.StatusCreated)
			}},
			{"chunked sha256", sha256Of, func(t *testing.T, name, d string) { chunked(t, alice, name, d, chunks, "") }},
			{"chunked sha512", sha512Of, func(t *testing.T, name, d string) { chunked(t, alice, name, d, chunks, "") }},
			{"chunked without Content-Range", sha256Of, func(t *testing.T, name, d string) { chunked(t, alice, name, d, chunks, "-") }},
			{"chunked with Content-Range total", sha512Of, func(t *testing.T, name, d string) {
				chunked(t, alice, name, d, chunks, "total")
			}},
			{"chunks then last chunk in PUT", sha256Of, func(t *testing.T, name, d string) {
				loc := startSession(t, alice, name)
				loc = patch(t, alice, loc, chunks[0], 0, "")
				loc = patch(t, alice, loc, chunks[1], 30_000, "")
				r := alice.do("PUT", withQuery(loc, "digest="+d), chunks[2], "Content-Range", fmt.Sprintf("60000-%d", len(data)-1))
				must(t, "PUT last chunk", r, http.StatusCreated)
			}},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				name := fmt.Sprintf("alice/upload-%d", i)
				d := tc.digest(data)
				tc.push(t, name, d)
				checkBlob(t, alice, name, d, data)
				if files := e.blobCopies((d)); len(files) != 1 {
					t.Fatalf("storage holds %v for %s, want exactly one file", files, d)
				}
				if files := e.storedFiles("uploads"); len(files) != 0 {
					t.Fatalf("finished uploads left data behind: %v", files)
				}
			})
		}

		t.Run("wrong Content-Range is 416 and the session survives", func(t *testing.T) {
			name := "alice/ranges"
			loc := startSession(t, alice, name)
			r := alice.do("PATCH", loc, chunks[0], "Content-Range", "5-30004")
			must(t, "first chunk not at 0", r, http.StatusRequestedRangeNotSatisfiable)
			loc = patch(t, alice, loc, chunks[0], 0, "")
			for _, cr := range []string{"0-29999", "29000-58999", "30001-60000", "60000-89999", "abc", "-5", "30000", "40000-30000"} {
				r := alice.do("PATCH", loc, chunks[1], "Content-Range", cr)
				if r.Status != http.StatusRequestedRangeNotSatisfiable {
					t.Errorf("PATCH Content-Range %q after 30000 bytes: %d, want 416; body %s", cr, r.Status, r.Body)
				}
			}
			r = alice.do("GET", loc, nil)
			must(t, "status after refused chunks", r, http.StatusNoContent)
			if got := r.Header.Get("Range"); got != "0-29999" {
				t.Fatalf("status after refused chunks: Range %q, want 0-29999", got)
			}
			loc = patch(t, alice, loc, chunks[1], 30_000, "")
			r = alice.do("PUT", withQuery(loc, "digest="+sha256Of(data)), chunks[2], "Content-Range", "60000-69999")
			must(t, "PUT after refused chunks", r, http.StatusCreated)
			checkBlob(t, alice, name, sha256Of(data), data)
		})

		// Each mismatch case sends fresh content (sent) under the digest of
		// other fresh content (claimed): neither may become visible.
		mismatch := []struct {
			name string
			alg  func([]byte) string
			push func(t *testing.T, name string, sent []byte, claimed string) *response
		}{
			{"monolithic POST", sha256Of, func(t *testing.T, name string, sent []byte, claimed string) *response {
				return alice.do("POST", "/v2/"+name+"/blobs/uploads/?digest="+claimed, sent)
			}},
			{"POST then PUT", sha256Of, func(t *testing.T, name string, sent []byte, claimed string) *response {
				loc := startSession(t, alice, name)
				return alice.do("PUT", withQuery(loc, "digest="+claimed), sent)
			}},
			{"chunked", sha256Of, func(t *testing.T, name string, sent []byte, claimed string) *response {
				loc := startSession(t, alice, name)
				loc = patch(t, alice, loc, sent, 0, "")
				return alice.do("PUT", withQuery(loc, "digest="+claimed), nil)
			}},
			{"chunked, sha512 claimed", sha512Of, func(t *testing.T, name string, sent []byte, claimed string) *response {
				loc := startSession(t, alice, name)
				loc = patch(t, alice, loc, sent, 0, "")
				return alice.do("PUT", withQuery(loc, "digest="+claimed), nil)
			}},
			{"monolithic POST, sha512 claimed", sha512Of, func(t *testing.T, name string, sent []byte, claimed string) *response {
				return alice.do("POST", "/v2/"+name+"/blobs/uploads/?digest="+claimed, sent)
			}},
		}
		for i, tc := range mismatch {
			t.Run("digest mismatch/"+tc.name, func(t *testing.T) {
				name := fmt.Sprintf("alice/mismatch-%d", i)
				alice.pushBlob(name, []byte("makes the repository exist"))
				sent, other := randomBytes(5000), randomBytes(5000)
				r := tc.push(t, name, sent, tc.alg(other))
				mustErr(t, "upload with the wrong digest", r, http.StatusBadRequest, "DIGEST_INVALID")
				for _, d := range []string{tc.alg(other), sha256Of(sent), sha512Of(sent)} {
					checkInvisible(t, e, alice, name, d)
				}
				if files := e.storedFiles("uploads"); len(files) != 0 {
					t.Fatalf("refused upload left data behind: %v", files)
				}
			})
		}

		t.Run("cancel", func(t *testing.T) {
			name := "alice/cancel"
			loc := startSession(t, alice, name)
			loc = patch(t, alice, loc, chunks[0], 0, "")
			must(t, "DELETE upload", alice.do("DELETE", loc, nil), http.StatusNoContent)
			mustErr(t, "GET cancelled upload", alice.do("GET", loc, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
			mustErr(t, "PATCH cancelled upload", alice.do("PATCH", loc, chunks[1]), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
			mustErr(t, "PUT cancelled upload", alice.do("PUT", withQuery(loc, "digest="+sha256Of(chunks[0])), nil),
				http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
			if files := e.storedFiles("uploads"); len(files) != 0 {
				t.Fatalf("cancelled upload left data behind: %v", files)
			}
		})

		t.Run("empty blob", func(t *testing.T) {
			d := alice.pushBlob("alice/empty", []byte{})
			checkBlob(t, alice, "alice/empty", d, []byte{})
		})
	})
}

// chunked uploads chunks with PATCH and finishes with an empty PUT. mode ""
// sends "start-end" Content-Ranges, "total" sends "bytes start-end/total",
// "-" sends none (a streamed upload).
func chunked(t *testing.T, c *client, name, digest string, chunks [][]byte, mode string) {
	t.Helper()
	loc := startSession(t, c, name)
	from, total := 0, 0
	for _, ch := range chunks {
		total += len(ch)
	}
	for _, ch := range chunks {
		cr := mode
		if mode == "total" {
			cr = fmt.Sprintf("bytes %d-%d/%d", from, from+len(ch)-1, total)
		}
		loc = patch(t, c, loc, ch, from, cr)
		from += len(ch)
		r := c.do("GET", loc, nil)
		must(t, "upload status", r, http.StatusNoContent)
		if got, want := r.Header.Get("Range"), fmt.Sprintf("0-%d", from-1); got != want {
			t.Fatalf("upload status: Range %q, want %q", got, want)
		}
	}
	r := c.do("PUT", withQuery(loc, "digest="+digest), nil)
	must(t, "PUT ?digest", r, http.StatusCreated)
	if got := r.Header.Get("Docker-Content-Digest"); got != digest {
		t.Fatalf("Docker-Content-Digest %q, want %q", got, digest)
	}
}

func TestBlobReads(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		data := randomBytes(100)
		d := alice.pushBlob("alice/app", data)
		empty := alice.pushBlob("alice/app", []byte{})

		cases := []struct {
			method, digest, rng string
			status              int
			contentRange        string // also the 416's "bytes */size"
			from, to            int    // expected body data[from:to]
		}{
			{"GET", d, "", 200, "", 0, 100},
			{"GET", d, "bytes=0-9", 206, "bytes 0-9/100", 0, 10},
			{"GET", d, "bytes=90-", 206, "bytes 90-99/100", 90, 100},
			{"GET", d, "bytes=-10", 206, "bytes 90-99/100", 90, 100},
			{"GET", d, "bytes=-1000", 206, "bytes 0-99/100", 0, 100},
			{"GET", d, "bytes=95-200", 206, "bytes 95-99/100", 95, 100},
			{"GET", d, "bytes=99-99", 206, "bytes 99-99/100", 99, 100},
			{"GET", d, "bytes=100-", 416, "bytes */100", 0, 0},
			{"GET", d, "bytes=100-200", 416, "bytes */100", 0, 0},
			{"GET", d, "bytes=5-2", 416, "bytes */100", 0, 0},
			{"GET", d, "bytes=-0", 416, "bytes */100", 0, 0},
			{"GET", d, "bytes=abc", 416, "bytes */100", 0, 0},
			{"GET", d, "bytes=-9223372036854775808", 416, "bytes */100", 0, 0},
			{"GET", d, "bytes=0-99999999999999999999", 416, "bytes */100", 0, 0},
			{"HEAD", d, "", 200, "", 0, 0},
			{"HEAD", d, "bytes=0-9", 206, "bytes 0-9/100", 0, 0},
			{"GET", empty, "", 200, "", 0, 0},
			{"GET", empty, "bytes=0-", 416, "bytes */0", 0, 0},
			{"GET", empty, "bytes=-5", 416, "bytes */0", 0, 0},
		}
		for _, tc := range cases {
			t.Run(tc.method+" "+tc.digest[7:15]+" "+tc.rng, func(t *testing.T) {
				var hdr []string
				if tc.rng != "" {
					hdr = []string{"Range", tc.rng}
				}
				r := alice.do(tc.method, "/v2/alice/app/blobs/"+tc.digest, nil, hdr...)
				if r.Status != tc.status {
					t.Fatalf("Range %q: status %d, want %d (Content-Range %q)", tc.rng, r.Status, tc.status, r.Header.Get("Content-Range"))
				}
				if got := r.Header.Get("Content-Range"); got != tc.contentRange {
					t.Errorf("Content-Range %q, want %q", got, tc.contentRange)
				}
				if tc.status >= 400 {
					return
				}
				if got := r.Header.Get("Docker-Content-Digest"); got != tc.digest {
					t.Errorf("Docker-Content-Digest %q, want %q", got, tc.digest)
				}
				wantLen := tc.to - tc.from
				if tc.method == "HEAD" {
					if len(r.Body) != 0 {
						t.Errorf("HEAD has a body of %d bytes", len(r.Body))
					}
					if tc.status == 200 {
						wantLen = len(data)
					} else {
						wantLen = 10
					}
				} else if !bytes.Equal(r.Body, data[tc.from:tc.to]) {
					t.Errorf("body is %d bytes, want data[%d:%d]", len(r.Body), tc.from, tc.to)
				}
				if got := r.Header.Get("Content-Length"); got != strconv.Itoa(wantLen) {
					t.Errorf("Content-Length %q, want %d", got, wantLen)
				}
			})
		}

		t.Run("unknown blob", func(t *testing.T) {
			unknown := sha256Of([]byte("never pushed"))
			mustErr(t, "GET", alice.do("GET", "/v2/alice/app/blobs/"+unknown, nil), http.StatusNotFound, "BLOB_UNKNOWN")
			r := alice.do("HEAD", "/v2/alice/app/blobs/"+unknown, nil)
			must(t, "HEAD", r, http.StatusNotFound)
			if len(r.Body) != 0 {
				t.Fatalf("HEAD 404 has a body: %s", r.Body)
			}
			// Known to another repository is not known to this one.
			other := alice.pushBlob("alice/other", []byte("only in other"))
			mustErr(t, "GET from the wrong repository", alice.do("GET", "/v2/alice/app/blobs/"+other, nil), http.StatusNotFound, "BLOB_UNKNOWN")
		})

		t.Run("delete", func(t *testing.T) {
			victim := alice.pushBlob("alice/app", []byte("to be deleted"))
			must(t, "DELETE blob", alice.do("DELETE", "/v2/alice/app/blobs/"+victim, nil), http.StatusAccepted)
			mustErr(t, "GET deleted blob", alice.do("GET", "/v2/alice/app/blobs/"+victim, nil), http.StatusNotFound, "BLOB_UNKNOWN")
			mustErr(t, "DELETE again", alice.do("DELETE", "/v2/alice/app/blobs/"+victim, nil), http.StatusNotFound, "BLOB_UNKNOWN")
		})
	})
}

func TestMount(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		bob := e.as("bob", e.createUser("bob"))
		admin := e.as("admin", "adminpass1")
		e.createOrg("acme")

		mine := []byte("alice's layer")
		d := alice.pushBlob("alice/src", mine)
		secret := []byte("bob's private layer")
		ds := bob.pushBlob("bob/secret", secret)
		public := []byte("a public layer")
		dp := admin.pushBlob("acme/pub", public)
		e.mustAPI(http.StatusOK, "POST", "/api/v1/repository/acme/pub/changevisibility", map[string]any{"visibility": "public"})

		mount := func(t *testing.T, into, digest, from string) *response {
			t.Helper()
			c := e.as("alice", alice.pass)
			if from == "" {
				return c.do("POST", "/v2/"+into+"/blobs/uploads/?mount="+digest, nil)
			}
			c.extra = []string{"repository:" + from + ":pull"}
			return c.do("POST", "/v2/"+into+"/blobs/uploads/?mount="+digest+"&from="+from, nil)
		}
		cases := []struct {
			name, into, digest, from string
			status                   int
		}{
			{"from own repository", "alice/dst", d, "alice/src", http.StatusCreated},
			{"from a public repository", "alice/dst-pub", dp, "acme/pub", http.StatusCreated},
			{"from a private repository of another user", "alice/dst-secret", ds, "bob/secret", http.StatusAccepted},
			{"blob not in the source", "alice/dst-none", ds, "alice/src", http.StatusAccepted},
			{"source does not exist", "alice/dst-nosrc", d, "alice/nothing", http.StatusAccepted},
			{"source name is hostile", "alice/dst-bad", d, "alice/../bob/secret", http.StatusAccepted},
			// Anonymous mount (no from, issue deliverable 1): the registry
			// finds the blob itself, but only where the caller may read it.
			{"anonymous mount of a blob the caller can read", "alice/dst-anon", d, "", http.StatusCreated},
			{"anonymous mount of a blob only in a repository the caller cannot read", "alice/dst-anon-secret", ds, "", http.StatusAccepted},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := mount(t, tc.into, tc.digest, tc.from)
				must(t, "mount", r, tc.status)
				head := alice.do("HEAD", "/v2/"+tc.into+"/blobs/"+tc.digest, nil)
				if tc.status == http.StatusCreated {
					if got, want := r.Header.Get("Location"), "/v2/"+tc.into+"/blobs/"+tc.digest; got != want {
						t.Fatalf("Location %q, want %q", got, want)
					}
					if got := r.Header.Get("Docker-Content-Digest"); got != tc.digest {
						t.Fatalf("Docker-Content-Digest %q, want %q", got, tc.digest)
					}
					must(t, "HEAD mounted blob", head, http.StatusOK)
					if files := e.blobCopies((tc.digest)); len(files) != 1 {
						t.Fatalf("storage holds %v after a mount, want one copy", files)
					}
					return
				}
				// Refused: an ordinary upload session instead, and nothing linked.
				if !strings.HasPrefix(r.Header.Get("Location"), "/v2/"+tc.into+"/blobs/uploads/") {
					t.Fatalf("fallback Location %q is not an upload session", r.Header.Get("Location"))
				}
				must(t, "HEAD blob that was not mounted", head, http.StatusNotFound)
			})
		}

		t.Run("fallback session finishes the upload", func(t *testing.T) {
			r := mount(t, "alice/dst-secret2", ds, "bob/secret")
			must(t, "mount", r, http.StatusAccepted)
			loc := r.Header.Get("Location")
			must(t, "PUT", alice.do("PUT", withQuery(loc, "digest="+ds), secret), http.StatusCreated)
			checkBlob(t, alice, "alice/dst-secret2", ds, secret)
			if files := e.blobCopies((ds)); len(files) != 1 {
				t.Fatalf("storage holds %v, want one copy", files)
			}
		})
	})
}

// TestBuildWorkerMount checks that a build worker mounts only what its
// build may pull: its token names the build, whose rights are the build
// token's, so the rights of the token's subject never stand in for them.
func TestBuildWorkerMount(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		f := newBuildEnv(t, store)
		// bob builds his own bob/secret and cannot read acme/other.
		secret, err := store.Registry.RepositoryByName(f.ctx, "bob", "secret")
		if err != nil {
			t.Fatal(err)
		}
		b := f.startIn(t, secret, "bob", nil, wharf.PhasePushing)
		base := sha256Of([]byte("layer of base image"))
		for _, from := range []string{"", "acme/other"} {
			t.Run("from="+from, func(t *testing.T) {
				w := f.worker(f.issue(t, b, "w"))
				q := "?mount=" + base
				if from != "" {
					w.extra = []string{"repository:" + from + ":pull"}
					q += "&from=" + from
				}
				r := w.do("POST", "/v2/bob/secret/blobs/uploads/"+q, nil)
				must(t, "mount", r, http.StatusAccepted)
				mustErr(t, "HEAD blob that was not mounted", f.as("bob", f.pass["bob"]).do("HEAD", "/v2/bob/secret/blobs/"+base, nil),
					http.StatusNotFound, "")
			})
		}
	})
}

// A blob the database knows but storage lost answers BLOB_UNKNOWN whole:
// a 404 whose Content-Length is its error body's, on GET, ranged GET and
// HEAD; and wharf check names it.
func TestMissingBlobContent(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		data := randomBytes(4096)
		d := alice.pushBlob("alice/app", data)
		for _, k := range e.blobCopies(d) {
			if err := e.blobs.Delete(context.Background(), k); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name, method string
			hdr          []string
		}{
			{"GET", "GET", nil},
			{"ranged GET", "GET", []string{"Range", "bytes=10-20"}},
			{"HEAD", "HEAD", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := alice.do(tc.method, "/v2/alice/app/blobs/"+d, nil, tc.hdr...)
				if r.Status != http.StatusNotFound {
					t.Fatalf("status %d, want 404: %s", r.Status, r)
				}
				if tc.method == "GET" && r.Code() != "BLOB_UNKNOWN" {
					t.Errorf("code %q, want BLOB_UNKNOWN", r.Code())
				}
				if cl := r.Header.Get("Content-Length"); tc.method == "GET" && cl != strconv.Itoa(len(r.Body)) {
					t.Errorf("Content-Length %q for a %d-byte body", cl, len(r.Body))
				}
				if r.Header.Get("Docker-Content-Digest") != "" {
					t.Error("the blob's headers were sent with the error")
				}
			})
		}
		var problems []string
		if _, err := registry.Check(context.Background(), store.Registry, e.blobs, func(p string) { problems = append(problems, p) }); err != nil {
			t.Fatal(err)
		}
		if len(problems) != 1 || !strings.Contains(problems[0], d) || !strings.Contains(problems[0], "missing") {
			t.Errorf("check reported %q, want the missing %s", problems, d)
		}
	})
}
