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
}

// RepositoryByName reads through the repository cache.
func (s registryStore) RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error) {
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
}
