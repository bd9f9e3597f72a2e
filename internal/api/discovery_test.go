package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-openapi/loads"
	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/validate"
	"github.com/google/go-cmp/cmp"
)

// fullSurface registers every route routes.go has, every feature on, on
// handlers that are never called: what the discovery document is made from.
func fullSurface(superUsers bool) *Server {
	s := &Server{mux: http.NewServeMux(), site: site{scheme: "https", hostname: "registry.example.com"}, superUsers: superUsers}
	s.routes(Options{FeatureUserInitialize: true, FeatureSuperUsers: superUsers, FeatureQuotaManagement: true, FeatureEditQuota: true},
		resources{sessions: &sessions{}, users: &users{}, orgs: &orgs{}, repositories: &repositories{},
			quotas: &quotas{}, serviceKeys: &serviceKeys{}, builds: &builds{}, logs: &logs{}})
	return s
}

// rawDiscovery is the document as a client receives it.
func rawDiscovery(t *testing.T, s *Server, internal bool) []byte {
	t.Helper()
	raw, err := json.Marshal(s.discovery("registry.example.com", internal))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// swaggerProblems validates raw with go-openapi's Swagger 2.0 validator
// (the JSON schema of the specification plus its semantic rules: unique
// operation ids, path parameters declared, references resolved).
func swaggerProblems(t *testing.T, raw []byte) (errs, warnings []string) {
	t.Helper()
	doc, err := loads.Analyzed(raw, "2.0")
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	e, w := validate.NewSpecValidator(doc.Schema(), strfmt.Default).Validate(doc)
	for _, x := range e.Errors {
		errs = append(errs, x.Error())
	}
	for _, x := range w.Errors {
		warnings = append(warnings, x.Error())
	}
	return errs, warnings
}

func TestDiscoveryIsValidSwagger(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		superUsers, internal bool
	}{
		{"public", true, false},
		{"internal", true, true},
		{"without superusers", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs, warnings := swaggerProblems(t, rawDiscovery(t, fullSurface(tc.superUsers), tc.internal))
			if len(errs)+len(warnings) > 0 {
				t.Fatalf("the document is not valid Swagger 2.0:\nerrors: %s\nwarnings: %s",
					strings.Join(errs, "\n"), strings.Join(warnings, "\n"))
			}
		})
	}
	// The validator is not a formality: one operation name used twice fails.
	s := fullSurface(true)
	s.surface[1].methods[http.MethodPost] = method{rule: rule{need: anyone}, op: "getCSRFToken"}
	if errs, _ := swaggerProblems(t, rawDiscovery(t, s, true)); len(errs) == 0 {
		t.Fatal("a duplicated operationId passed validation")
	}
}

// Every route handle registered appears with every method, under its
// operation name; without ?internal only the internal ones are missing;
// and what the document lists is what the mux serves.
func TestDiscoveryListsEveryRoute(t *testing.T) {
	s := fullSurface(true)
	var all, public struct {
		Paths map[string]map[string]json.RawMessage
	}
	json.Unmarshal(rawDiscovery(t, s, true), &all)
	json.Unmarshal(rawDiscovery(t, s, false), &public)

	ops, names := 0, map[string]bool{}
	for _, rt := range s.surface {
		path, _ := swaggerPath(rt.pattern)
		for m, meth := range rt.methods {
			ops++
			names[meth.op] = true
			var op struct{ OperationID string }
			json.Unmarshal(all.Paths[path][strings.ToLower(m)], &op)
			if op.OperationID != meth.op {
				t.Errorf("%s %s: operationId %q, want %q", m, path, op.OperationID, meth.op)
			}
			hidden := !strings.HasPrefix(path, "/api/v1/") || internalOps[meth.op]
			if _, shown := public.Paths[path][strings.ToLower(m)]; shown == hidden {
				t.Errorf("%s %s (%s): listed without ?internal = %v, want %v", m, path, meth.op, shown, !hidden)
			}
		}
	}
	t.Logf("%d operations on %d paths", ops, len(all.Paths))
	for op := range internalOps {
		if !names[op] {
			t.Errorf("internalOps names %q, which no route registers", op)
		}
	}

	for path, item := range all.Paths {
		var want []string
		for k := range item {
			if !strings.HasPrefix(k, "x-") {
				want = append(want, strings.ToUpper(k))
			}
		}
		if slices.Contains(want, http.MethodGet) {
			want = append(want, http.MethodHead)
		}
		want = append(want, http.MethodOptions)
		slices.Sort(want)
		w := httptest.NewRecorder()
		s.mux.ServeHTTP(w, httptest.NewRequest(http.MethodOptions, wildcard.ReplaceAllString(path, "x"), nil))
		if got := w.Header().Get("Allow"); got != strings.Join(want, ", ") {
			t.Errorf("OPTIONS %s: Allow %q, the document lists %q", path, got, strings.Join(want, ", "))
		}
	}
}

// Spot checks against Quay's own document: names, scopes, fresh-login
// marks and the scope list.
func TestDiscoveryMatchesQuay(t *testing.T) {
	type op struct {
		OperationID string
		Security    []map[string][]string
		Internal    bool `json:"x-internal"`
		FreshLogin  bool `json:"x-requires-fresh-login"`
	}
	var doc struct {
		Swagger, Host, BasePath string
		Schemes                 []string
		Paths                   map[string]map[string]json.RawMessage
		SecurityDefinitions     map[string]struct {
			Flow   string
			Scopes map[string]string
		}
	}
	json.Unmarshal(rawDiscovery(t, fullSurface(true), true), &doc)
	if doc.Swagger != "2.0" || doc.Host != "registry.example.com" || doc.BasePath != "/" || !slices.Equal(doc.Schemes, []string{"https"}) {
		t.Errorf("top level: swagger %q host %q basePath %q schemes %v", doc.Swagger, doc.Host, doc.BasePath, doc.Schemes)
	}
	su := []map[string][]string{{"oauth2_implicit": {"super:user"}}}
	for _, tc := range []struct {
		method, path string
		want         op
	}{
		{"get", "/api/v1/superuser/users/", op{"listAllUsers", su, false, true}},
		{"delete", "/api/v1/superuser/users/{username}", op{"deleteInstallUser", su, false, true}},
		{"get", "/api/v1/superuser/keys", op{"listServiceKeys", su, false, false}},
		{"get", "/api/v1/superuser/organizations/", op{"listAllOrganizations", su, true, true}},
		{"delete", "/api/v1/superuser/organization/{namespace}/quota/{quota_id}", op{"deleteOrganizationQuotaSuperUser", su, false, false}},
		{"get", "/api/v1/superuser/users/{namespace}/quota", op{"listUserQuotaSuperUser", su, false, true}},
		{"get", "/api/v1/user/", op{"getLoggedInUser", []map[string][]string{{"oauth2_implicit": {"user:read"}}}, false, false}},
		{"put", "/api/v1/organization/{orgname}", op{"changeOrganizationDetails", []map[string][]string{{"oauth2_implicit": {"org:admin"}}}, false, false}},
		{"get", "/api/v1/user/robots", op{"getUserRobots", nil, false, false}},
		{"get", "/api/v1/repository/{namespace}/{repository}/build/{build_uuid}/status", op{"getRepoBuildStatus", nil, false, false}},
		{"post", "/api/v1/signin", op{"signinUser", nil, true, false}},
		{"get", "/api/v1/discovery", op{"discovery", nil, false, false}},
		{"get", "/keys/services/{service}/keys", op{"listPublishedServiceKeys", nil, true, false}},
	} {
		var got op
		if err := json.Unmarshal(doc.Paths[tc.path][tc.method], &got); err != nil {
			t.Errorf("%s %s: not in the document", tc.method, tc.path)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.method, tc.path, diff)
		}
	}
	imp := doc.SecurityDefinitions["oauth2_implicit"]
	var scopes []string
	for s := range imp.Scopes {
		scopes = append(scopes, s)
	}
	slices.Sort(scopes)
	want := []string{"org:admin", "repo:admin", "repo:create", "repo:read", "repo:write", "super:user", "user:admin", "user:read"}
	if imp.Flow != "implicit" || !slices.Equal(scopes, want) {
		t.Errorf("oauth2_implicit: flow %q scopes %v, want implicit %v", imp.Flow, scopes, want)
	}

	// Without superusers, no superuser route and no super:user scope.
	var plain struct {
		Paths               map[string]any
		SecurityDefinitions map[string]struct{ Scopes map[string]string }
	}
	json.Unmarshal(rawDiscovery(t, fullSurface(false), true), &plain)
	if _, ok := plain.SecurityDefinitions["oauth2_implicit"].Scopes["super:user"]; ok {
		t.Error("super:user is offered with FEATURE_SUPER_USERS off")
	}
	for path := range plain.Paths {
		if strings.HasPrefix(path, "/api/v1/superuser/") {
			t.Errorf("%s is listed with FEATURE_SUPER_USERS off", path)
		}
	}
}
