package api

import (
	"net/http"

	"github.com/wharf-registry/wharf/internal/auth"
)

// routes lists the whole API surface with the access each method needs.
func (s *Server) routes() {
	const (
		GET    = http.MethodGet
		POST   = http.MethodPost
		PUT    = http.MethodPut
		DELETE = http.MethodDelete
	)
	open := rule{access: anyone}
	user := func(scope auth.Scope) rule { return rule{access: signedIn, scope: scope} }
	inspect := rule{access: anySuperuser, fresh: true}
	admin := rule{access: fullSuperuser, fresh: true}

	// Browser-style login and the OAuth implicit grant.
	s.handle("/csrf_token", map[string]method{GET: {open, s.getCSRFToken}})
	s.handle("/api/v1/signin", map[string]method{POST: {open, s.signin}})
	s.handle("/api/v1/signin/verify", map[string]method{POST: {user(""), s.verifySignin}})
	s.handle("/api/v1/signout", map[string]method{POST: {open, s.signout}})
	s.handle("/oauth/authorizeapp", map[string]method{POST: {user(""), s.authorizeApp}})
	s.handle("/oauth/localapp", map[string]method{GET: {open, s.localApp}})

	// First-user bootstrap, when enabled.
	if s.cfg.FeatureUserInitialize {
		s.handle("/api/v1/user/initialize", map[string]method{POST: {open, s.initialize}})
	}

	// The caller, organizations and their OAuth applications.
	s.handle("/api/v1/user/{$}", map[string]method{GET: {user(auth.UserRead), s.getCurrentUser}})
	s.redirectSlash("/api/v1/user")
	s.handle("/api/v1/organization/{$}", map[string]method{POST: {user(auth.UserAdmin), s.createOrganization}})
	s.redirectSlash("/api/v1/organization")
	s.handle("/api/v1/organization/{orgname}", map[string]method{
		GET:    {rule{access: publicRead}, s.getOrganization},
		PUT:    {user(auth.OrgAdmin), s.changeOrgDetails},
		DELETE: {user(auth.OrgAdmin), s.deleteOrgAsAdmin},
	})
	s.handle("/api/v1/organization/{orgname}/applications", map[string]method{
		GET:  {user(auth.OrgAdmin), s.listApplications},
		POST: {user(auth.OrgAdmin), s.createApplication},
	})
	s.handle("/api/v1/organization/{orgname}/applications/{client_id}", map[string]method{
		GET:    {user(auth.OrgAdmin), s.getApplication},
		PUT:    {user(auth.OrgAdmin), s.updateApplication},
		DELETE: {user(auth.OrgAdmin), s.deleteApplication},
	})
	s.handle("/api/v1/organization/{orgname}/applications/{client_id}/resetclientsecret", map[string]method{
		POST: {user(auth.OrgAdmin), s.resetClientSecret},
	})
	// Repositories and robot accounts.
	s.handle("/api/v1/repository", map[string]method{POST: {user(""), s.createRepository}})
	s.handle("/api/v1/repository/{namespace}/{repository}", map[string]method{
		GET:    {rule{access: publicRead}, s.getRepository},
		PUT:    {user(auth.RepoAdmin), s.updateRepository},
		DELETE: {user(auth.RepoAdmin), s.deleteRepository},
	})
	s.handle("/api/v1/repository/{namespace}/{repository}/changevisibility", map[string]method{
		POST: {user(auth.RepoAdmin), s.changeVisibility},
	})
	for _, base := range []string{"/api/v1/organization/{orgname}/robots", "/api/v1/user/robots"} {
		s.handle(base, map[string]method{GET: {user(""), s.listRobots}})
		s.handle(base+"/{robot_shortname}", map[string]method{
			GET:    {user(""), s.getRobot},
			PUT:    {user(""), s.putRobot},
			DELETE: {user(""), s.deleteRobot},
		})
	}
	s.handle("/api/v1/entities/{prefix}", map[string]method{GET: {user(""), s.getEntities}})

	// Instance administration (Quay's superuser API).
	if s.cfg.FeatureSuperUsers {
		s.handle("/api/v1/superuser/users/{$}", map[string]method{
			GET:  {inspect, s.listAllUsers},
			POST: {admin, s.createInstallUser},
		})
		s.redirectSlash("/api/v1/superuser/users")
		s.handle("/api/v1/superuser/users/{username}", map[string]method{
			GET:    {inspect, s.getInstallUser},
			PUT:    {admin, s.changeInstallUser},
			DELETE: {admin, s.deleteInstallUser},
		})
		s.handle("/api/v1/superuser/organizations/{$}", map[string]method{GET: {inspect, s.listAllOrganizations}})
		s.redirectSlash("/api/v1/superuser/organizations")
		s.handle("/api/v1/superuser/organizations/{name}", map[string]method{
			PUT:    {admin, s.changeOrganization},
			DELETE: {admin, s.deleteOrganization},
		})
		s.handle("/api/v1/superuser/takeownership/{namespace}", map[string]method{POST: {admin, s.takeOwnership}})
		s.handle("/api/v1/superuser/logs", map[string]method{GET: {inspect, s.listAllLogs}})
		s.handle("/api/v1/superuser/aggregatelogs", map[string]method{GET: {inspect, s.listAllAggregateLogs}})
		s.handle("/api/v1/superuser/config", map[string]method{GET: {inspect, s.getConfigDump}})
		// Service keys; listing and reading need no fresh login (spec §2.7, §2.21).
		if s.ServiceKeys != nil {
			s.handle("/api/v1/superuser/keys", map[string]method{
				GET:  {rule{access: anySuperuser}, s.listServiceKeys},
				POST: {admin, s.createServiceKey},
			})
			s.handle("/api/v1/superuser/keys/{kid}", map[string]method{
				GET:    {rule{access: anySuperuser}, s.getServiceKey},
				PUT:    {admin, s.updateServiceKey},
				DELETE: {admin, s.deleteServiceKey},
			})
			s.handle("/api/v1/superuser/approvedkeys/{kid}", map[string]method{POST: {admin, s.approveServiceKey}})
		}
	}

	// The key server: services publish their keys, authenticated by JWTs
	// signed with them, not by wharf credentials.
	if s.ServiceKeys != nil {
		s.handle("/keys/services/{service}/keys", map[string]method{GET: {open, s.listPublishedKeys}})
		s.handle("/keys/services/{service}/keys/{kid}", map[string]method{
			GET:    {open, s.getPublishedKey},
			PUT:    {open, s.putPublishedKey},
			DELETE: {open, s.deletePublishedKey},
		})
	}

	s.handle("/api/v1/error/{error_type}", map[string]method{GET: {open, s.getErrorType}})
	// Anything else under /api is a JSON 404, never the mux's plain text.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		setCORS(w)
		s.writeError(w, r, errNotFound)
	})
}
