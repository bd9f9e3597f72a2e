package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// storeImage stores in repo an image manifest whose layers have sizes
// layerSizes (seed makes it unique), tagged tag ("" = none), and returns
// its digest.
func storeImage(t testing.TB, store *db.DB, repo *wharf.Repository, tag, seed string, layerSizes ...int64) string {
	t.Helper()
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	}
	config := []byte(`{"seed":"` + seed + `"}`)
	blobs := []string{digestOf(config)}
	layers := []desc{}
	link := func(d string, size int64) {
		if err := store.Registry.LinkBlob(t.Context(), wharf.BlobLink{RepositoryID: repo.ID, Digest: d, Size: size}); err != nil {
			t.Fatal(err)
		}
	}
	link(blobs[0], int64(len(config)))
	for i, n := range layerSizes {
		d := digestOf([]byte(fmt.Sprintf("%s layer %d", seed, i)))
		link(d, n)
		blobs = append(blobs, d)
		layers = append(layers, desc{"application/vnd.oci.image.layer.v1.tar+gzip", d, n})
	}
	content, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": desc{"application/vnd.oci.image.config.v1+json", blobs[0], int64(len(config))}, "layers": layers})
	m := &wharf.Manifest{RepositoryID: repo.ID, Digest: digestOf(content), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Content: content, Size: int64(len(content)), Blobs: blobs}
	if err := store.Registry.PutManifest(t.Context(), wharf.ManifestPush{Manifest: m, Repository: repo, Tag: tag}); err != nil {
		t.Fatal(err)
	}
	return m.Digest
}

// tagRows returns the tag items of a tag list response.
func tagRows(t *testing.T, r *response) []map[string]any {
	t.Helper()
	list, _ := r.JSON(t)["tags"].([]any)
	out := make([]map[string]any, len(list))
	for i, v := range list {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// The tag API end to end: history views, expiration, moves, deletion to
// the time machine, restore inside the window and refused outside it,
// manifest views and labels, each change logged with Quay's kind.
func TestTagAPI(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		repo, err := repositories(store).Create(t.Context(), &wharf.Caller{}, mustAccount(t, store, "admin"), "app", wharf.Private, "")
		if err != nil {
			t.Fatal(err)
		}
		const base = "/api/v1/repository/admin/app"
		m1 := storeImage(t, store, repo, "latest", "one", 100, 20)
		m2 := storeImage(t, store, repo, "", "two", 7)

		rows := tagRows(t, admin.do("GET", base+"/tag/", nil))
		if len(rows) != 1 || rows[0]["name"] != "latest" || rows[0]["manifest_digest"] != m1 || rows[0]["size"] != float64(120) ||
			rows[0]["is_manifest_list"] != false || rows[0]["reversion"] != false || rows[0]["end_ts"] != nil || rows[0]["start_ts"] == nil {
			t.Fatalf("tag list %v", rows)
		}
		mustStatus(t, admin.do("GET", base+"/tag", nil), http.StatusPermanentRedirect)

		// Expiration: in the future, kept at least an hour after the start.
		soon := time.Now().Add(10 * time.Minute).Unix()
		r := admin.do("PUT", base+"/tag/latest", map[string]any{"expiration": soon})
		mustStatus(t, r, http.StatusCreated)
		if string(r.Body) != "\"Updated\"\n" {
			t.Errorf("PUT body %q, want \"Updated\"", r.Body)
		}
		rows = tagRows(t, admin.do("GET", base+"/tag/?onlyActiveTags=true", nil))
		end, _ := rows[0]["end_ts"].(float64)
		if start, _ := rows[0]["start_ts"].(float64); end < start+3600 || rows[0]["expiration"] == nil {
			t.Errorf("expiring tag %v: want end_ts an hour after start", rows[0])
		}
		mustStatus(t, admin.do("PUT", base+"/tag/latest", map[string]any{"expiration": time.Now().Add(-time.Hour).Unix()}), http.StatusBadRequest)
		mustStatus(t, admin.do("PUT", base+"/tag/latest", map[string]any{"expiration": nil}), http.StatusCreated)
		mustStatus(t, admin.do("PUT", base+"/tag/.bad", map[string]any{}), http.StatusBadRequest)
		mustStatus(t, admin.do("PUT", base+"/tag/ghost", map[string]any{"expiration": soon}), http.StatusNotFound)

		// A move needs an alive manifest: m2 was pushed by digest only.
		mustStatus(t, admin.do("PUT", base+"/tag/other", map[string]any{"manifest_digest": m2}), http.StatusNotFound)
		mustStatus(t, admin.do("PUT", base+"/tag/other", map[string]any{"manifest_digest": m1}), http.StatusCreated)

		// Delete sends the tag to the time machine; restore brings it back.
		mustStatus(t, admin.do("DELETE", base+"/tag/other", nil), http.StatusNoContent)
		mustStatus(t, admin.do("DELETE", base+"/tag/other", nil), http.StatusNotFound)
		rows = tagRows(t, admin.do("GET", base+"/tag/?specificTag=other", nil))
		if len(rows) != 1 || rows[0]["expiration"] == nil {
			t.Fatalf("deleted tag's history %v", rows)
		}
		r = admin.do("POST", base+"/tag/other/restore", map[string]any{})
		if mustStatus(t, r, http.StatusBadRequest); !strings.Contains(string(r.Body), "Missing manifest_digest") {
			t.Errorf("restore without a digest: %s", r.Body)
		}
		r = admin.do("POST", base+"/tag/other/restore", map[string]any{"manifest_digest": m1})
		if mustStatus(t, r, http.StatusOK); string(r.Body) != "{}\n" {
			t.Errorf("restore body %q", r.Body)
		}
		rows = tagRows(t, admin.do("GET", base+"/tag/?filter_tag_name=like:THE", nil))
		if len(rows) != 2 || rows[0]["reversion"] != true {
			t.Fatalf("filtered history %v, want the restored lifetime first", rows)
		}
		mustStatus(t, admin.do("GET", base+"/tag/?filter_tag_name=other", nil), http.StatusBadRequest)

		// Outside the namespace's window the restore is refused, naming it.
		ns := mustAccount(t, store, "admin")
		zero := *ns
		zero.TagExpirationS = 0
		if err := store.Accounts.UpdateAccount(t.Context(), ns, &zero); err != nil {
			t.Fatal(err)
		}
		mustStatus(t, admin.do("DELETE", base+"/tag/other", nil), http.StatusNoContent)
		time.Sleep(2 * time.Millisecond)
		r = admin.do("POST", base+"/tag/gone/restore", map[string]any{"manifest_digest": m2})
		if mustStatus(t, r, http.StatusBadRequest); !strings.Contains(string(r.Body), "time machine window of 0 seconds") {
			t.Errorf("restore outside the window: %s", r.Body)
		}

		// The manifest view and labels.
		v := admin.do("GET", base+"/manifest/"+m1, nil).JSON(t)
		if v["digest"] != m1 || v["layers_compressed_size"] != float64(120) || v["is_manifest_list"] != false {
			t.Errorf("manifest view %v", v)
		}
		mustStatus(t, admin.do("GET", base+"/manifest/"+m2, nil), http.StatusNotFound)
		r = admin.do("POST", base+"/manifest/"+m1+"/labels", map[string]any{"key": "team", "value": `{"a":1}`, "media_type": nil})
		mustStatus(t, r, http.StatusCreated)
		label, _ := r.JSON(t)["label"].(map[string]any)
		id, _ := label["id"].(string)
		if label["media_type"] != "application/json" || label["source_type"] != "api" || !strings.HasSuffix(r.Header.Get("Location"), "/labels/"+id) {
			t.Errorf("label %v, Location %q", label, r.Header.Get("Location"))
		}
		for body, msg := range map[string]string{
			`{"key": "quay.expires-after", "value": "1d", "media_type": null}`: "reserved prefix",
			`{"key": "Bad..Key", "value": "x", "media_type": null}`:            "invalid format",
			`{"key": "ok", "value": "x", "media_type": "text/html"}`:           "Media type is invalid",
		} {
			r := admin.do("POST", base+"/manifest/"+m1+"/labels", body)
			if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), msg) {
				t.Errorf("label %s: %d %s, want 400 %q", body, r.Status, r.Body, msg)
			}
		}
		if labels, _ := admin.do("GET", base+"/manifest/"+m1+"/labels?filter=te", nil).JSON(t)["labels"].([]any); len(labels) != 1 {
			t.Errorf("filtered labels %v", labels)
		}
		mustStatus(t, admin.do("GET", base+"/manifest/"+m1+"/labels/"+id, nil), http.StatusOK)
		mustStatus(t, admin.do("DELETE", base+"/manifest/"+m1+"/labels/"+id, nil), http.StatusNoContent)
		mustStatus(t, admin.do("GET", base+"/manifest/"+m1+"/labels/"+id, nil), http.StatusNotFound)

		logs, err := store.Logs.ListLogs(t.Context(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, en := range logs {
			count[en.Kind]++
		}
		for kind, n := range map[string]int{"change_tag_expiration": 2, "create_tag": 2, "delete_tag": 2, "revert_tag": 1,
			"manifest_label_add": 1, "manifest_label_delete": 1} {
			if count[kind] != n {
				t.Errorf("%d %s entries, want %d", count[kind], kind, n)
			}
		}
	})
}

// TestRepositoryViewTags: the repository view carries its alive tags by
// name (spec §5.3) unless includeTags is false; an expiring tag shows its
// expiration, a deleted one is gone.
func TestRepositoryViewTags(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		repo, err := repositories(store).Create(t.Context(), &wharf.Caller{}, mustAccount(t, store, "admin"), "app", wharf.Private, "")
		if err != nil {
			t.Fatal(err)
		}
		d := storeImage(t, store, repo, "latest", "view", 100, 23)
		const path = "/api/v1/repository/admin/app"
		mustStatus(t, admin.do("PUT", path+"/tag/v1", map[string]any{"manifest_digest": d}), http.StatusCreated)
		mustStatus(t, admin.do("PUT", path+"/tag/gone", map[string]any{"manifest_digest": d}), http.StatusCreated)
		mustStatus(t, admin.do("DELETE", path+"/tag/gone", nil), http.StatusNoContent)
		expires := time.Now().Add(48 * time.Hour).Unix()
		mustStatus(t, admin.do("PUT", path+"/tag/v1", map[string]any{"expiration": expires}), http.StatusCreated)

		r := admin.do("GET", path, nil)
		mustStatus(t, r, http.StatusOK)
		tags, _ := r.JSON(t)["tags"].(map[string]any)
		if len(tags) != 2 {
			t.Fatalf("tags %v, want latest and v1", tags)
		}
		latest, _ := tags["latest"].(map[string]any)
		if latest["name"] != "latest" || latest["manifest_digest"] != d || latest["size"] != float64(123) || latest["last_modified"] == nil {
			t.Errorf("latest: %v", latest)
		}
		if _, ok := latest["expiration"]; ok {
			t.Errorf("latest has an expiration: %v", latest)
		}
		v1, _ := tags["v1"].(map[string]any)
		if v1["expiration"] != time.Unix(expires, 0).UTC().Format("Mon, 02 Jan 2006 15:04:05 -0000") {
			t.Errorf("v1: %v, want expiration at %d", v1, expires)
		}

		r = admin.do("GET", path+"?includeTags=False", nil)
		mustStatus(t, r, http.StatusOK)
		if _, ok := r.JSON(t)["tags"]; ok {
			t.Errorf("includeTags=False: %s", r.Body)
		}
	})
}

// TestRepositoryViewStats: includeStats adds the repository's action
// counts for each of the 91 days before today, days with entries first.
func TestRepositoryViewStats(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		admin := e.bootstrap()
		owner := mustAccount(t, store, "admin")
		repo, err := repositories(store).Create(t.Context(), &wharf.Caller{}, owner, "app", wharf.Private, "")
		if err != nil {
			t.Fatal(err)
		}
		today := time.Now().UTC().Truncate(24 * time.Hour)
		for back, n := range map[int]int{0: 1, 1: 3, 10: 1, 100: 2} {
			for range n {
				if err := store.Logs.AppendLogs(t.Context(), wharf.LogEntry{Kind: "pull_repo", Account: wharf.PartyOf(owner),
					RepositoryID: repo.ID, Time: today.AddDate(0, 0, -back).Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		r := admin.do("GET", "/api/v1/repository/admin/app?includeStats=true&includeTags=false", nil)
		mustStatus(t, r, http.StatusOK)
		stats, _ := r.JSON(t)["stats"].([]any)
		if len(stats) != 91 {
			t.Fatalf("%d stats, want 91: %s", len(stats), r.Body)
		}
		day := func(back int) string { return today.AddDate(0, 0, -back).Format(time.DateOnly) }
		want := []map[string]any{{"date": day(10), "count": float64(1)}, {"date": day(1), "count": float64(3)},
			{"date": day(2), "count": float64(0)}, {"date": day(3), "count": float64(0)}}
		for i, w := range want {
			if got, _ := stats[i].(map[string]any); got["date"] != w["date"] || got["count"] != w["count"] {
				t.Errorf("stats[%d] = %v, want %v", i, got, w)
			}
		}
		if last, _ := stats[90].(map[string]any); last["date"] != day(91) {
			t.Errorf("last stats entry %v, want %s", last, day(91))
		}
		r = admin.do("GET", "/api/v1/repository/admin/app", nil)
		if _, ok := r.JSON(t)["stats"]; ok {
			t.Errorf("stats without includeStats: %s", r.Body)
		}
	})
}
