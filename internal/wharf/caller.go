package wharf

import "strconv"

// Caller is who performs an operation: the one type every face (API,
// registry, build workers) and every service uses for "the caller". A
// credential becomes a Caller once, at login (package auth); rights are
// decided from it once, by the access service; the audit log records it.
//
// The zero Caller (or a nil *Caller) is anonymous.
type Caller struct {
	// Account is the user or robot acting; nil when anonymous. For a
	// build worker it is the account the build pulls as (its pull robot or
	// requester), nil when that account may no longer act.
	Account *Account
	// Robot is set for robot logins: its NamespaceID names the namespace
	// whose rights it carries, and which must itself be enabled.
	Robot *Robot
	// Token is the OAuth token used, for sessions and passwords nil.
	Token *AccessToken
	// AppToken is the app-specific token used ("$app" at the registry);
	// the caller then acts as its owner with every right.
	AppToken *AppToken
	// Session is the browser session used, if any.
	Session *Session
	// Build is set for build workers: their rights follow the build.
	Build *Build
	// Scoped says Scopes bound what the credential may do (OAuth tokens);
	// other credentials act with every right their account has.
	Scoped bool
	Scopes Scopes
	// IP is the client's address, for the audit log and throttling.
	IP string
}

// Anonymous returns the caller with no credentials at ip.
func Anonymous(ip string) *Caller { return &Caller{IP: ip} }

// HasScope reports whether the credential allows want.
func (c *Caller) HasScope(want Scope) bool {
	return c != nil && (!c.Scoped || c.Scopes.Has(want))
}

// AccountID returns the acting account's id, 0 when anonymous.
func (c *Caller) AccountID() int64 {
	if c == nil || c.Account == nil {
		return 0
	}
	return c.Account.ID
}

// Name returns the acting account's name, or "" when anonymous.
func (c *Caller) Name() string {
	if c == nil || c.Account == nil {
		return ""
	}
	return c.Account.Name
}

// Entry builds the action-log entry for kind, filed under account, with
// Quay's extra oauth_token_* metadata when the caller used a token.
func (c *Caller) Entry(kind string, account *Account, metadata map[string]any) LogEntry {
	if metadata == nil {
		metadata = map[string]any{}
	}
	e := LogEntry{Kind: kind, Account: PartyOf(account), Metadata: metadata}
	if c == nil {
		return e
	}
	if c.Token != nil {
		metadata["oauth_token_id"] = c.Token.ID
		metadata["oauth_token_application_id"] = c.Token.Application.ClientID
		metadata["oauth_token_application"] = c.Token.Application.Name
	}
	e.Performer, e.IP = PartyOf(c.Account), c.IP
	return e
}

// RepositoryEntry is Entry for a change of repo: filed under its
// namespace and listed in the repository's logs.
func (c *Caller) RepositoryEntry(kind string, repo *Repository, metadata map[string]any) LogEntry {
	e := c.Entry(kind, repo.NamespaceAccount(), metadata)
	e.RepositoryID = repo.ID
	return e
}

// Unscoped returns c without its OAuth scopes: for rules that judge the
// account's own rights and check the token's scopes separately.
func (c *Caller) Unscoped() *Caller {
	if c == nil {
		return nil
	}
	u := *c
	u.Scoped, u.Scopes = false, nil
	return &u
}

// AccountSubject, RepositorySubject and ApplicationSubject name the
// subjects of credential epochs: a change that takes rights away from an
// account or a repository moves its epoch, and registry tokens issued
// before stop working (see auth.Revocations); deleting an OAuth
// application moves its epoch, and cached lookups of its tokens end.
func AccountSubject(id int64) string     { return "account:" + strconv.FormatInt(id, 10) }
func RepositorySubject(id int64) string  { return "repository:" + strconv.FormatInt(id, 10) }
func ApplicationSubject(id int64) string { return "application:" + strconv.FormatInt(id, 10) }

// EpochChange is one subject's credential epoch as of its last change.
type EpochChange struct {
	Subject   string
	Epoch     int64
	ChangedAt int64 // microseconds, by the store's clock
}
