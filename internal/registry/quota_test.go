package registry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// streamPatch PATCHes body to an upload with no Content-Length (chunked
// transfer encoding, as docker streams layers).
func (c *client) streamPatch(location string, body io.Reader) *response {
	c.e.t.Helper()
	req, err := http.NewRequest("PATCH", c.e.srv.URL+location, io.NopCloser(body))
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.e.srv.Client().Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// TestQuotaCountsReceivedBytes replays the report: with a 1 MiB quota a
// 5 MB monolithic upload was refused, but POST + PATCH 5 MB + PUT stored
// it, because only a Content-Length at the start was checked. Bytes are
// now judged as they arrive, however they arrive, and uploads completed
// but not yet referenced by a manifest count too: no sequence of requests
// stores more than the limit.
func TestQuotaCountsReceivedBytes(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		ctx := context.Background()
		const limit = 1 << 20
		e.createOrg("acme")
		e.mustAPI(http.StatusCreated, "POST", "/api/v1/superuser/organization/acme/quota", map[string]any{"limit_bytes": limit})
		acme, err := store.Accounts.AccountByName(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		admin := e.as("admin", "adminpass1")
		must(t, "login", admin.login("repository:acme/app:pull,push"), http.StatusOK)
		within := func(t *testing.T, what string) {
			t.Helper()
			charged, err := store.Usage.NamespaceCharge(ctx, acme.ID)
			if err != nil {
				t.Fatal(err)
			}
			if charged > limit {
				t.Fatalf("%s: acme is charged %d bytes, past its %d-byte quota", what, charged, limit)
			}
		}
		refusedQuota := func(t *testing.T, what string, r *response) {
			t.Helper()
			mustErr(t, what, r, http.StatusForbidden, "DENIED")
			if !strings.Contains(string(r.Body), "Quota has been exceeded on namespace acme") {
				t.Fatalf("%s: %s, want the quota's refusal", what, r.Body)
			}
			within(t, what)
		}
		notStored := func(t *testing.T, what string, data []byte) {
			t.Helper()
			mustErr(t, what+": GET the blob", admin.do("GET", "/v2/acme/app/blobs/"+sha256Of(data), nil), http.StatusNotFound, "BLOB_UNKNOWN")
		}
		start := func(t *testing.T) string {
			t.Helper()
			r := admin.do("POST", "/v2/acme/app/blobs/uploads/", nil)
			must(t, "start upload", r, http.StatusAccepted)
			return r.Header.Get("Location")
		}
		big := randomBytes(5_000_000)

		t.Run("monolithic", func(t *testing.T) {
			refusedQuota(t, "POST ?digest= with 5 MB", admin.do("POST", "/v2/acme/app/blobs/uploads/?digest="+sha256Of(big), big))
			notStored(t, "monolithic", big)
		})
		t.Run("POST, PATCH 5 MB, PUT: the chunk is refused and the upload keeps nothing of it", func(t *testing.T) {
			loc := start(t)
			refusedQuota(t, "PATCH 5 MB", admin.do("PATCH", loc, big))
			r := admin.do("GET", loc, nil)
			must(t, "upload status", r, http.StatusNoContent)
			if got := r.Header.Get("Range"); got != "0-0" {
				t.Fatalf("the upload holds %q after the refused chunk, want nothing", got)
			}
			if r := admin.do("PUT", withQuery(loc, "digest="+sha256Of(big)), nil); r.Status/100 == 2 {
				t.Fatalf("PUT after a refused chunk stored a blob: %s", r)
			}
			notStored(t, "chunked", big)
		})
		t.Run("a streamed chunk of unknown length is refused midway", func(t *testing.T) {
			loc := start(t)
			refusedQuota(t, "streamed PATCH 5 MB", admin.streamPatch(loc, bytes.NewReader(big)))
			mustErr(t, "the abandoned upload", admin.do("GET", loc, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
			notStored(t, "streamed", big)
		})
		t.Run("chunks are charged as they arrive", func(t *testing.T) {
			half := randomBytes(limit / 2)
			loc := start(t)
			r := admin.do("PATCH", loc, half)
			must(t, "first half", r, http.StatusAccepted)
			within(t, "first half")
			refusedQuota(t, "a second upload while the first holds half", admin.do("POST",
				"/v2/acme/app/blobs/uploads/?digest="+sha256Of(big[:limit]), big[:limit]))
			r = admin.streamPatch(r.Header.Get("Location"), bytes.NewReader(half[:limit/4]))
			must(t, "a streamed quarter", r, http.StatusAccepted)
			within(t, "a streamed quarter")
			all := append(append([]byte{}, half...), half[:limit/4]...)
			must(t, "finish", admin.do("PUT", withQuery(r.Header.Get("Location"), "digest="+sha256Of(all)), nil), http.StatusCreated)
			within(t, "finished")
		})
		t.Run("uploads no manifest references still count", func(t *testing.T) {
			// acme holds 3/4 MiB of one unreferenced blob: another 1/2 MiB
			// does not fit, however it is sent.
			more := randomBytes(limit / 2)
			refusedQuota(t, "another unreferenced blob", admin.do("POST", "/v2/acme/app/blobs/uploads/?digest="+sha256Of(more), more))
			notStored(t, "unreferenced", more)
		})
		t.Run("a mount is charged as an upload", func(t *testing.T) {
			e.createOrg("other")
			other := randomBytes(limit / 2)
			admin.pushBlob("other/src", other)
			admin.extra = []string{"repository:other/src:pull"}
			r := admin.do("POST", "/v2/acme/app/blobs/uploads/?mount="+sha256Of(other)+"&from=other/src", nil)
			admin.extra = nil
			refusedQuota(t, "mount 1/2 MiB into acme", r)
			notStored(t, "mounted", other)
		})
	})
}
