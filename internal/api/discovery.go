package api

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// The discovery document (GET /api/v1/discovery) is Quay's Swagger 2.0
// description of the API, generated at request time from the routes handle
// recorded: one path per pattern, one operation per method, with the
// operation's name, its path parameters, the OAuth scope its rule demands
// and Quay's generic responses. Nothing here lists routes; routes.go does.
//
// Like Quay's, the document hides internal operations unless the query
// parameter internal is truthy, and only then marks operations
// x-internal and x-requires-fresh-login. What Quay's document does not
// describe at all (the browser and OAuth pages, the key server, first-user
// bootstrap, the configuration dump) is internal here: wharf lists every
// route it serves, but not where a Quay client would not look for it.
//
// What the route table does not record, the document cannot say: query
// parameters, request bodies and response schemas are absent.

// internalOps are the operations under /api/v1 that the document hides
// unless asked for internal ones: those Quay marks internal_only, and
// those its document leaves out.
var internalOps = map[string]bool{
	"signinUser": true, "verifyUser": true, "logout": true,
	"resetOrganizationApplicationClientSecret": true,
	"listAllOrganizations":                     true, "takeOwnership": true, "listAllAggregateLogs": true,
	"getRegistrySize": true, "queueRegistrySizeCalculation": true,
	"getFiledropUrl": true,
	// Not in Quay's document: a web route there, and a method without a name.
	"initializeUser": true, "getConfigDump": true,
}

// scopeDescriptions say what each OAuth scope lets an application do: the
// scopes map of the oauth2_implicit security definition.
var scopeDescriptions = map[wharf.Scope]string{
	wharf.RepoRead:   "View and pull every repository the granting user can see",
	wharf.RepoWrite:  "View, pull and push every repository the granting user can write to",
	wharf.RepoAdmin:  "Administer every repository the granting user administers",
	wharf.RepoCreate: "Create repositories in every namespace where the granting user may",
	wharf.UserRead:   "Read the granting user's information, such as username and email",
	wharf.UserAdmin:  "Administer the granting user's account, robots included",
	wharf.OrgAdmin:   "Administer the granting user's organizations: robots, teams, applications",
	wharf.SuperUser:  "Administer the installation: users, organizations, service keys, quotas",
}

// apiError is Quay's error body, which every operation may answer.
var apiError = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"status":        map[string]string{"type": "integer", "description": "Status code of the response."},
		"type":          map[string]string{"type": "string", "description": "Reference to the type of the error."},
		"detail":        map[string]string{"type": "string", "description": "Details about the specific instance of the error."},
		"title":         map[string]string{"type": "string", "description": "Unique error code to identify the type of error."},
		"error_message": map[string]string{"type": "string", "description": "Deprecated; alias for detail"},
		"error_type":    map[string]string{"type": "string", "description": "Deprecated; alias for detail"},
	},
	"required": []string{"status", "type", "title"},
}

type swaggerDoc struct {
	Swagger             string                    `json:"swagger"`
	Info                swaggerInfo               `json:"info"`
	Host                string                    `json:"host"`
	BasePath            string                    `json:"basePath"`
	Schemes             []string                  `json:"schemes"`
	Paths               map[string]map[string]any `json:"paths"` // x-path, x-tag and one operation per method
	Definitions         map[string]any            `json:"definitions"`
	SecurityDefinitions map[string]securityScheme `json:"securityDefinitions"`
	Tags                []swaggerTag              `json:"tags"`
}

type swaggerInfo struct {
	Version     string `json:"version"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

type securityScheme struct {
	Type             string            `json:"type"`
	Flow             string            `json:"flow"`
	AuthorizationURL string            `json:"authorizationUrl"`
	Scopes           map[string]string `json:"scopes"`
}

type swaggerTag struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type swaggerOp struct {
	OperationID string                     `json:"operationId"`
	Description string                     `json:"description"`
	Tags        []string                   `json:"tags"`
	Parameters  []swaggerParam             `json:"parameters"`
	Responses   map[string]swaggerResponse `json:"responses"`
	Security    []map[string][]string      `json:"security,omitempty"`
	Internal    bool                       `json:"x-internal,omitempty"`
	FreshLogin  bool                       `json:"x-requires-fresh-login,omitempty"`
}

type swaggerParam struct {
	Name        string `json:"name"`
	In          string `json:"in"`
	Required    bool   `json:"required"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

type swaggerResponse struct {
	Description string            `json:"description"`
	Schema      map[string]string `json:"schema,omitempty"`
}

// getDiscovery serves the discovery document; ?internal=true adds the
// internal operations.
func (s *Server) getDiscovery(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	host := s.site.hostname
	if host == "" {
		host = r.Host
	}
	writeJSON(w, http.StatusOK, s.discovery(host, queryBool(r, "internal", false)))
	return nil
}

// discovery builds the document for clients reaching the server at host.
func (s *Server) discovery(host string, internal bool) swaggerDoc {
	scopes := map[string]string{}
	for _, sc := range wharf.AllScopes {
		// Quay offers super:user only while superusers are enabled.
		if sc != wharf.SuperUser || s.superUsers {
			scopes[string(sc)] = scopeDescriptions[sc]
		}
	}
	doc := swaggerDoc{
		Swagger: "2.0",
		Info: swaggerInfo{Version: "v1", Title: "Quay Frontend",
			Description: "The Red Hat Quay API as wharf serves it: users, organizations, repositories, robots, quotas, builds and instance administration."},
		Host: host, BasePath: "/", Schemes: []string{s.site.scheme},
		Paths:       map[string]map[string]any{},
		Definitions: map[string]any{"ApiError": apiError},
		SecurityDefinitions: map[string]securityScheme{"oauth2_implicit": {
			Type: "oauth2", Flow: "implicit", Scopes: scopes,
			// wharf grants tokens where Quay's authorization page posts to.
			AuthorizationURL: s.site.scheme + "://" + host + "/oauth/authorizeapp",
		}},
	}
	seenTags := map[string]bool{}
	for _, rt := range s.surface {
		path, params := swaggerPath(rt.pattern)
		tag := tagOf(path)
		for m, meth := range rt.methods {
			hidden := !strings.HasPrefix(path, "/api/v1/") || internalOps[meth.op]
			if hidden && !internal {
				continue
			}
			item := doc.Paths[path]
			if item == nil {
				item = map[string]any{"x-path": path, "x-tag": tag}
				doc.Paths[path] = item
			}
			op := s.operation(m, meth, tag, params)
			op.Internal = hidden
			op.FreshLogin = internal && meth.rule.fresh
			item[strings.ToLower(m)] = op
			if !seenTags[tag] {
				seenTags[tag] = true
				doc.Tags = append(doc.Tags, swaggerTag{Name: tag, Description: "Operations under " + tagPrefix(path, tag)})
			}
		}
	}
	slices.SortFunc(doc.Tags, func(a, b swaggerTag) int { return strings.Compare(a.Name, b.Name) })
	return doc
}

// operation describes one method of a route.
func (s *Server) operation(m string, meth method, tag string, params []string) swaggerOp {
	op := swaggerOp{OperationID: meth.op, Description: s.accessText(meth.rule), Tags: []string{tag},
		Parameters: []swaggerParam{}, Responses: map[string]swaggerResponse{}}
	for _, p := range params {
		op.Parameters = append(op.Parameters, swaggerParam{Name: p, In: "path", Required: true, Type: "string", Description: ""})
	}
	if scopes := meth.rule.scopes(); len(scopes) > 0 {
		op.Security = []map[string][]string{{"oauth2_implicit": scopes}}
	}
	// Quay's generic responses, whatever the handler answers.
	errorBody := map[string]string{"$ref": "#/definitions/ApiError"}
	op.Responses["400"] = swaggerResponse{"Bad Request", errorBody}
	op.Responses["401"] = swaggerResponse{"Session required", errorBody}
	op.Responses["403"] = swaggerResponse{"Unauthorized access", errorBody}
	op.Responses["404"] = swaggerResponse{"Not found", errorBody}
	switch m {
	case http.MethodDelete:
		op.Responses["204"] = swaggerResponse{Description: "Deleted"}
	case http.MethodPost:
		op.Responses["201"] = swaggerResponse{Description: "Successful creation"}
	default:
		op.Responses["200"] = swaggerResponse{Description: "Successful invocation"}
	}
	return op
}

// scopes are the OAuth scopes a token needs to pass rl: super:user for
// superuser rules, and the rule's own.
func (rl rule) scopes() []string {
	var out []string
	if rl.need == anySuperuser || rl.need == fullSuperuser {
		out = append(out, string(wharf.SuperUser))
	}
	if rl.scope != "" {
		out = append(out, string(rl.scope))
	}
	return out
}

// accessText says in words who may call an operation with rule rl.
func (s *Server) accessText(rl rule) string {
	var text string
	switch rl.need {
	case anyone:
		text = "Open to anonymous callers."
	case publicRead:
		if s.anonymousAccess {
			text = "Open to anonymous callers, who see public content only."
		} else {
			text = "Requires a signed-in user."
		}
	case signedIn:
		text = "Requires a signed-in user."
	case anySuperuser:
		text = "Requires a superuser or a global read-only superuser."
	case fullSuperuser:
		text = "Requires a superuser."
	}
	if scopes := rl.scopes(); len(scopes) > 0 {
		text += " OAuth tokens need the scope " + strings.Join(scopes, " and ") + "."
	}
	if rl.fresh {
		text += " A browser session must have signed in recently (FRESH_LOGIN_TIMEOUT)."
	}
	return text
}

var wildcard = regexp.MustCompile(`\{([^{}]*)\}`)

// swaggerPath turns a ServeMux pattern into a Swagger path and its
// parameters: "{$}" (an exact trailing slash) disappears, "{name...}"
// becomes "{name}".
func swaggerPath(pattern string) (string, []string) {
	var params []string
	path := wildcard.ReplaceAllStringFunc(pattern, func(w string) string {
		name := strings.TrimSuffix(w[1:len(w)-1], "...")
		if name == "$" {
			return ""
		}
		params = append(params, name)
		return "{" + name + "}"
	})
	return path, params
}

// tagOf groups operations by the first segment after /api/v1/ (user,
// organization, repository, superuser, …), or of the path outside it.
func tagOf(path string) string {
	rest := strings.TrimPrefix(path, "/api/v1")
	seg, _, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	return seg
}

// tagPrefix is the path prefix a tag stands for.
func tagPrefix(path, tag string) string {
	if strings.HasPrefix(path, "/api/v1/") {
		return "/api/v1/" + tag
	}
	return "/" + tag
}
