package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// serveToken is the Docker token endpoint: Basic credentials (a user's
// password, a robot's token as "ns+name", "$oauthtoken" with an OAuth
// access token, "$app" with an app-specific token, or "$buildtoken" with a
// build worker's token) are exchanged
// for a short-lived JWT granting the requested scopes that the caller is
// allowed. No credentials = anonymous pulls of public repositories.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.WriteError(w, r, ociError(errUnsupported, "use GET"))
		return
	}
	c, err := s.login(r)
	if err != nil {
		s.WriteError(w, r, err)
		return
	}
	requestlog.FromContext(r.Context()).SetWharfCaller(c)
	if s.AuditLogins && len(r.URL.Query()["scope"]) == 0 && c.Account != nil && c.Build == nil {
		if err := s.logLogin(r, c); err != nil {
			s.WriteError(w, r, err)
			return
		}
	}
	var access []auth.RegistryAccess
	for _, scope := range r.URL.Query()["scope"] {
		for _, one := range strings.Split(scope, " ") {
			if a, ok := s.grant(r.Context(), c, one); ok {
				access = append(access, a)
			}
		}
	}
	holder := auth.RegistryClaims{Access: access}
	if c.Account != nil {
		holder.Subject, holder.AccountID, holder.Kind = c.Account.Name, c.Account.ID, string(c.Account.Kind)
	}
	if c.Robot != nil {
		holder.OwnerID = c.Robot.NamespaceID
	}
	if c.Scoped {
		holder.OAuth = true
		for _, sc := range c.Scopes {
			holder.Scopes = append(holder.Scopes, string(sc))
		}
	}
	lifetime := s.Tokens.Lifetime()
	if c.AppToken != nil {
		// An app token's grants end when it does: revoked (its epoch) or
		// expired (the registry token lives no longer).
		holder.AppToken = c.AppToken.ID
		if !c.AppToken.ExpiresAt.IsZero() {
			lifetime = min(lifetime, max(c.AppToken.ExpiresAt.Sub(s.Now()), time.Second))
		}
	}
	if c.Build != nil {
		// A build's grants follow its phase: short tokens make the worker
		// come back, so a push grant does not outlive the push.
		lifetime, holder.Build = buildTokenLifetime, c.Build.UUID
	}
	token, claims, err := s.Tokens.IssueFor(r.Context(), lifetime, holder)
	if err != nil {
		s.WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"token": token, "access_token": token,
		"expires_in": claims.ExpiresAt - claims.IssuedAt, "issued_at": time.Unix(claims.IssuedAt, 0).UTC().Format(time.RFC3339)})
}

// login checks the Basic credentials of a token request; none is anonymous.
func (s *Server) login(r *http.Request) (*wharf.Caller, error) {
	user, secret, ok := r.BasicAuth()
	if !ok {
		if r.Header.Get("Authorization") != "" {
			return nil, ociError(errUnauthorized, "the token endpoint takes Basic credentials")
		}
		return wharf.Anonymous(auth.ClientIP(r)), nil
	}
	c, err := s.Auth.Login(r.Context(), auth.BasicCredential(user, secret, auth.ClientIP(r)))
	refused := ""
	switch {
	case wharf.IsCode(err, wharf.Unauthenticated):
		refused, err = "invalid username or password", ociError(errUnauthorized, "invalid username or password")
	case wharf.IsCode(err, wharf.Forbidden):
		refused, err = "this account is disabled", ociError(errDenied, "this account is disabled")
	}
	if refused != "" && s.AuditLoginFailures {
		if lerr := s.logLoginFailure(r, user, refused); lerr != nil {
			return nil, lerr
		}
	}
	return c, err
}

// logLoginFailure files Quay's login_failure for refused Basic
// credentials: a robot's under its namespace, by the robot; a user's or an
// app token's under no namespace; an OAuth token's not at all (Quay's).
func (s *Server) logLoginFailure(r *http.Request, username, message string) error {
	meta := map[string]any{"type": "v2auth", "useragent": r.UserAgent(), "message": message}
	e := wharf.LogEntry{Kind: "login_failure", Metadata: meta, IP: auth.ClientIP(r)}
	owner, _, isRobot := strings.Cut(username, "+")
	switch {
	case username == "$oauthtoken":
		return nil
	case username == "$app":
		meta["kind"] = "app_specific_token"
	case isRobot:
		meta["kind"], meta["robot"], meta["username"] = "robot", username, owner
		for name, party := range map[string]*wharf.LogParty{owner: &e.Account, username: &e.Performer} {
			a, err := s.Store.AccountByName(r.Context(), name)
			if err != nil && !wharf.IsCode(err, wharf.NotFound) {
				return err
			}
			*party = wharf.PartyOf(a)
		}
	default:
		meta["kind"], meta["username"] = "user", username
	}
	return s.Store.AppendLogs(r.Context(), e)
}

// logLogin files Quay's login_success for a docker login (a token request
// without a scope): under the user, or under the robot's namespace; kind
// says which credential it was (none for an OAuth token, as Quay's).
func (s *Server) logLogin(r *http.Request, c *wharf.Caller) error {
	meta := map[string]any{"type": "v2auth", "useragent": r.UserAgent()}
	ns := c.Account
	switch {
	case c.AppToken != nil:
		meta["kind"], meta["app_specific_token_title"] = "app_specific_token", c.AppToken.Title
	case c.Robot != nil:
		meta["kind"], meta["robot"] = "robot", c.Account.Name
		owner, err := s.Store.AccountByID(r.Context(), c.Robot.NamespaceID)
		if err != nil {
			return err
		}
		ns = owner
	case c.Token == nil:
		meta["kind"] = "user"
	}
	return s.Store.AppendLogs(r.Context(), c.Entry("login_success", ns, meta))
}

// buildTokenLifetime is how long a registry token issued to a build
// worker lives.
const buildTokenLifetime = 5 * time.Minute

// grant returns the part of one requested scope ("repository:ns/repo:pull,push"
// or "registry:catalog:*") that c may have.
func (s *Server) grant(ctx context.Context, c *wharf.Caller, scope string) (auth.RegistryAccess, bool) {
	parts := strings.Split(scope, ":")
	if len(parts) < 3 {
		return auth.RegistryAccess{}, false
	}
	typ, name, actions := parts[0], strings.Join(parts[1:len(parts)-1], ":"), strings.Split(parts[len(parts)-1], ",")
	if typ == "registry" && name == "catalog" {
		if s.Access.Catalog(c) {
			return auth.RegistryAccess{Type: typ, Name: name, Actions: []string{"*"}}, true
		}
		return auth.RegistryAccess{}, false
	}
	if typ != "repository" {
		return auth.RegistryAccess{}, false
	}
	rt, err := parsePath("/v2/" + name + "/tags/list")
	if err != nil {
		return auth.RegistryAccess{}, false
	}
	d, err := s.Access.Repository(ctx, c, rt.namespace, rt.repo)
	if err != nil {
		return auth.RegistryAccess{}, false
	}
	var granted []string
	for _, a := range actions {
		if (allows(d.Rights, a) || (a == "pull" && d.Inspect && d.Repository != nil)) && !slices.Contains(granted, a) {
			granted = append(granted, a)
		}
	}
	if len(granted) == 0 {
		return auth.RegistryAccess{}, false
	}
	a := auth.RegistryAccess{Type: "repository", Name: rt.name(), Actions: granted, NamespaceID: d.Namespace.ID}
	if d.Repository != nil {
		a.RepositoryID = d.Repository.ID
	}
	return a, true
}

// allows maps the registry's actions onto repository rights: pull reads,
// push and delete write.
func allows(r access.Rights, action string) bool {
	switch action {
	case "pull":
		return r.Read
	case "push", "delete":
		return r.Write
	}
	return false
}

// authorize checks that req may perform action on its repository and
// returns the repository (nil when it does not exist yet). Pulls of public
// repositories need no token. A repository the caller may not read answers
// exactly as a missing one does, so private names cannot be probed.
func (s *Server) authorize(ctx context.Context, req *request, action string) (*wharf.Repository, error) {
	rt := req.route
	repo, err := s.Store.RepositoryByName(ctx, rt.namespace, rt.repo)
	if err != nil && !wharf.IsCode(err, wharf.NotFound) {
		return nil, err
	}
	if req.claims != nil && req.claims.AllowsRepository(rt.name(), repo, action) {
		return repo, nil
	}
	if action == "pull" && repo != nil && repo.Visibility == wharf.Public {
		return repo, nil
	}
	if req.claims == nil {
		return nil, ociError(errUnauthorized, "authentication required")
	}
	d, err := s.holderDecision(ctx, req.claims, rt)
	if err != nil {
		return nil, err
	}
	// A token scoped for other work (clients reuse the last one they got)
	// earns a fresh challenge when its holder may do this (a build worker's
	// is decided at the token endpoint); only a caller who really may not
	// is told "denied".
	if req.claims.Build != "" || (repo != nil && (allows(d.Rights, action) || (action == "pull" && d.Inspect))) || (repo == nil && action != "pull" && d.Write) {
		return nil, ociError(errUnauthorized, "token does not grant %s on %s", action, rt.name())
	}
	if action == "pull" && (repo == nil || !d.MayRead()) {
		return nil, ociError(errNameUnknown, "repository name not known to registry")
	}
	return nil, ociError(errDenied, "requested access to the resource is denied")
}

// holderDecision is what the account a token was issued to may do with
// rt now. A build worker's token has no such holder: its rights are the
// build's, which the token endpoint decides.
func (s *Server) holderDecision(ctx context.Context, claims *auth.RegistryClaims, rt route) (access.Decision, error) {
	holder, err := s.Auth.Holder(ctx, claims)
	if err != nil || holder == nil {
		return access.Decision{}, err
	}
	return s.Access.Repository(ctx, holder, rt.namespace, rt.repo)
}

// holderInspects reports whether a token's holder is a superuser who would
// be granted the catalog.
func (s *Server) holderInspects(ctx context.Context, claims *auth.RegistryClaims) (bool, error) {
	holder, err := s.Auth.Holder(ctx, claims)
	if err != nil || holder == nil {
		return false, err
	}
	return s.Access.Catalog(holder), nil
}

// actor is the audit-log identity of req.
func (s *Server) actor(req *request) *wharf.Caller {
	a := &wharf.Caller{IP: req.ip}
	if req.claims != nil && req.claims.AccountID != 0 {
		a.Account = &wharf.Account{ID: req.claims.AccountID, Name: req.claims.Subject, Kind: wharf.AccountKind(req.claims.Kind)}
	}
	return a
}

// ensureRepository returns req's repository, creating it (private) for a
// push to a new name.
func (s *Server) ensureRepository(ctx context.Context, req *request, repo *wharf.Repository) (*wharf.Repository, error) {
	if repo != nil {
		return repo, nil
	}
	ns, err := s.Store.AccountByName(ctx, req.route.namespace)
	if err != nil {
		return nil, err
	}
	repo = &wharf.Repository{NamespaceID: ns.ID, Namespace: ns.Name, Name: req.route.repo, Visibility: wharf.Private}
	actor := s.actor(req)
	entry := actor.Entry("create_repo", ns, map[string]any{"repo": repo.Name, "namespace": ns.Name})
	if _, err := s.Store.EnsureRepository(ctx, repo, actor.AccountID(), entry); err != nil {
		return nil, err
	}
	repo.Namespace = ns.Name
	return repo, nil
}
