package api

import (
	"net/http"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// routes lists the whole API surface with the access each method needs.
func (s *Server) routes(o Options, h resources) {
	const (
		GET    = http.MethodGet
		POST   = http.MethodPost
		PUT    = http.MethodPut
		DELETE = http.MethodDelete
	)
	open := rule{need: anyone}
	user := func(scope wharf.Scope) rule { return rule{need: signedIn, scope: scope} }
	inspect := rule{need: anySuperuser, fresh: true}
	admin := rule{need: fullSuperuser, fresh: true}
	quotaAdmin := rule{need: fullSuperuser} // quota writes Quay does not ask a fresh login for

	// Browser-style login and the OAuth implicit grant.
	s.handle("/csrf_token", map[string]method{GET: {open, h.sessions.getCSRFToken}})
	s.handle("/api/v1/signin", map[string]method{POST: {open, h.sessions.signin}})
	s.handle("/api/v1/signin/verify", map[string]method{POST: {user(""), h.sessions.verifySignin}})
	s.handle("/api/v1/signout", map[string]method{POST: {open, h.sessions.signout}})
	s.handle("/oauth/authorizeapp", map[string]method{POST: {user(""), h.sessions.authorizeApp}})
	s.handle("/oauth/localapp", map[string]method{GET: {open, h.sessions.localApp}})

	// First-user bootstrap, when enabled.
	if o.FeatureUserInitialize {
		s.handle("/api/v1/user/initialize", map[string]method{POST: {open, h.sessions.initialize}})
	}

	// The caller, organizations and their OAuth applications.
	s.handle("/api/v1/user/{$}", map[string]method{GET: {user(wharf.UserRead), h.users.getCurrentUser}})
	s.redirectSlash("/api/v1/user")
	s.handle("/api/v1/organization/{$}", map[string]method{POST: {user(wharf.UserAdmin), h.orgs.createOrganization}})
	s.redirectSlash("/api/v1/organization")
	s.handle("/api/v1/organization/{orgname}", map[string]method{
		GET:    {rule{need: publicRead}, h.orgs.getOrganization},
		PUT:    {user(wharf.OrgAdmin), h.orgs.changeOrgDetails},
		DELETE: {user(wharf.OrgAdmin), h.orgs.deleteOrgAsAdmin},
	})
	s.handle("/api/v1/organization/{orgname}/applications", map[string]method{
		GET:  {user(wharf.OrgAdmin), h.orgs.listApplications},
		POST: {user(wharf.OrgAdmin), h.orgs.createApplication},
	})
	s.handle("/api/v1/organization/{orgname}/applications/{client_id}", map[string]method{
		GET:    {user(wharf.OrgAdmin), h.orgs.getApplication},
		PUT:    {user(wharf.OrgAdmin), h.orgs.updateApplication},
		DELETE: {user(wharf.OrgAdmin), h.orgs.deleteApplication},
	})
	s.handle("/api/v1/organization/{orgname}/applications/{client_id}/resetclientsecret", map[string]method{
		POST: {user(wharf.OrgAdmin), h.orgs.resetClientSecret},
	})
	// Repositories and robot accounts.
	s.handle("/api/v1/repository", map[string]method{POST: {user(""), h.repositories.createRepository}})
	s.handle("/api/v1/repository/{namespace}/{repository}", map[string]method{
		GET:    {rule{need: publicRead}, h.repositories.getRepository},
		PUT:    {user(wharf.RepoAdmin), h.repositories.updateRepository},
		DELETE: {user(wharf.RepoAdmin), h.repositories.deleteRepository},
	})
	s.handle("/api/v1/repository/{namespace}/{repository}/changevisibility", map[string]method{
		POST: {user(wharf.RepoAdmin), h.repositories.changeVisibility},
	})
	for _, base := range []string{"/api/v1/organization/{orgname}/robots", "/api/v1/user/robots"} {
		s.handle(base, map[string]method{GET: {user(""), h.orgs.listRobots}})
		s.handle(base+"/{robot_shortname}", map[string]method{
			GET:    {user(""), h.orgs.getRobot},
			PUT:    {user(""), h.orgs.putRobot},
			DELETE: {user(""), h.orgs.deleteRobot},
		})
	}
	s.handle("/api/v1/entities/{prefix}", map[string]method{GET: {user(""), h.users.getEntities}})

	// Instance administration (Quay's superuser API).
	if o.FeatureSuperUsers {
		s.handle("/api/v1/superuser/users/{$}", map[string]method{
			GET:  {inspect, h.users.listAllUsers},
			POST: {admin, h.users.createInstallUser},
		})
		s.redirectSlash("/api/v1/superuser/users")
		s.handle("/api/v1/superuser/users/{username}", map[string]method{
			GET:    {inspect, h.users.getInstallUser},
			PUT:    {admin, h.users.changeInstallUser},
			DELETE: {admin, h.users.deleteInstallUser},
		})
		s.handle("/api/v1/superuser/organizations/{$}", map[string]method{GET: {inspect, h.orgs.listAllOrganizations}})
		s.redirectSlash("/api/v1/superuser/organizations")
		s.handle("/api/v1/superuser/organizations/{name}", map[string]method{
			PUT:    {admin, h.orgs.changeOrganization},
			DELETE: {admin, h.orgs.deleteOrganization},
		})
		s.handle("/api/v1/superuser/takeownership/{namespace}", map[string]method{POST: {admin, h.orgs.takeOwnership}})
		s.handle("/api/v1/superuser/logs", map[string]method{GET: {inspect, h.logs.listAllLogs}})
		s.handle("/api/v1/superuser/aggregatelogs", map[string]method{GET: {inspect, h.logs.listAllAggregateLogs}})
		s.handle("/api/v1/superuser/config", map[string]method{GET: {inspect, h.logs.getConfigDump}})
		// Registry size (spec §2.25, §2.26): not gated by the quota features.
		s.handle("/api/v1/superuser/registrysize/{$}", map[string]method{
			GET:  {inspect, h.logs.getRegistrySize},
			POST: {admin, h.logs.queueRegistrySize},
		})
		s.redirectSlash("/api/v1/superuser/registrysize")
		// Service keys; listing and reading need no fresh login (spec §2.7, §2.21).
		if h.serviceKeys != nil {
			s.handle("/api/v1/superuser/keys", map[string]method{
				GET:  {rule{need: anySuperuser}, h.serviceKeys.listServiceKeys},
				POST: {admin, h.serviceKeys.createServiceKey},
			})
			s.handle("/api/v1/superuser/keys/{kid}", map[string]method{
				GET:    {rule{need: anySuperuser}, h.serviceKeys.getServiceKey},
				PUT:    {admin, h.serviceKeys.updateServiceKey},
				DELETE: {admin, h.serviceKeys.deleteServiceKey},
			})
			s.handle("/api/v1/superuser/approvedkeys/{kid}", map[string]method{POST: {admin, h.serviceKeys.approveServiceKey}})
		}
	}

	// Namespace quotas (spec §2.8–2.15, §3.12), registered as Quay registers
	// them: with FEATURE_SUPER_USERS, FEATURE_QUOTA_MANAGEMENT and
	// FEATURE_EDIT_QUOTA. Writes are for full superusers (wharf grants them
	// what Quay grants with FEATURE_SUPERUSERS_FULL_ACCESS, for quotas
	// only); the organization reads check membership in the handler.
	if o.FeatureSuperUsers && o.FeatureQuotaManagement && o.FeatureEditQuota && h.quotas != nil {
		// Both superuser path families run the same handlers, for any
		// namespace; only DELETE needs no fresh login (spec §2.8–2.15).
		for _, suQuota := range []string{"/api/v1/superuser/users/{namespace}/quota", "/api/v1/superuser/organization/{namespace}/quota"} {
			s.handle(suQuota, map[string]method{
				GET:  {inspect, h.quotas.listQuotaSuperUser},
				POST: {admin, h.quotas.createQuotaSuperUser},
			})
			s.handle(suQuota+"/{quota_id}", map[string]method{
				PUT:    {admin, h.quotas.changeQuotaOf("namespace")},
				DELETE: {quotaAdmin, h.quotas.deleteQuotaOf("namespace")},
			})
		}
		s.handle("/api/v1/organization/{orgname}/quota", map[string]method{
			GET:  {user(""), h.quotas.listOrgQuota},
			POST: {quotaAdmin, h.quotas.createOrgQuota},
		})
		s.handle("/api/v1/organization/{orgname}/quota/{quota_id}", map[string]method{
			GET:    {user(""), h.quotas.getOrgQuota},
			PUT:    {quotaAdmin, h.quotas.changeQuotaOf("orgname")},
			DELETE: {quotaAdmin, h.quotas.deleteQuotaOf("orgname")},
		})
		s.handle("/api/v1/organization/{orgname}/quota/{quota_id}/limit", map[string]method{
			GET:  {user(""), h.quotas.listOrgQuotaLimits},
			POST: {quotaAdmin, h.quotas.createOrgQuotaLimit},
		})
		s.handle("/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}", map[string]method{
			GET:    {user(""), h.quotas.getOrgQuotaLimit},
			PUT:    {quotaAdmin, h.quotas.changeOrgQuotaLimit},
			DELETE: {quotaAdmin, h.quotas.deleteOrgQuotaLimit},
		})
		// The caller's own quota, read-only.
		s.handle("/api/v1/user/quota", map[string]method{GET: {user(wharf.UserAdmin), h.quotas.listUserQuota}})
		s.handle("/api/v1/user/quota/{quota_id}", map[string]method{GET: {user(wharf.UserAdmin), h.quotas.getUserQuota}})
		s.handle("/api/v1/user/quota/{quota_id}/limit", map[string]method{GET: {user(wharf.UserAdmin), h.quotas.listUserQuotaLimits}})
		s.handle("/api/v1/user/quota/{quota_id}/limit/{limit_id}", map[string]method{GET: {user(wharf.UserAdmin), h.quotas.getUserQuotaLimit}})
	}

	// Image builds (Quay's build API) and the uploads they start from.
	if h.builds != nil {
		s.handle("/api/v1/filedrop/{$}", map[string]method{POST: {user(""), h.builds.createFileDrop}})
		s.redirectSlash("/api/v1/filedrop")
		s.handleSigned("PUT /userfiles/{file_id}", h.builds.putUserFile)
		s.handleSigned("GET /userfiles/{file_id}", h.builds.getUserFile)
		repoBuilds := "/api/v1/repository/{namespace}/{repository}/build"
		s.handle(repoBuilds+"/{$}", map[string]method{
			GET:  {rule{need: publicRead}, h.builds.listBuilds},
			POST: {user(wharf.RepoWrite), h.builds.requestBuild},
		})
		s.redirectSlash(repoBuilds)
		s.handle(repoBuilds+"/{build_uuid}", map[string]method{
			GET:    {rule{need: publicRead}, h.builds.getBuild},
			DELETE: {user(wharf.RepoAdmin), h.builds.cancelBuild},
		})
		s.handle(repoBuilds+"/{build_uuid}/status", map[string]method{GET: {rule{need: publicRead}, h.builds.getBuild}})
		s.handle(repoBuilds+"/{build_uuid}/logs", map[string]method{GET: {rule{need: publicRead}, h.builds.getBuildLogs}})
		if o.FeatureSuperUsers {
			// {view} is status, build or logs (spec §2.22–2.24); the literal
			// superuser paths above are more specific and win.
			s.handle("/api/v1/superuser/{build_uuid}/{view}", map[string]method{GET: {inspect, h.builds.superuserBuild}})
			s.handle("/api/v1/superuser/{build_uuid}/logs/archive", map[string]method{GET: {inspect, h.builds.superuserBuildLogArchive}})
		}
	}

	// The key server: services publish their keys, authenticated by JWTs
	// signed with them, not by wharf credentials.
	if h.serviceKeys != nil {
		s.handle("/keys/services/{service}/keys", map[string]method{GET: {open, h.serviceKeys.listPublishedKeys}})
		s.handle("/keys/services/{service}/keys/{kid}", map[string]method{
			GET:    {open, h.serviceKeys.getPublishedKey},
			PUT:    {open, h.serviceKeys.putPublishedKey},
			DELETE: {open, h.serviceKeys.deletePublishedKey},
		})
	}

	s.handle("/api/v1/error/{error_type}", map[string]method{GET: {open, s.getErrorType}})
	// Anything else under /api is a JSON 404, never the mux's plain text.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		setCORS(w)
		s.WriteError(w, r, errNotFound)
	})
}
