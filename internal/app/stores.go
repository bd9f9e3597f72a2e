package app

import "github.com/wharf-registry/wharf/internal/db"

// Most consumers take one domain store of db.DB. These are the few whose
// interfaces span several domains, each given exactly the domain stores
// it reads (db keeps every method name on one domain store, so embedding
// never makes a selector ambiguous).

// repositoryStore serves the services that decide about repositories for
// accounts (access, repository): accounts and robots, and repositories.
type repositoryStore struct {
	*db.Accounts
	*db.Registry
}

// registryStore serves the /v2 face: who pushes and pulls, what is stored,
// what is arriving, and the pull entries it flushes to the action log.
type registryStore struct {
	*db.Accounts
	*db.Registry
	*db.Uploads
	*db.Logs
}

// apiStore serves the /api/v1 face's reads: accounts, OAuth applications,
// quota and registry size views, and the action log.
type apiStore struct {
	*db.Accounts
	*db.OAuth
	*db.Quotas
	*db.Usage
	*db.Logs
}
