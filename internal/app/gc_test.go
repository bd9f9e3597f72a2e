package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestManifestDeleteSparesPushInProgress is the attack of one client on
// another's push: B uploads a layer that A's image also has, and is about
// to PUT its manifest; A deletes its image (the last manifest of the
// repository that references the layer) and the collector runs with no
// grace. B's manifest must still be accepted and its layer still pull,
// whether B's upload came after A's push or before A's manifest: each
// upload keeps its blob linked until a manifest PUT references it, or
// PUSH_TEMP_TAG_EXPIRATION_SEC passes (Quay's temporary push tag).
func TestManifestDeleteSparesPushInProgress(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s, a := newServerLogging(t, store, io.Discard, func(c *config.Config) { c.FeatureGarbageCollection = false })
		tok := s.registryToken("admin/app")
		gc := a.Collector()
		gc.Grace, gc.PauseRatio = 0, 0
		for _, tc := range []struct {
			name    string
			bBefore bool // B uploads before A PUTs its manifest
		}{{"B uploads after A's push", false}, {"B uploads before A's manifest", true}} {
			t.Run(tc.name, func(t *testing.T) {
				imA := newImage("a " + tc.name)
				imB := imageWithLayer("b "+tc.name, imA.layer)
				must(t, s.pushBlob("admin/app", tok, imA.config), http.StatusCreated)
				must(t, s.pushBlob("admin/app", tok, imA.layer), http.StatusCreated)
				bUploads := func() {
					must(t, s.pushBlob("admin/app", tok, imB.config), http.StatusCreated)
					must(t, s.pushBlob("admin/app", tok, imB.layer), http.StatusCreated)
				}
				if tc.bBefore {
					bUploads()
				}
				must(t, s.manifestPut("admin/app", "a", tok, imA.manifest), http.StatusCreated)
				if !tc.bBefore {
					bUploads()
				}
				must(t, s.do("DELETE", "/v2/admin/app/manifests/"+digestOf(imA.manifest), tok, nil), http.StatusAccepted)
				if _, err := gc.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
				must(t, s.manifestPut("admin/app", "b", tok, imB.manifest), http.StatusCreated)
				got := must(t, s.do("GET", "/v2/admin/app/blobs/"+digestOf(imB.layer), tok, nil), http.StatusOK)
				if string(got.body) != string(imB.layer) {
					t.Errorf("layer pulled as %q", got.body)
				}
				// Once the push tag's time is over, what A's deletion left
				// goes: A's config; the layer B's manifest uses stays.
				lg := gc.LinkGrace
				gc.LinkGrace = 0
				defer func() { gc.LinkGrace = lg }()
				time.Sleep(time.Millisecond)
				for range 2 { // the first run unlinks, the second collects
					if _, err := gc.Run(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				must(t, s.do("GET", "/v2/admin/app/blobs/"+digestOf(imA.config), tok, nil), http.StatusNotFound)
				must(t, s.do("GET", "/v2/admin/app/blobs/"+digestOf(imB.layer), tok, nil), http.StatusOK)
			})
		}
	})
}

// imageWithLayer is newImage(seed) with layer as its layer.
func imageWithLayer(seed string, layer []byte) image {
	im := newImage(seed)
	im.layer = layer
	var m map[string]any
	json.Unmarshal(im.manifest, &m)
	m["layers"].([]any)[0].(map[string]any)["digest"] = digestOf(layer)
	m["layers"].([]any)[0].(map[string]any)["size"] = len(layer)
	im.manifest, _ = json.Marshal(m)
	return im
}
