package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/registry"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// An upload left idle for longer than the limit is removed with its data;
// a fresh one is kept.
func TestExpireUploads(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		must(t, "login", alice.login("repository:alice/app:pull,push"), http.StatusOK)
		r := e.send("POST", "/v2/alice/app/blobs/uploads/", nil, alice.token)
		must(t, "start upload", r, http.StatusAccepted)
		loc := r.Header.Get("Location")
		must(t, "PATCH", e.send("PATCH", loc, []byte("some bytes"), alice.token), http.StatusAccepted)
		ctx := context.Background()

		if n, err := registry.ExpireUploads(ctx, store.Uploads, e.blobs, time.Now(), 24*time.Hour); err != nil || n != 0 {
			t.Fatalf("a fresh upload expired: %d, %v", n, err)
		}
		n, err := registry.ExpireUploads(ctx, store.Uploads, e.blobs, time.Now().Add(25*time.Hour), 24*time.Hour)
		if err != nil || n != 1 {
			t.Fatalf("expired %d uploads, %v; want 1", n, err)
		}
		mustErr(t, "status of the expired upload", e.send("GET", loc, nil, alice.token), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		if files := e.storedFiles("uploads"); len(files) != 0 {
			t.Fatalf("expired upload left data behind: %v", files)
		}
	})
}

// The consistency check finds a blob the database uses but storage lost.
func TestCheckFindsMissingBlobs(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		d := alice.pushBlob("alice/app", []byte("precious"))
		ctx := context.Background()
		var problems []string
		n, err := registry.Check(ctx, store.Registry, e.blobs, func(p string) { problems = append(problems, p) })
		if err != nil || n != 1 || len(problems) != 0 {
			t.Fatalf("clean store: checked %d, problems %v, %v", n, problems, err)
		}
		for _, f := range e.blobCopies(d) {
			if err := e.blobs.Delete(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		problems = nil
		if _, err := registry.Check(ctx, store.Registry, e.blobs, func(p string) { problems = append(problems, p) }); err != nil {
			t.Fatal(err)
		}
		if len(problems) != 1 {
			t.Fatalf("problems %v, want the missing blob", problems)
		}
	})
}

// Crossing a quota's Warning threshold writes a quota_warning entry; the
// push itself goes through.
func TestQuotaWarningIsLogged(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		e.createOrg("acme")
		e.mustAPI(http.StatusCreated, "POST", "/api/v1/superuser/organization/acme/quota", map[string]any{"limit_bytes": 1000})
		var quotas []struct{ ID int64 }
		if err := json.Unmarshal(e.mustAPI(http.StatusOK, "GET", "/api/v1/superuser/organization/acme/quota", nil), &quotas); err != nil || len(quotas) != 1 {
			t.Fatalf("quota list: %v %v", quotas, err)
		}
		e.mustAPI(http.StatusCreated, "POST", fmt.Sprintf("/api/v1/organization/acme/quota/%d/limit", quotas[0].ID),
			map[string]any{"type": "Warning", "threshold_percent": 5})
		admin := e.as("admin", "adminpass1")
		admin.pushImage("acme/app", "v1", "warning")
		var warnings []wharf.LogEntry
		for _, l := range e.logs() {
			if l.Kind == "quota_warning" {
				warnings = append(warnings, l)
			}
		}
		if len(warnings) != 1 || warnings[0].Metadata["threshold_bytes"] != float64(50) {
			t.Fatalf("quota_warning entries %+v, want one at 50 bytes", warnings)
		}
		admin.pushImage("acme/app", "v2", "warning-again")
		n := 0
		for _, l := range e.logs() {
			if l.Kind == "quota_warning" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d quota_warning entries after a second push above the threshold, want still 1", n)
		}
	})
}

// A monolithic upload larger than the namespace's room is refused at upload
// start, before anything is created.
func TestQuotaRefusesAtUploadStart(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		e.createOrg("tight")
		e.mustAPI(http.StatusCreated, "POST", "/api/v1/superuser/organization/tight/quota", map[string]any{"limit_bytes": 100})
		admin := e.as("admin", "adminpass1")
		big := make([]byte, 200)
		r := admin.do("POST", "/v2/tight/fresh/blobs/uploads/?digest="+sha256Of(big), big, "Content-Type", "application/octet-stream")
		mustErr(t, "oversized upload", r, http.StatusForbidden, "DENIED")
		if !strings.Contains(string(r.Body), "Quota has been exceeded on namespace tight") {
			t.Fatalf("body %s", r.Body)
		}
		if _, err := store.Registry.RepositoryByName(context.Background(), "tight", "fresh"); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("a refused upload created the repository: %v", err)
		}
		small := []byte("fits")
		must(t, "small upload", admin.do("POST", "/v2/tight/fresh/blobs/uploads/?digest="+sha256Of(small), small,
			"Content-Type", "application/octet-stream"), http.StatusCreated)
	})
}

// A manifest pushed to a new repository name whose blobs are not there is
// refused without creating the repository.
func TestRefusedManifestCreatesNoRepository(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		body := manifestJSON(mtOCIManifest, blobDesc(mtOCIConfig, []byte("{}")), []desc{blobDesc(mtOCILayer, []byte("absent"))}, nil)
		r := alice.do("PUT", "/v2/alice/ghost/manifests/v1", body, "Content-Type", mtOCIManifest)
		mustErr(t, "manifest with missing blobs", r, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		if _, err := store.Registry.RepositoryByName(context.Background(), "alice", "ghost"); !wharf.IsCode(err, wharf.NotFound) {
			t.Fatalf("a refused manifest created the repository: %v", err)
		}
	})
}

// Bytes that would take the namespace past its limit are refused where
// they arrive, with 403 DENIED naming the bytes they add, the usage and
// the limit — an upload refused keeps nothing, and its blob cannot be
// used by a manifest; what is stored already adds nothing.
func TestQuotaRefusesBytesPastTheLimit(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		e.createOrg("tight")
		e.mustAPI(http.StatusCreated, "POST", "/api/v1/superuser/organization/tight/quota", map[string]any{"limit_bytes": 100})
		admin := e.as("admin", "adminpass1")
		config := []byte("{}")
		first, second := bytes.Repeat([]byte("a"), 60), bytes.Repeat([]byte("b"), 60)
		admin.pushBlob("tight/app", config)
		admin.pushBlob("tight/app", first)
		m1 := manifestJSON(mtOCIManifest, blobDesc(mtOCIConfig, config), []desc{blobDesc(mtOCILayer, first)}, nil)
		must(t, "first manifest", admin.do("PUT", "/v2/tight/app/manifests/v1", m1, "Content-Type", mtOCIManifest), http.StatusCreated)
		// A chunked upload: its start announces no size, so it is let in;
		// its bytes are judged when they arrive.
		r := admin.do("POST", "/v2/tight/app/blobs/uploads/", nil)
		must(t, "start upload", r, http.StatusAccepted)
		r = admin.do("PUT", withQuery(r.Header.Get("Location"), "digest="+sha256Of(second)), second)
		mustErr(t, "upload past the limit", r, http.StatusForbidden, "DENIED")
		if want := "adds 60 bytes to the 62 bytes in use, and the limit is 100 bytes"; !strings.Contains(string(r.Body), want) {
			t.Fatalf("body %s, want it to say %q", r.Body, want)
		}
		mustErr(t, "the refused blob", admin.do("HEAD", "/v2/tight/app/blobs/"+sha256Of(second), nil), http.StatusNotFound, "")
		m2 := manifestJSON(mtOCIManifest, blobDesc(mtOCIConfig, config), []desc{blobDesc(mtOCILayer, second)}, nil)
		mustErr(t, "a manifest of the refused blob", admin.do("PUT", "/v2/tight/app/manifests/v2", m2, "Content-Type", mtOCIManifest),
			http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		// The same manifest under a second tag adds nothing, and fits.
		must(t, "retag", admin.do("PUT", "/v2/tight/app/manifests/again", m1, "Content-Type", mtOCIManifest), http.StatusCreated)
	})
}
