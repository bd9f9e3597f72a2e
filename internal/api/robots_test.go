package api_test

import (
	"net/http"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// wantFreshRobotToken checks a regenerate answer against the store: the
// token it shows is the robot's token now.
func wantFreshRobotToken(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
	t.Helper()
	name, _ := bodyField(t, r, "name").(string)
	token, _ := bodyField(t, r, "token").(string)
	rb, err := x.f.store.Accounts.RobotByName(t.Context(), name)
	if err != nil {
		t.Fatalf("robot %q: %v", name, err)
	}
	if token == "" || rb.Token != token {
		t.Errorf("answer's token %q is not the stored one", token)
	}
}

// TestRegenerateRobotToken: Quay's regenerate answers the robot's view
// with a new token, the old one no longer signs in, the action log says
// regenerate_robot_token in the robot's namespace with its short name, and
// a missing robot is 404.
func TestRegenerateRobotToken(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "acme"}), http.StatusCreated)
		for _, tc := range []struct{ name, base, robot, namespace string }{
			{"organization robot", "/api/v1/organization/acme/robots/", "acme+ci", "acme"},
			{"user robot", "/api/v1/user/robots/", "admin+ci", "admin"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				created := adm.do("PUT", tc.base+"ci", map[string]any{"description": "builds"})
				mustStatus(t, created, http.StatusCreated)
				old := created.JSON(t)["token"].(string)

				r := adm.do("POST", tc.base+"ci/regenerate", nil)
				mustStatus(t, r, http.StatusOK)
				v := r.JSON(t)
				if v["name"] != tc.robot || v["description"] != "builds" || v["token"] == old || len(v["token"].(string)) != 64 {
					t.Errorf("regenerated view %s (old token %s)", r.Body, old)
				}
				if got := adm.do("GET", tc.base+"ci", nil).JSON(t)["token"]; got != v["token"] {
					t.Errorf("GET shows token %v, want the new %v", got, v["token"])
				}
				for _, tok := range []struct {
					secret string
					want   int
				}{{old, http.StatusUnauthorized}, {v["token"].(string), http.StatusOK}} {
					req, _ := http.NewRequest("GET", e.srv.URL+"/v2/auth?service="+e.cfg.ServerHostname, nil)
					req.SetBasicAuth(tc.robot, tok.secret)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != tok.want {
						t.Errorf("/v2/auth with token %.6s…: %d, want %d", tok.secret, resp.StatusCode, tok.want)
					}
				}
				entries := kindsOf(t, store, "regenerate_robot_token")
				last := entries[len(entries)-1]
				if last.Metadata["robot"] != "ci" || last.Account.Name != tc.namespace {
					t.Errorf("log entry %+v", last)
				}
			})
		}
		wantError(t, adm.do("POST", "/api/v1/organization/acme/robots/nobody/regenerate", nil), http.StatusNotFound, "")
	})
}
