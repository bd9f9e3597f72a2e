package api

import (
	"net/http"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// routes lists the whole API surface: each path, its methods, the access
// each method needs and the operation's name. /api/v1/discovery is
// generated from what these calls register, so nothing else lists them.
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
	s.handle("/csrf_token", map[string]method{GET: {open, h.sessions.getCSRFToken, "getCSRFToken"}})
	s.handle("/api/v1/signin", map[string]method{POST: {open, h.sessions.signin, "signinUser"}})
	s.handle("/api/v1/signin/verify", map[string]method{POST: {user(""), h.sessions.verifySignin, "verifyUser"}})
	s.handle("/api/v1/signout", map[string]method{POST: {open, h.sessions.signout, "logout"}})
	s.handle("/oauth/authorizeapp", map[string]method{POST: {user(""), h.sessions.authorizeApp, "authorizeApplication"}})
	s.handle("/oauth/localapp", map[string]method{GET: {open, h.sessions.localApp, "getLocalAppToken"}})

	// First-user bootstrap, when enabled.
	if o.FeatureUserInitialize {
		s.handle("/api/v1/user/initialize", map[string]method{POST: {open, h.sessions.initialize, "initializeUser"}})
	}

	// The caller, organizations and their OAuth applications.
	s.handle("/api/v1/user/{$}", map[string]method{GET: {user(wharf.UserRead), h.users.getCurrentUser, "getLoggedInUser"}})
	s.redirectSlash("/api/v1/user")
	s.handle("/api/v1/organization/{$}", map[string]method{POST: {user(wharf.UserAdmin), h.orgs.createOrganization, "createOrganization"}})
	s.redirectSlash("/api/v1/organization")
	s.handle("/api/v1/organization/{orgname}", map[string]method{
		GET:    {rule{need: publicRead}, h.orgs.getOrganization, "getOrganization"},
		PUT:    {user(wharf.OrgAdmin), h.orgs.changeOrgDetails, "changeOrganizationDetails"},
		DELETE: {user(wharf.OrgAdmin), h.orgs.deleteOrgAsAdmin, "deleteAdminedOrganization"},
	})
	s.handle("/api/v1/organization/{orgname}/applications", map[string]method{
		GET:  {user(wharf.OrgAdmin), h.orgs.listApplications, "getOrganizationApplications"},
		POST: {user(wharf.OrgAdmin), h.orgs.createApplication, "createOrganizationApplication"},
	})
	s.handle("/api/v1/organization/{orgname}/applications/{client_id}", map[string]method{
		GET:    {user(wharf.OrgAdmin), h.orgs.getApplication, "getOrganizationApplication"},
		PUT:    {user(wharf.OrgAdmin), h.orgs.updateApplication, "updateOrganizationApplication"},
		DELETE: {user(wharf.OrgAdmin), h.orgs.deleteApplication, "deleteOrganizationApplication"},
	})
	s.handle("/api/v1/organization/{orgname}/applications/{client_id}/resetclientsecret", map[string]method{
		POST: {user(wharf.OrgAdmin), h.orgs.resetClientSecret, "resetOrganizationApplicationClientSecret"},
	})
	// Repositories and robot accounts.
	s.handle("/api/v1/repository", map[string]method{
		GET:  {rule{need: publicRead}, h.teams.listRepositories, "listRepos"},
		POST: {user(""), h.repositories.createRepository, "createRepo"},
	})
	s.handle("/api/v1/repository/{namespace}/{repository}", map[string]method{
		GET:    {rule{need: publicRead}, h.repositories.getRepository, "getRepo"},
		PUT:    {user(wharf.RepoWrite), h.repositories.updateRepository, "updateRepo"},
		DELETE: {user(wharf.RepoAdmin), h.repositories.deleteRepository, "deleteRepository"},
	})
	s.handle("/api/v1/repository/{namespace}/{repository}/changevisibility", map[string]method{
		POST: {user(wharf.RepoAdmin), h.repositories.changeVisibility, "changeRepoVisibility"},
	})
	// Tag history, the time machine, manifests and their labels (spec §6).
	s.handle("/api/v1/repository/{namespace}/{repository}/tag/{$}", map[string]method{GET: {rule{need: publicRead}, h.tags.listTags, "listRepoTags"}})
	s.redirectSlash("/api/v1/repository/{namespace}/{repository}/tag")
	s.handle("/api/v1/repository/{namespace}/{repository}/tag/{tag}", map[string]method{
		PUT:    {user(wharf.RepoWrite), h.tags.changeTag, "changeTag"},
		DELETE: {user(wharf.RepoWrite), h.tags.deleteTag, "deleteFullTag"},
	})
	s.handle("/api/v1/repository/{namespace}/{repository}/tag/{tag}/restore", map[string]method{POST: {user(wharf.RepoWrite), h.tags.restoreTag, "restoreTag"}})
	s.handle("/api/v1/repository/{namespace}/{repository}/manifest/{manifestref}", map[string]method{GET: {rule{need: publicRead}, h.tags.getManifest, "getRepoManifest"}})
	s.handle("/api/v1/repository/{namespace}/{repository}/manifest/{manifestref}/labels", map[string]method{
		GET:  {rule{need: publicRead}, h.tags.listLabels, "listManifestLabels"},
		POST: {user(wharf.RepoWrite), h.tags.addLabel, "addManifestLabel"},
	})
	s.handle("/api/v1/repository/{namespace}/{repository}/manifest/{manifestref}/labels/{labelid}", map[string]method{
		GET:    {rule{need: publicRead}, h.tags.getLabel, "getManifestLabel"},
		DELETE: {user(wharf.RepoWrite), h.tags.deleteLabel, "deleteManifestLabel"},
	})
	// Auto-prune policies (spec §11), with FEATURE_AUTO_PRUNE.
	if a := h.autoPrune; a != nil {
		s.handle("/api/v1/organization/{orgname}/autoprunepolicy/{$}", map[string]method{
			GET:  {user(wharf.OrgAdmin), a.list(a.orgScope), "listOrganizationAutoPrunePolicies"},
			POST: {user(wharf.OrgAdmin), a.create(a.orgScope), "createOrganizationAutoPrunePolicy"},
		})
		s.redirectSlash("/api/v1/organization/{orgname}/autoprunepolicy")
		s.handle("/api/v1/organization/{orgname}/autoprunepolicy/{policy_uuid}", map[string]method{
			GET:    {user(wharf.OrgAdmin), a.get(a.orgScope), "getOrganizationAutoPrunePolicy"},
			PUT:    {user(wharf.OrgAdmin), a.update(a.orgScope), "updateOrganizationAutoPrunePolicy"},
			DELETE: {user(wharf.OrgAdmin), a.remove(a.orgScope), "deleteOrganizationAutoPrunePolicy"},
		})
		s.handle("/api/v1/user/autoprunepolicy/{$}", map[string]method{
			GET:  {user(wharf.UserAdmin), a.list(a.userScope), "listUserAutoPrunePolicies"},
			POST: {user(wharf.UserAdmin), a.create(a.userScope), "createUserAutoPrunePolicy"},
		})
		s.redirectSlash("/api/v1/user/autoprunepolicy")
		s.handle("/api/v1/user/autoprunepolicy/{policy_uuid}", map[string]method{
			GET:    {user(wharf.UserAdmin), a.get(a.userScope), "getUserAutoPrunePolicy"},
			PUT:    {user(wharf.UserAdmin), a.update(a.userScope), "updateUserAutoPrunePolicy"},
			DELETE: {user(wharf.UserAdmin), a.remove(a.userScope), "deleteUserAutoPrunePolicy"},
		})
		s.handle("/api/v1/repository/{namespace}/{repository}/autoprunepolicy/{$}", map[string]method{
			GET:  {user(wharf.RepoAdmin), a.list(a.repoScope), "listRepositoryAutoPrunePolicies"},
			POST: {user(wharf.RepoAdmin), a.create(a.repoScope), "createRepositoryAutoPrunePolicy"},
		})
		s.redirectSlash("/api/v1/repository/{namespace}/{repository}/autoprunepolicy")
		s.handle("/api/v1/repository/{namespace}/{repository}/autoprunepolicy/{policy_uuid}", map[string]method{
			GET:    {user(wharf.RepoAdmin), a.get(a.repoScope), "getRepositoryAutoPrunePolicy"},
			PUT:    {user(wharf.RepoAdmin), a.update(a.repoScope), "updateRepositoryAutoPrunePolicy"},
			DELETE: {user(wharf.RepoAdmin), a.remove(a.repoScope), "deleteRepositoryAutoPrunePolicy"},
		})
	}
	// An organization's robots and the caller's own run the same handlers;
	// Quay names their operations apart.
	for _, robots := range []struct{ base, list, get, put, del, regenerate string }{
		{"/api/v1/organization/{orgname}/robots", "getOrgRobots", "getOrgRobot", "createOrgRobot", "deleteOrgRobot", "regenerateOrgRobotToken"},
		{"/api/v1/user/robots", "getUserRobots", "getUserRobot", "createUserRobot", "deleteUserRobot", "regenerateUserRobotToken"},
	} {
		s.handle(robots.base, map[string]method{GET: {user(""), h.orgs.listRobots, robots.list}})
		s.handle(robots.base+"/{robot_shortname}", map[string]method{
			GET:    {user(""), h.orgs.getRobot, robots.get},
			PUT:    {user(""), h.orgs.putRobot, robots.put},
			DELETE: {user(""), h.orgs.deleteRobot, robots.del},
		})
		s.handle(robots.base+"/{robot_shortname}/regenerate", map[string]method{
			POST: {user(""), h.orgs.regenerateRobot, robots.regenerate},
		})
	}
	s.handle("/api/v1/repository/{namespace}/{repository}/changestate", map[string]method{
		PUT: {user(wharf.RepoAdmin), h.teams.changeState, "changeRepoState"},
	})
	s.handle("/api/v1/user/starred", map[string]method{
		GET:  {user(wharf.UserAdmin), h.teams.listStarred, "listStarredRepos"},
		POST: {user(wharf.UserAdmin), h.teams.starRepository, "createStar"},
	})
	s.handle("/api/v1/user/starred/{namespace}/{repository}", map[string]method{
		DELETE: {user(wharf.UserAdmin), h.teams.unstarRepository, "deleteStar"},
	})

	// Teams, members, repository permissions and default permissions.
	s.handle("/api/v1/organization/{orgname}/team/{teamname}", map[string]method{
		PUT:    {user(wharf.OrgAdmin), h.teams.putTeam, "updateOrganizationTeam"},
		DELETE: {user(wharf.OrgAdmin), h.teams.deleteTeam, "deleteOrganizationTeam"},
	})
	s.handle("/api/v1/organization/{orgname}/team/{teamname}/members", map[string]method{
		GET: {user(""), h.teams.listTeamMembers, "getOrganizationTeamMembers"},
	})
	s.handle("/api/v1/organization/{orgname}/team/{teamname}/members/{membername}", map[string]method{
		PUT:    {user(wharf.OrgAdmin), h.teams.putTeamMember, "updateOrganizationTeamMember"},
		DELETE: {user(wharf.OrgAdmin), h.teams.deleteTeamMember, "deleteOrganizationTeamMember"},
	})
	s.handle("/api/v1/organization/{orgname}/team/{teamname}/permissions", map[string]method{
		GET: {user(""), h.teams.listTeamPermissions, "getOrganizationTeamPermissions"},
	})
	s.handle("/api/v1/organization/{orgname}/members", map[string]method{
		GET: {user(""), h.teams.listOrgMembers, "getOrganizationMembers"},
	})
	s.handle("/api/v1/organization/{orgname}/members/{membername}", map[string]method{
		GET:    {user(""), h.teams.getOrgMember, "getOrganizationMember"},
		DELETE: {user(wharf.OrgAdmin), h.teams.deleteOrgMember, "removeOrganizationMember"},
	})
	s.handle("/api/v1/organization/{orgname}/prototypes", map[string]method{
		GET:  {user(""), h.teams.listPrototypes, "getOrganizationPrototypePermissions"},
		POST: {user(wharf.OrgAdmin), h.teams.createPrototype, "createOrganizationPrototypePermission"},
	})
	s.handle("/api/v1/organization/{orgname}/prototypes/{prototypeid}", map[string]method{
		PUT:    {user(wharf.OrgAdmin), h.teams.updatePrototype, "updateOrganizationPrototypePermission"},
		DELETE: {user(wharf.OrgAdmin), h.teams.deletePrototype, "deleteOrganizationPrototypePermission"},
	})
	s.handle("/api/v1/organization/{orgname}/robots/{robot_shortname}/permissions", map[string]method{
		GET: {user(""), h.teams.robotPermissions, "getOrgRobotPermissions"},
	})
	s.handle("/api/v1/user/robots/{robot_shortname}/permissions", map[string]method{
		GET: {user(""), h.teams.robotPermissions, "getUserRobotPermissions"},
	})
	s.handle("/api/v1/repository/{namespace}/{repository}/permissions/user/{$}", map[string]method{
		GET: {user(wharf.RepoAdmin), h.teams.listPermissions(false), "listRepoUserPermissions"},
	})
	s.redirectSlash("/api/v1/repository/{namespace}/{repository}/permissions/user")
	s.handle("/api/v1/repository/{namespace}/{repository}/permissions/user/{username}", map[string]method{
		GET:    {user(wharf.RepoAdmin), h.teams.getPermission(false), "getUserPermissions"},
		PUT:    {user(wharf.RepoAdmin), h.teams.putPermission(false), "changeUserPermissions"},
		DELETE: {user(wharf.RepoAdmin), h.teams.deletePermission(false), "deleteUserPermissions"},
	})
	s.handle("/api/v1/repository/{namespace}/{repository}/permissions/team/{$}", map[string]method{
		GET: {user(wharf.RepoAdmin), h.teams.listPermissions(true), "listRepoTeamPermissions"},
	})
	s.redirectSlash("/api/v1/repository/{namespace}/{repository}/permissions/team")
	s.handle("/api/v1/repository/{namespace}/{repository}/permissions/team/{teamname}", map[string]method{
		GET:    {user(wharf.RepoAdmin), h.teams.getPermission(true), "getTeamPermissions"},
		PUT:    {user(wharf.RepoAdmin), h.teams.putPermission(true), "changeTeamPermissions"},
		DELETE: {user(wharf.RepoAdmin), h.teams.deletePermission(true), "deleteTeamPermissions"},
	})
	s.handle("/api/v1/repository/{namespace}/{repository}/permissions/user/{username}/transitive", map[string]method{
		GET: {user(wharf.RepoAdmin), h.teams.transitivePermissions, "getUserTransitivePermission"},
	})
	s.handle("/api/v1/entities/{prefix}", map[string]method{GET: {user(""), h.users.getEntities, "getMatchingEntities"}})

	// Namespace and repository logs (the superuser's are below).
	s.handle("/api/v1/organization/{orgname}/logs", map[string]method{GET: {user(wharf.OrgAdmin), h.nsLogs.list(h.nsLogs.orgFilter), "listOrgLogs"}})
	s.handle("/api/v1/organization/{orgname}/aggregatelogs", map[string]method{GET: {user(wharf.OrgAdmin), h.nsLogs.aggregate(h.nsLogs.orgFilter), "getAggregateOrgLogs"}})
	s.handle("/api/v1/user/logs", map[string]method{GET: {user(wharf.UserAdmin), h.nsLogs.list(h.nsLogs.userFilter), "listUserLogs"}})
	s.handle("/api/v1/user/aggregatelogs", map[string]method{GET: {user(wharf.UserAdmin), h.nsLogs.aggregate(h.nsLogs.userFilter), "getAggregateUserLogs"}})
	s.handle("/api/v1/repository/{namespace}/{repository}/logs", map[string]method{GET: {user(""), h.nsLogs.list(h.nsLogs.repoFilter), "listRepoLogs"}})
	s.handle("/api/v1/repository/{namespace}/{repository}/aggregatelogs", map[string]method{GET: {user(""), h.nsLogs.aggregate(h.nsLogs.repoFilter), "getAggregateRepoLogs"}})
	// Log exports (spec §7.5), with FEATURE_LOG_EXPORT; the file is
	// downloaded outside /api/, at Quay's path, by its unguessable name.
	if x := h.logExports; x != nil {
		s.handle("/api/v1/organization/{orgname}/exportlogs", map[string]method{POST: {user(wharf.OrgAdmin), x.exportOrgLogs, "exportOrgLogs"}})
		s.handle("/api/v1/user/exportlogs", map[string]method{POST: {user(wharf.UserAdmin), x.exportUserLogs, "exportUserLogs"}})
		s.handle("/api/v1/repository/{namespace}/{repository}/exportlogs", map[string]method{POST: {user(""), x.exportRepoLogs, "exportRepoLogs"}})
		s.handleSigned("GET /exportedlogs/{file_id}", x.getExportedLogs)
	}

	// The caller's app-specific tokens: registry passwords for "$app".
	if h.appTokens != nil {
		s.handle("/api/v1/user/apptoken", map[string]method{
			GET:  {user(wharf.UserAdmin), h.appTokens.listAppTokens, "listAppTokens"},
			POST: {rule{need: signedIn, scope: wharf.UserAdmin, fresh: true}, h.appTokens.createAppToken, "createAppToken"},
		})
		s.handle("/api/v1/user/apptoken/{token_uuid}", map[string]method{
			GET:    {rule{need: signedIn, scope: wharf.UserAdmin, fresh: true}, h.appTokens.getAppToken, "getAppToken"},
			DELETE: {rule{need: signedIn, scope: wharf.UserAdmin, fresh: true}, h.appTokens.revokeAppToken, "revokeAppToken"},
		})
	}

	// Global messages: everyone reads them; superusers (Quay registers the
	// writes only with FEATURE_SUPER_USERS) publish and withdraw them.
	if o.FeatureSuperUsers {
		s.handle("/api/v1/messages", map[string]method{
			GET:  {rule{need: publicRead}, h.messages.listMessages, "getGlobalMessages"},
			POST: {admin, h.messages.createMessage, "createGlobalMessage"},
		})
		s.handle("/api/v1/message/{uuid}", map[string]method{DELETE: {admin, h.messages.deleteMessage, "deleteGlobalMessage"}})
	} else {
		s.handle("/api/v1/messages", map[string]method{GET: {rule{need: publicRead}, h.messages.listMessages, "getGlobalMessages"}})
	}

	// Instance administration (Quay's superuser API).
	if o.FeatureSuperUsers {
		s.handle("/api/v1/superuser/users/{$}", map[string]method{
			GET:  {inspect, h.users.listAllUsers, "listAllUsers"},
			POST: {admin, h.users.createInstallUser, "createInstallUser"},
		})
		s.redirectSlash("/api/v1/superuser/users")
		s.handle("/api/v1/superuser/users/{username}", map[string]method{
			GET:    {inspect, h.users.getInstallUser, "getInstallUser"},
			PUT:    {admin, h.users.changeInstallUser, "changeInstallUser"},
			DELETE: {admin, h.users.deleteInstallUser, "deleteInstallUser"},
		})
		s.handle("/api/v1/superuser/organizations/{$}", map[string]method{GET: {inspect, h.orgs.listAllOrganizations, "listAllOrganizations"}})
		s.redirectSlash("/api/v1/superuser/organizations")
		s.handle("/api/v1/superuser/organizations/{name}", map[string]method{
			PUT:    {admin, h.orgs.changeOrganization, "changeOrganization"},
			DELETE: {admin, h.orgs.deleteOrganization, "deleteOrganization"},
		})
		s.handle("/api/v1/superuser/takeownership/{namespace}", map[string]method{POST: {admin, h.orgs.takeOwnership, "takeOwnership"}})
		s.handle("/api/v1/superuser/logs", map[string]method{GET: {inspect, h.logs.listAllLogs, "listAllLogs"}})
		s.handle("/api/v1/superuser/aggregatelogs", map[string]method{GET: {inspect, h.logs.listAllAggregateLogs, "listAllAggregateLogs"}})
		s.handle("/api/v1/superuser/config", map[string]method{GET: {inspect, h.logs.getConfigDump, "getConfigDump"}})
		// Registry size (spec §2.25, §2.26): not gated by the quota features.
		s.handle("/api/v1/superuser/registrysize/{$}", map[string]method{
			GET:  {inspect, h.logs.getRegistrySize, "getRegistrySize"},
			POST: {admin, h.logs.queueRegistrySize, "queueRegistrySizeCalculation"},
		})
		s.redirectSlash("/api/v1/superuser/registrysize")
		// Service keys; listing and reading need no fresh login (spec §2.7, §2.21).
		if h.serviceKeys != nil {
			s.handle("/api/v1/superuser/keys", map[string]method{
				GET:  {rule{need: anySuperuser}, h.serviceKeys.listServiceKeys, "listServiceKeys"},
				POST: {admin, h.serviceKeys.createServiceKey, "createServiceKey"},
			})
			s.handle("/api/v1/superuser/keys/{kid}", map[string]method{
				GET:    {rule{need: anySuperuser}, h.serviceKeys.getServiceKey, "getServiceKey"},
				PUT:    {admin, h.serviceKeys.updateServiceKey, "updateServiceKey"},
				DELETE: {admin, h.serviceKeys.deleteServiceKey, "deleteServiceKey"},
			})
			s.handle("/api/v1/superuser/approvedkeys/{kid}", map[string]method{POST: {admin, h.serviceKeys.approveServiceKey, "approveServiceKey"}})
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
		// Operation names as current Quay gives them (spec §2.8, Gotcha 1).
		for _, su := range []struct{ base, list, create, change, del string }{
			{"/api/v1/superuser/users/{namespace}/quota", "listUserQuotaSuperUser", "createUserQuotaSuperUser", "changeUserQuotaSuperUser", "deleteUserQuotaSuperUser"},
			{"/api/v1/superuser/organization/{namespace}/quota", "listOrganizationQuotaSuperUser", "createOrganizationQuotaSuperUser", "changeOrganizationQuotaSuperUser", "deleteOrganizationQuotaSuperUser"},
		} {
			s.handle(su.base, map[string]method{
				GET:  {inspect, h.quotas.listQuotaSuperUser, su.list},
				POST: {admin, h.quotas.createQuotaSuperUser, su.create},
			})
			s.handle(su.base+"/{quota_id}", map[string]method{
				PUT:    {admin, h.quotas.changeQuotaOf("namespace"), su.change},
				DELETE: {quotaAdmin, h.quotas.deleteQuotaOf("namespace"), su.del},
			})
		}
		s.handle("/api/v1/organization/{orgname}/quota", map[string]method{
			GET:  {user(""), h.quotas.listOrgQuota, "listOrganizationQuota"},
			POST: {quotaAdmin, h.quotas.createOrgQuota, "createOrganizationQuota"},
		})
		s.handle("/api/v1/organization/{orgname}/quota/{quota_id}", map[string]method{
			GET:    {user(""), h.quotas.getOrgQuota, "getOrganizationQuota"},
			PUT:    {quotaAdmin, h.quotas.changeQuotaOf("orgname"), "changeOrganizationQuota"},
			DELETE: {quotaAdmin, h.quotas.deleteQuotaOf("orgname"), "deleteOrganizationQuota"},
		})
		s.handle("/api/v1/organization/{orgname}/quota/{quota_id}/limit", map[string]method{
			GET:  {user(""), h.quotas.listOrgQuotaLimits, "listOrganizationQuotaLimit"},
			POST: {quotaAdmin, h.quotas.createOrgQuotaLimit, "createOrganizationQuotaLimit"},
		})
		s.handle("/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}", map[string]method{
			GET:    {user(""), h.quotas.getOrgQuotaLimit, "getOrganizationQuotaLimit"},
			PUT:    {quotaAdmin, h.quotas.changeOrgQuotaLimit, "changeOrganizationQuotaLimit"},
			DELETE: {quotaAdmin, h.quotas.deleteOrgQuotaLimit, "deleteOrganizationQuotaLimit"},
		})
		// The caller's own quota, read-only.
		s.handle("/api/v1/user/quota", map[string]method{GET: {user(wharf.UserAdmin), h.quotas.listUserQuota, "listUserQuota"}})
		s.handle("/api/v1/user/quota/{quota_id}", map[string]method{GET: {user(wharf.UserAdmin), h.quotas.getUserQuota, "getUserQuota"}})
		s.handle("/api/v1/user/quota/{quota_id}/limit", map[string]method{GET: {user(wharf.UserAdmin), h.quotas.listUserQuotaLimits, "listUserQuotaLimit"}})
		s.handle("/api/v1/user/quota/{quota_id}/limit/{limit_id}", map[string]method{GET: {user(wharf.UserAdmin), h.quotas.getUserQuotaLimit, "getUserQuotaLimit"}})
	}

	// Image builds (Quay's build API) and the uploads they start from.
	if h.builds != nil {
		s.handle("/api/v1/filedrop/{$}", map[string]method{POST: {user(""), h.builds.createFileDrop, "getFiledropUrl"}})
		s.redirectSlash("/api/v1/filedrop")
		s.handleSigned("PUT /userfiles/{file_id}", h.builds.putUserFile)
		s.handleSigned("GET /userfiles/{file_id}", h.builds.getUserFile)
		repoBuilds := "/api/v1/repository/{namespace}/{repository}/build"
		s.handle(repoBuilds+"/{$}", map[string]method{
			GET:  {rule{need: publicRead}, h.builds.listBuilds, "getRepoBuilds"},
			POST: {user(wharf.RepoWrite), h.builds.requestBuild, "requestRepoBuild"},
		})
		s.redirectSlash(repoBuilds)
		s.handle(repoBuilds+"/{build_uuid}", map[string]method{
			GET:    {rule{need: publicRead}, h.builds.getBuild, "getRepoBuild"},
			DELETE: {user(wharf.RepoAdmin), h.builds.cancelBuild, "cancelRepoBuild"},
		})
		s.handle(repoBuilds+"/{build_uuid}/status", map[string]method{GET: {rule{need: publicRead}, h.builds.getBuild, "getRepoBuildStatus"}})
		s.handle(repoBuilds+"/{build_uuid}/logs", map[string]method{GET: {rule{need: publicRead}, h.builds.getBuildLogs, "getRepoBuildLogs"}})
		if o.FeatureSuperUsers {
			// {view} is status, build or logs (spec §2.22–2.24); the literal
			// superuser paths above are more specific and win.
			s.handle("/api/v1/superuser/{build_uuid}/{view}", map[string]method{GET: {inspect, h.builds.superuserBuild, "getRepoBuildSuperUser"}})
			s.handle("/api/v1/superuser/{build_uuid}/logs/archive", map[string]method{GET: {inspect, h.builds.superuserBuildLogArchive, "getRepoBuildLogsArchiveSuperUser"}})
		}
	}

	// The key server: services publish their keys, authenticated by JWTs
	// signed with them, not by wharf credentials.
	if h.serviceKeys != nil {
		s.handle("/keys/services/{service}/keys", map[string]method{GET: {open, h.serviceKeys.listPublishedKeys, "listPublishedServiceKeys"}})
		s.handle("/keys/services/{service}/keys/{kid}", map[string]method{
			GET:    {open, h.serviceKeys.getPublishedKey, "getPublishedServiceKey"},
			PUT:    {open, h.serviceKeys.putPublishedKey, "putPublishedServiceKey"},
			DELETE: {open, h.serviceKeys.deletePublishedKey, "deletePublishedServiceKey"},
		})
	}

	// The web console's own endpoints (console.go): a page of rows in one
	// request, under the same rules as the Quay endpoints with that data.
	s.handle("/api/v1/console/session", map[string]method{GET: {open, h.console.getSession, "getConsoleSession"}})
	if o.FeatureSuperUsers {
		s.handle("/api/v1/console/users", map[string]method{GET: {inspect, h.console.listUsers, "listConsoleUsers"}})
		s.handle("/api/v1/console/organizations", map[string]method{GET: {inspect, h.console.listOrganizations, "listConsoleOrganizations"}})
		s.handle("/api/v1/console/namespaces", map[string]method{GET: {inspect, h.console.listNamespaceUsage, "listConsoleNamespaceUsage"}})
		s.handle("/api/v1/console/collection", map[string]method{GET: {inspect, h.console.getCollection, "getConsoleBlobCollection"}})
		s.handle("/api/v1/console/logs", map[string]method{GET: {inspect, h.consoleLogs.listLogs, "listConsoleLogs"}})
		s.handle("/api/v1/console/logs/counts", map[string]method{GET: {inspect, h.consoleLogs.countLogs, "countConsoleLogs"}})
		if h.consoleBuilds != nil {
			s.handle("/api/v1/console/builds", map[string]method{GET: {inspect, h.consoleBuilds.listBuilds, "listConsoleBuilds"}})
		}
		// A download, not JSON, so outside /api/ (whose every answer is JSON).
		s.handle("/export/logs", map[string]method{GET: {inspect, h.consoleLogs.exportLogs, "exportConsoleLogs"}})
	}

	s.handle("/api/v1/error/{error_type}", map[string]method{GET: {open, s.getErrorType, "getErrorDescription"}})
	// This table itself, as Quay's Swagger document (discovery.go).
	s.handle("/api/v1/discovery", map[string]method{GET: {open, s.getDiscovery, "discovery"}})
	// Anything else under /api is a JSON 404, never the mux's plain text.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		setCORS(w)
		s.WriteError(w, r, errNotFound)
	})
}
