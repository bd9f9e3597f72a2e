package registry_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

func TestTagsList(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		const name = "alice/app"
		body, _ := alice.pushImage(name, "t0", "tags")
		for _, tag := range []string{"t3", "t1", "t4", "t2"} {
			must(t, "PUT "+tag, alice.do("PUT", "/v2/"+name+"/manifests/"+tag, body, "Content-Type", mtOCIManifest), http.StatusCreated)
		}
		cases := []struct {
			query string
			tags  []string
			link  string
		}{
			{"", []string{"t0", "t1", "t2", "t3", "t4"}, ""},
			{"?n=2", []string{"t0", "t1"}, `</v2/alice/app/tags/list?last=t1&n=2>; rel="next"`},
			{"?last=t1&n=2", []string{"t2", "t3"}, `</v2/alice/app/tags/list?last=t3&n=2>; rel="next"`},
			{"?last=t3&n=2", []string{"t4"}, ""},
			{"?n=5", []string{"t0", "t1", "t2", "t3", "t4"}, ""},
			{"?last=t2", []string{"t3", "t4"}, ""},
			{"?last=t4", []string{}, ""},
			{"?last=zzz&n=3", []string{}, ""},
			{"?n=0", []string{}, ""},
			{"?n=1000000", []string{"t0", "t1", "t2", "t3", "t4"}, ""},
		}
		for _, tc := range cases {
			t.Run(tc.query, func(t *testing.T) {
				r := alice.do("GET", "/v2/"+name+"/tags/list"+tc.query, nil)
				must(t, "tags list", r, http.StatusOK)
				var v struct {
					Name string   `json:"name"`
					Tags []string `json:"tags"`
				}
				if err := json.Unmarshal(r.Body, &v); err != nil {
					t.Fatal(err)
				}
				if v.Name != name || !slices.Equal(v.Tags, tc.tags) || v.Tags == nil {
					t.Errorf("body %s, want name %s and tags %v", r.Body, name, tc.tags)
				}
				if got := r.Header.Get("Link"); got != tc.link {
					t.Errorf("Link %q, want %q", got, tc.link)
				}
			})
		}
		t.Run("following Link walks every tag", func(t *testing.T) {
			var all []string
			next := "/v2/" + name + "/tags/list?n=2"
			for i := 0; next != "" && i < 10; i++ {
				r := alice.do("GET", next, nil)
				must(t, "GET "+next, r, http.StatusOK)
				var v struct{ Tags []string }
				json.Unmarshal(r.Body, &v)
				all = append(all, v.Tags...)
				next = ""
				if l := r.Header.Get("Link"); l != "" {
					next = l[1:strings.Index(l, ">")]
				}
			}
			if !slices.Equal(all, []string{"t0", "t1", "t2", "t3", "t4"}) {
				t.Fatalf("walked %v", all)
			}
		})
		for _, bad := range []string{"abc", "-1", "1.5", "99999999999999999999"} {
			t.Run("n="+bad, func(t *testing.T) {
				mustErr(t, "tags list", alice.do("GET", "/v2/"+name+"/tags/list?n="+bad, nil), http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
			})
		}
		t.Run("unknown repository", func(t *testing.T) {
			mustErr(t, "tags list", alice.do("GET", "/v2/alice/nothing/tags/list", nil), http.StatusNotFound, "NAME_UNKNOWN")
		})
	})
}

func TestReferrers(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		alice := e.as("alice", e.createUser("alice"))
		const name = "alice/app"
		subject, sd := alice.pushImage(name, "latest", "subject")
		empty := []byte("{}")
		alice.pushBlob(name, empty)
		sbom, sig := []byte(`{"spdx":true}`), []byte("signature")
		alice.pushBlob(name, sbom)
		alice.pushBlob(name, sig)
		subj := desc{MediaType: mtOCIManifest, Digest: sd, Size: int64(len(subject))}
		push := func(artifactType string, config desc, layer []byte, annotations map[string]string) string {
			extra := map[string]any{"subject": subj, "annotations": annotations}
			if artifactType != "" {
				extra["artifactType"] = artifactType
			}
			body := manifestJSON(mtOCIManifest, config, []desc{blobDesc("application/octet-stream", layer)}, extra)
			r := alice.do("PUT", "/v2/"+name+"/manifests/"+sha256Of(body), body, "Content-Type", mtOCIManifest)
			must(t, "PUT referrer", r, http.StatusCreated)
			if r.Header.Get("OCI-Subject") != sd {
				t.Fatalf("OCI-Subject %q, want %q", r.Header.Get("OCI-Subject"), sd)
			}
			return sha256Of(body)
		}
		emptyConfig := desc{MediaType: mtEmpty, Digest: sha256Of(empty), Size: 2}
		sbomD := push("application/spdx+json", emptyConfig, sbom, map[string]string{"org.example": "sbom"})
		sigD := push("application/vnd.example.signature", emptyConfig, sig, nil)
		// An artifact without artifactType is reported by its config's media type.
		legacyD := push("", desc{MediaType: "application/vnd.example.legacy.config", Digest: sha256Of(empty), Size: 2}, sig, nil)

		type referrer struct {
			MediaType    string            `json:"mediaType"`
			Digest       string            `json:"digest"`
			Size         int64             `json:"size"`
			ArtifactType string            `json:"artifactType"`
			Annotations  map[string]string `json:"annotations"`
		}
		cases := []struct {
			name, query string
			want        map[string]string // digest → artifactType
			filtered    bool
		}{
			{"all", "", map[string]string{sbomD: "application/spdx+json", sigD: "application/vnd.example.signature",
				legacyD: "application/vnd.example.legacy.config"}, false},
			{"artifactType filter", "?artifactType=application/spdx%2Bjson", map[string]string{sbomD: "application/spdx+json"}, true},
			{"config type filter", "?artifactType=application/vnd.example.legacy.config",
				map[string]string{legacyD: "application/vnd.example.legacy.config"}, true},
			{"filter matching nothing", "?artifactType=application/none", map[string]string{}, true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := alice.do("GET", "/v2/"+name+"/referrers/"+sd+tc.query, nil)
				must(t, "referrers", r, http.StatusOK)
				if got := r.Header.Get("Content-Type"); got != mtOCIIndex {
					t.Errorf("Content-Type %q, want %q", got, mtOCIIndex)
				}
				if got, want := r.Header.Get("OCI-Filters-Applied"), map[bool]string{true: "artifactType"}[tc.filtered]; got != want {
					t.Errorf("OCI-Filters-Applied %q, want %q", got, want)
				}
				var idx struct {
					SchemaVersion int        `json:"schemaVersion"`
					MediaType     string     `json:"mediaType"`
					Manifests     []referrer `json:"manifests"`
				}
				if err := json.Unmarshal(r.Body, &idx); err != nil {
					t.Fatal(err)
				}
				if idx.SchemaVersion != 2 || idx.MediaType != mtOCIIndex || idx.Manifests == nil {
					t.Errorf("index %s", r.Body)
				}
				got := map[string]string{}
				for _, m := range idx.Manifests {
					got[m.Digest] = m.ArtifactType
					if m.MediaType != mtOCIManifest || m.Size <= 0 {
						t.Errorf("descriptor %+v", m)
					}
					if m.Digest == sbomD && m.Annotations["org.example"] != "sbom" {
						t.Errorf("sbom annotations %v", m.Annotations)
					}
				}
				if len(got) != len(tc.want) {
					t.Fatalf("referrers %v, want %v", got, tc.want)
				}
				for d, at := range tc.want {
					if got[d] != at {
						t.Fatalf("referrers %v, want %v", got, tc.want)
					}
				}
			})
		}
		t.Run("unknown subject", func(t *testing.T) {
			r := alice.do("GET", "/v2/"+name+"/referrers/"+sha256Of([]byte("nothing")), nil)
			must(t, "referrers", r, http.StatusOK)
			var idx struct{ Manifests []any }
			if json.Unmarshal(r.Body, &idx); idx.Manifests == nil || len(idx.Manifests) != 0 {
				t.Fatalf("body %s, want an empty manifests list", r.Body)
			}
		})
		t.Run("referrers of a private repository", func(t *testing.T) {
			mustErr(t, "anonymous", e.anonymous().do("GET", "/v2/"+name+"/referrers/"+sd, nil), http.StatusNotFound, "NAME_UNKNOWN")
		})
	})
}
