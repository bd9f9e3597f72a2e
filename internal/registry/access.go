package registry

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/repository"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// caller is who asked /v2/auth for a token.
type caller struct {
	account *wharf.Account // nil for anonymous
	robot   *wharf.Robot   // set for robot logins
	scopes  auth.Scopes    // OAuth token scopes; nil = not limited by scopes
	build   *wharf.Build   // set for build workers: pushes its repository, pulls as account/robot
}

// serveToken is the Docker token endpoint: Basic credentials (a user's
// password, a robot's token as "ns+name", or "$oauthtoken" with an OAuth
// access token) are exchanged for a short-lived JWT granting the requested
// scopes that the caller is allowed. No credentials = anonymous pulls of
// public repositories.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.writeError(w, r, ociError(errUnsupported, "use GET"))
		return
	}
	c, err := s.login(r)
	if err != nil {
		s.writeError(w, r, err)
		return
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
	if c.account != nil {
		holder.Subject, holder.AccountID, holder.Kind = c.account.Name, c.account.ID, string(c.account.Kind)
	}
	if c.scopes != nil {
		holder.OAuth = true
		for _, sc := range c.scopes {
			holder.Scopes = append(holder.Scopes, string(sc))
		}
	}
	lifetime := s.Tokens.Lifetime()
	if c.build != nil {
		// A build's grants follow its phase: short tokens make the worker
		// come back, so a push grant does not outlive the push.
		lifetime, holder.Build = buildTokenLifetime, c.build.UUID
	}
	token, claims, err := s.Tokens.IssueFor(r.Context(), lifetime, holder)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"token": token, "access_token": token,
		"expires_in": claims.ExpiresAt - claims.IssuedAt, "issued_at": time.Unix(claims.IssuedAt, 0).UTC().Format(time.RFC3339)})
}

// login checks the Basic credentials of a token request. Every kind but
// build tokens (signed, nothing to guess) passes the login throttle first;
// a throttled attempt is refused before its secret is looked at.
func (s *Server) login(r *http.Request) (*caller, error) {
	user, secret, ok := r.BasicAuth()
	if !ok {
		if r.Header.Get("Authorization") != "" {
			return nil, ociError(errUnauthorized, "the token endpoint takes Basic credentials")
		}
		return &caller{}, nil
	}
	ctx := r.Context()
	if user == auth.BuildTokenUsername && s.BuildTokens != nil {
		return s.buildLogin(ctx, secret)
	}
	// Robot and OAuth tokens are long random secrets: throttling them per
	// name would only let anyone who knows a robot's name lock it out.
	account, addr := user, clientIP(r)
	if user == "$oauthtoken" || strings.Contains(user, "+") {
		account = ""
	}
	if wait, ok := s.Throttle.Check(account, addr); !ok {
		return nil, wharf.Throttled(wait, "too many failed login attempts, try again later")
	}
	c, err := s.checkCredentials(ctx, user, secret)
	var re *registryError
	switch {
	case err == nil, errors.As(err, &re) && re.code == errDenied: // a disabled account's right password
		s.Throttle.Succeed(account, addr)
	case errors.As(err, &re) && re.code == errUnauthorized:
		s.Throttle.Fail(account, addr)
	default:
		s.Throttle.Release(account, addr)
	}
	return c, err
}

// unknownRobotToken stands in for the token of a robot that does not
// exist, so that its refusal does the same comparison as a wrong token's.
var unknownRobotToken = strings.Repeat("0", 64)

// checkCredentials checks a password, a robot token or an OAuth token.
// Every wrong one is the same 401; an unknown user costs the bcrypt
// comparison a known one does.
func (s *Server) checkCredentials(ctx context.Context, user, secret string) (*caller, error) {
	bad := ociError(errUnauthorized, "invalid username or password")
	switch {
	case user == "$oauthtoken":
		p, err := s.Auth.AuthenticateToken(ctx, secret)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, bad
		}
		scopes := auth.Scopes{}
		for _, sc := range []auth.Scope{auth.RepoRead, auth.RepoWrite, auth.RepoCreate, auth.RepoAdmin} {
			if p.HasScope(sc) {
				scopes = append(scopes, sc)
			}
		}
		return &caller{account: p.Account, scopes: scopes}, nil
	case strings.Contains(user, "+"):
		robot, err := s.Store.RobotByName(ctx, user)
		if err != nil && !wharf.IsCode(err, wharf.NotFound) {
			return nil, err
		}
		token := unknownRobotToken
		if robot != nil {
			token = robot.Token
		}
		if subtle.ConstantTimeCompare([]byte(token), []byte(secret)) != 1 || robot == nil || !robot.Account.Enabled {
			return nil, bad
		}
		return &caller{account: robot.Account, robot: robot}, nil
	default:
		acct, err := s.Store.AccountByName(ctx, user)
		if err != nil && !wharf.IsCode(err, wharf.NotFound) {
			return nil, err
		}
		hash := "" // no user by that name: CheckPassword refuses at the same cost
		if acct != nil && acct.Kind == wharf.KindUser {
			hash = acct.PasswordHash
		}
		now := s.Now()
		if !s.logins.valid(user, secret, hash, now) {
			if !identity.CheckPassword(hash, secret) {
				return nil, bad
			}
			s.logins.remember(user, secret, hash, now)
		}
		if !acct.Enabled {
			return nil, ociError(errDenied, "this account is disabled")
		}
		return &caller{account: acct}, nil
	}
}

// buildTokenLifetime is how long a registry token issued to a build
// worker lives.
const buildTokenLifetime = 5 * time.Minute

// buildLogin admits a build worker by its build token. It pulls with the
// build's pull robot, or else as the user who requested the build (while
// that account is enabled), and pushes only to the build's repository.
func (s *Server) buildLogin(ctx context.Context, token string) (*caller, error) {
	b, err := s.BuildTokens.Verify(ctx, token)
	if wharf.IsCode(err, wharf.Unauthenticated) {
		return nil, ociError(errUnauthorized, "invalid or expired build token")
	}
	if err != nil {
		return nil, err
	}
	c := &caller{build: b}
	switch {
	case b.PullRobot != "":
		// Only the very robot the build named (not a deleted one's
		// namesake); without it the build pulls public images only.
		if robot, err := s.Store.RobotByName(ctx, b.PullRobot); err == nil && robot.Account.Enabled && robot.Account.ID == b.PullRobotID {
			c.account, c.robot = robot.Account, robot
		}
	case b.Job.ManualUser != nil:
		if acct, err := s.Store.AccountByName(ctx, *b.Job.ManualUser); err == nil && acct.ID == b.ManualUserID && acct.Enabled {
			c.account = acct
		}
	}
	return c, nil
}

// buildGrant is what a build worker gets on the build's own repository:
// pulls while the build runs, pushes once it is pushing (never before, so a
// build cancelled earlier cannot move a tag).
func buildGrant(b *wharf.Build, actions []string) []string {
	var granted []string
	for _, a := range actions {
		if (a == "pull" || (a == "push" && b.Phase == wharf.PhasePushing)) && !slices.Contains(granted, a) {
			granted = append(granted, a)
		}
	}
	return granted
}

// grant returns the part of one requested scope ("repository:ns/repo:pull,push"
// or "registry:catalog:*") that c may have.
func (s *Server) grant(ctx context.Context, c *caller, scope string) (auth.RegistryAccess, bool) {
	parts := strings.Split(scope, ":")
	if len(parts) < 3 {
		return auth.RegistryAccess{}, false
	}
	typ, name, actions := parts[0], strings.Join(parts[1:len(parts)-1], ":"), strings.Split(parts[len(parts)-1], ",")
	if typ == "registry" && name == "catalog" {
		if s.Policy.CanInspect(c.account) && c.scopes == nil && c.build == nil {
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
	if c.build != nil {
		if rt.namespace == c.build.Repository.Namespace && rt.repo == c.build.Repository.Name {
			granted := buildGrant(c.build, actions)
			return auth.RegistryAccess{Type: "repository", Name: rt.name(), Actions: granted}, len(granted) > 0
		}
		actions = slices.DeleteFunc(slices.Clone(actions), func(a string) bool { return a != "pull" })
	}
	canRead, canWrite, err := s.permissions(ctx, c, rt.namespace, rt.repo)
	if err != nil {
		return auth.RegistryAccess{}, false
	}
	var granted []string
	for _, a := range actions {
		switch {
		case a == "pull" && canRead, a == "push" && canWrite, a == "delete" && canWrite:
			if !slices.Contains(granted, a) {
				granted = append(granted, a)
			}
		}
	}
	if len(granted) == 0 {
		return auth.RegistryAccess{}, false
	}
	return auth.RegistryAccess{Type: "repository", Name: rt.name(), Actions: granted}, true
}

// permissions decides what c may do with namespace/repo, by the
// repository rules, narrowed by an OAuth token's scopes.
func (s *Server) permissions(ctx context.Context, c *caller, namespace, repo string) (read, write bool, err error) {
	p, _, err := s.Repositories.Permissions(ctx, repository.Caller{Account: c.account, Robot: c.robot}, namespace, repo)
	if err != nil {
		return false, false, err
	}
	read, write = p.Read, p.Write
	if c.scopes != nil {
		read = read && c.scopes.Has(auth.RepoRead)
		write = write && c.scopes.Has(auth.RepoWrite)
	}
	return read, write, nil
}

// authorize checks that req may perform action on its repository and
// returns the repository (nil when it does not exist yet). Pulls of public
// repositories need no token.
func (s *Server) authorize(ctx context.Context, req *request, action string) (*wharf.Repository, error) {
	rt := req.route
	repo, err := s.Store.RepositoryByName(ctx, rt.namespace, rt.repo)
	if err != nil && !wharf.IsCode(err, wharf.NotFound) {
		return nil, err
	}
	if req.claims != nil && req.claims.Allows("repository", rt.name(), action) {
		return repo, nil
	}
	if action == "pull" && repo != nil && repo.Visibility == wharf.Public {
		return repo, nil
	}
	if req.claims == nil {
		return nil, ociError(errUnauthorized, "authentication required")
	}
	if repo == nil && action == "pull" {
		return nil, ociError(errNameUnknown, "repository name not known to registry")
	}
	// A token scoped for other work (clients reuse the last one they got)
	// earns a fresh challenge when its holder may do this; only a caller
	// who really may not is told "denied".
	if ok, err := s.holderMay(ctx, req.claims, rt, action); err != nil {
		return nil, err
	} else if ok {
		return nil, ociError(errUnauthorized, "token does not grant %s on %s", action, rt.name())
	}
	return nil, ociError(errDenied, "requested access to the resource is denied")
}

// holderInspects reports whether a token's holder is a superuser who would
// be granted the catalog.
func (s *Server) holderInspects(ctx context.Context, claims *auth.RegistryClaims) bool {
	if claims.Subject == "" || claims.Kind != string(wharf.KindUser) {
		return false
	}
	acct, err := s.Store.AccountByName(ctx, claims.Subject)
	return err == nil && acct.ID == claims.AccountID && acct.Enabled && s.Policy.CanInspect(acct)
}

// holderMay reports whether the account a token was issued to could be
// granted action on rt.
func (s *Server) holderMay(ctx context.Context, claims *auth.RegistryClaims, rt route, action string) (bool, error) {
	if claims.Build != "" {
		// A build worker's rights are its build token's, not its subject's:
		// send it back to the token endpoint, which decides.
		return true, nil
	}
	if claims.Subject == "" {
		return false, nil
	}
	c := &caller{}
	if claims.Kind == string(wharf.KindRobot) {
		robot, err := s.Store.RobotByName(ctx, claims.Subject)
		if err != nil {
			return false, nil
		}
		c.account, c.robot = robot.Account, robot
	} else {
		acct, err := s.Store.AccountByName(ctx, claims.Subject)
		if err != nil || acct.ID != claims.AccountID || !acct.Enabled {
			return false, nil
		}
		c.account = acct
	}
	if claims.OAuth {
		// What the OAuth login was scoped to, not all the subject may do.
		c.scopes = auth.Scopes{}
		for _, sc := range claims.Scopes {
			c.scopes = append(c.scopes, auth.Scope(sc))
		}
	}
	read, write, err := s.permissions(ctx, c, rt.namespace, rt.repo)
	if action == "pull" {
		return read, err
	}
	return write, err
}

// actor is the audit-log identity of req.
func (s *Server) actor(req *request) wharf.Actor {
	a := wharf.Actor{IP: req.ip}
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
	entry := s.actor(req).Entry("create_repo", ns, map[string]any{"repo": repo.Name, "namespace": ns.Name})
	if _, err := s.Store.EnsureRepository(ctx, repo, entry); err != nil {
		return nil, err
	}
	repo.Namespace = ns.Name
	return repo, nil
}
