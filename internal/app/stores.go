package app

import (
	"context"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Most consumers take one domain store of db.DB. These are the few whose
// interfaces span several domains, each given exactly the domain stores
// it reads (db keeps every method name on one domain store, so embedding
// never makes a selector ambiguous).

// repositoryStore serves the services that decide about repositories for
// accounts (access, repository): accounts and robots, and repositories.
type repositoryStore struct {
	*db.Accounts
	*db.Registry
	*db.Tenancy
}

// registryStore serves the /v2 face: who pushes and pulls, what is stored,
// what is arriving, and the pull entries it flushes to the action log. Its
// repository lookups, one per request, go through the repository cache
// (the registry reads a repository's id, namespace and visibility, which
// the cache keeps current; descriptions it may serve stale it never reads).
type registryStore struct {
	*db.Accounts
	*db.Registry
	*db.Uploads
	*db.Logs
	repositories *repositoryCache
	servedBlobs  *servedBlobCache
}

// ServedBlobSize reads through the served-blob cache.
func (s registryStore) ServedBlobSize(ctx context.Context, repoID int64, digest string) (int64, error) {
	return s.servedBlobs.ServedBlobSize(ctx, repoID, digest)
}

// RepositoryByName reads through the repository cache.
func (s registryStore) RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error) {
	return s.repositories.RepositoryByName(ctx, namespace, name)
}

// cachedRepositories is repositoryStore reading repositories and grants
// through their caches, for the /v2 face's access decisions.
type cachedRepositories struct {
	repositoryStore
	repositories *repositoryCache
	grants       *grantCache
}

// Grants reads through the grant cache.
func (s cachedRepositories) Grants(ctx context.Context, orgID, repoID, accountID int64) (string, string, error) {
	return s.grants.Grants(ctx, orgID, repoID, accountID)
}

// RepositoryByName reads through the repository cache.
func (s cachedRepositories) RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error) {
	return s.repositories.RepositoryByName(ctx, namespace, name)
}

// apiStore serves the /api/v1 face's reads: accounts, OAuth applications,
// quota and registry size views, and the action log.
type apiStore struct {
	*db.Accounts
	*db.OAuth
	*db.Quotas
	*db.Usage
	*db.Logs
	*db.Tenancy
	consoleBuilds
	collectionTotals
}

// collectionTotals gives the API what the blob collector reclaimed (the
// storage page); the collector owns the rest of its store.
type collectionTotals struct{ collection *db.Collection }

// CollectionTotals reads the totals (db.Collection.CollectionTotals).
func (c collectionTotals) CollectionTotals(ctx context.Context) (wharf.CollectionTotals, error) {
	return c.collection.CollectionTotals(ctx)
}

// consoleBuilds gives the API the one build query it makes itself (the
// console's list across repositories); the build service owns the rest.
type consoleBuilds struct{ builds *db.Builds }

// ConsoleBuilds lists builds across repositories (db.Builds.ConsoleBuilds).
func (c consoleBuilds) ConsoleBuilds(ctx context.Context, active bool, offset, limit int) ([]*wharf.Build, int64, error) {
	return c.builds.ConsoleBuilds(ctx, active, offset, limit)
}

// loginStore serves logins (package auth): accounts, with API calls'
// OAuth token lookups read through the access-token cache.
type loginStore struct {
	*db.Accounts
	tokens *accessTokenCache
}

// AccessTokenByName reads through the access-token cache.
func (s loginStore) AccessTokenByName(ctx context.Context, name string) (*wharf.AccessToken, *wharf.Account, error) {
	return s.tokens.AccessTokenByName(ctx, name)
}

// badgeRepositories serves the build-status badge: repositories through
// the repository cache, their builds from the store.
type badgeRepositories struct {
	*repositoryCache
	*db.Builds
}
