package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/app"
	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestBuildStatusBadge: the badge of a private repository is shown only
// with its status token, which its readers see in the repository view;
// without it, with a wrong one or for a missing repository the answer is
// the same 404; a public repository's needs none. The image follows the
// latest build.
func TestBuildStatusBadge(t *testing.T) {
	for _, d := range dbtest.Engines(t) {
		t.Run(string(d), func(t *testing.T) {
			s, a := newServerLogging(t, dbtest.Open(t, d), io.Discard, nil)
			admin := "Bearer " + s.admin
			must(t, s.do("POST", "/api/v1/repository", admin, map[string]any{
				"namespace": "admin", "repository": "app", "visibility": "private", "description": ""}), http.StatusCreated)
			statusToken := func() string {
				var view struct {
					StatusToken *string `json:"status_token"`
				}
				json.Unmarshal(must(t, s.do("GET", "/api/v1/repository/admin/app", admin, nil), http.StatusOK).body, &view)
				if view.StatusToken == nil {
					t.Fatal("the repository view has no status_token")
				}
				return *view.StatusToken
			}
			token := statusToken()
			if len(token) < 20 {
				t.Fatalf("status_token %q: want a secret", token)
			}
			badge := func(path string, want int, status string) {
				t.Helper()
				r := must(t, s.do("GET", path, "", nil), want)
				if want != http.StatusOK {
					return
				}
				if ct := r.header.Get("Content-Type"); ct != "image/svg+xml" || !strings.Contains(string(r.body), "build: "+status+"<") {
					t.Fatalf("GET %s: %s %q; want an SVG saying %s", path, ct, r.body, status)
				}
			}
			for _, path := range []string{
				"/repository/admin/app/status",
				"/repository/admin/app/status?token=",
				"/repository/admin/app/status?token=" + token[:len(token)-1] + "x",
				"/repository/admin/nothing/status?token=" + token,
			} {
				badge(path, http.StatusNotFound, "")
			}
			badge("/repository/admin/app/status?token="+token, http.StatusOK, "none")
			must(t, s.do("POST", "/repository/admin/app/status?token="+token, "", nil), http.StatusMethodNotAllowed)

			repo, err := a.Store.Registry.RepositoryByName(t.Context(), "admin", "app")
			if err != nil {
				t.Fatal(err)
			}
			archive := "https://example.com/context.tar.gz"
			b := &wharf.Build{UUID: build.NewUUID(), Repository: *repo, DisplayName: "badge",
				Job: wharf.BuildJob{DockerTags: []string{"latest"}, ArchiveURL: &archive,
					TriggerMetadata: map[string]any{}, IsManual: true}, RetriesRemaining: 3}
			if err := a.Store.Builds.CreateBuild(t.Context(), b, 0); err != nil {
				t.Fatal(err)
			}
			badge("/repository/admin/app/status?token="+token, http.StatusOK, "building")
			r := must(t, s.do("GET", "/repository/admin/app/status?token="+token, "", nil), http.StatusOK)
			req, _ := http.NewRequest("GET", s.url+"/repository/admin/app/status?token="+token, nil)
			req.Header.Set("If-None-Match", r.header.Get("ETag"))
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotModified {
				t.Fatalf("If-None-Match %s: %v %v; want 304", r.header.Get("ETag"), resp, err)
			}
			if _, err := a.Store.Builds.CancelBuild(t.Context(), b.UUID); err != nil {
				t.Fatal(err)
			}
			badge("/repository/admin/app/status?token="+token, http.StatusOK, "cancelled")

			// Public: no token needed, and the view shows none.
			must(t, s.do("POST", "/api/v1/repository/admin/app/changevisibility", admin, map[string]any{"visibility": "public"}), http.StatusOK)
			if got := statusToken(); got != "" {
				t.Errorf("a public repository's status_token is %q; want \"\"", got)
			}
			badge("/repository/admin/app/status", http.StatusOK, "cancelled")
		})
	}
}

func TestBadgeStatusOfPhases(t *testing.T) {
	for phase, want := range map[string]string{
		wharf.PhaseWaiting: "building", wharf.PhasePushing: "building", wharf.PhaseComplete: "ready",
		wharf.PhaseError: "failed", wharf.PhaseInternalError: "failed", wharf.PhaseCancelled: "cancelled",
	} {
		if got := app.BadgeStatusOf(phase); got != want {
			t.Errorf("phase %s: badge %s, want %s", phase, got, want)
		}
	}
}
