package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// ApplicationStore is the storage of OAuth applications and tokens.
type ApplicationStore interface {
	CreateApplication(ctx context.Context, app *wharf.Application, entries ...wharf.LogEntry) error
	// ApplicationByClientID returns NotFound.
	ApplicationByClientID(ctx context.Context, clientID string) (*wharf.Application, error)
	// UpdateApplication and DeleteApplication return NotFound.
	UpdateApplication(ctx context.Context, app *wharf.Application, entries ...wharf.LogEntry) error
	DeleteApplication(ctx context.Context, id int64, entries ...wharf.LogEntry) error
	CreateAccessToken(ctx context.Context, tok *wharf.AccessToken, entries ...wharf.LogEntry) error
}

// Applications manages an organization's OAuth applications and the access
// tokens they grant.
type Applications struct {
	store ApplicationStore
}

// NewApplications returns an Applications over store.
func NewApplications(store ApplicationStore) *Applications { return &Applications{store: store} }

// ApplicationFields are the user-editable fields of an application.
type ApplicationFields struct {
	Name           string
	Description    string
	ApplicationURI string
	RedirectURI    string
	AvatarEmail    string
}

func (f ApplicationFields) validate() error {
	if strings.TrimSpace(f.Name) == "" {
		return wharf.Errorf(wharf.Invalid, "Application name is required")
	}
	if len(f.Name) > 255 {
		return wharf.Errorf(wharf.Invalid, "Application name must be at most 255 characters")
	}
	if f.AvatarEmail != "" {
		return ValidateEmail(f.AvatarEmail)
	}
	return nil
}

func appMeta(app *wharf.Application) map[string]any {
	return map[string]any{"application_name": app.Name, "client_id": app.ClientID}
}

// Create registers a new application for org with fresh client credentials.
func (a *Applications) Create(ctx context.Context, actor *wharf.Caller, org *wharf.Account, f ApplicationFields) (*wharf.Application, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	app := &wharf.Application{OrgID: org.ID, ClientID: RandomString(20, upperAlnum), ClientSecret: RandomString(40, upperAlnum),
		Name: f.Name, Description: f.Description, ApplicationURI: f.ApplicationURI, RedirectURI: f.RedirectURI, AvatarEmail: f.AvatarEmail}
	if err := a.store.CreateApplication(ctx, app, actor.Entry("create_application", org, appMeta(app))); err != nil {
		return nil, err
	}
	return app, nil
}

// Get returns org's application clientID. NotFound if org has no such application.
func (a *Applications) Get(ctx context.Context, org *wharf.Account, clientID string) (*wharf.Application, error) {
	app, err := a.store.ApplicationByClientID(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if app.OrgID != org.ID {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return app, nil
}

// Update replaces the editable fields of org's application clientID.
func (a *Applications) Update(ctx context.Context, actor *wharf.Caller, org *wharf.Account, clientID string, f ApplicationFields) (*wharf.Application, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	app, err := a.Get(ctx, org, clientID)
	if err != nil {
		return nil, err
	}
	app.Name, app.Description, app.ApplicationURI, app.RedirectURI, app.AvatarEmail =
		f.Name, f.Description, f.ApplicationURI, f.RedirectURI, f.AvatarEmail
	if err := a.store.UpdateApplication(ctx, app, actor.Entry("update_application", org, appMeta(app))); err != nil {
		return nil, err
	}
	return app, nil
}

// ResetSecret gives org's application clientID a new client secret.
func (a *Applications) ResetSecret(ctx context.Context, actor *wharf.Caller, org *wharf.Account, clientID string) (*wharf.Application, error) {
	app, err := a.Get(ctx, org, clientID)
	if err != nil {
		return nil, err
	}
	app.ClientSecret = RandomString(40, upperAlnum)
	if err := a.store.UpdateApplication(ctx, app, actor.Entry("reset_application_client_secret", org, appMeta(app))); err != nil {
		return nil, err
	}
	return app, nil
}

// Delete removes org's application clientID and every token it issued.
func (a *Applications) Delete(ctx context.Context, actor *wharf.Caller, org *wharf.Account, clientID string) error {
	app, err := a.Get(ctx, org, clientID)
	if err != nil {
		return err
	}
	return a.store.DeleteApplication(ctx, app.ID, actor.Entry("delete_application", org, appMeta(app)))
}

// TokenLength is the length of an OAuth access token: the first half names
// the stored row, the second half is the secret of which only a hash is kept.
const TokenLength = 40

// IssueToken creates an access token for account through app with scope,
// valid for lifetime, and returns its plaintext once.
func (a *Applications) IssueToken(ctx context.Context, actor *wharf.Caller, app *wharf.Application, org, account *wharf.Account,
	scope string, lifetime time.Duration, now time.Time) (string, *wharf.AccessToken, error) {
	token := RandomString(TokenLength, upperAlnum)
	name, secret := token[:TokenLength/2], token[TokenLength/2:]
	sum := sha256.Sum256([]byte(secret))
	tok := &wharf.AccessToken{Name: name, SecretHash: sum[:], AccountID: account.ID, Application: *app,
		Scope: scope, ExpiresAt: now.Add(lifetime)}
	entry := actor.Entry("oauth_token_assigned", org, map[string]any{
		"application_name": app.Name, "client_id": app.ClientID, "scope": scope, "assigned_user": account.Name})
	if err := a.store.CreateAccessToken(ctx, tok, entry); err != nil {
		return "", nil, err
	}
	return token, tok, nil
}

// SplitToken splits token into its lookup name and its secret half; ok is
// false when token cannot be one of ours.
func SplitToken(token string) (name, secret string, ok bool) {
	if len(token) != TokenLength {
		return "", "", false
	}
	return token[:TokenLength/2], token[TokenLength/2:], true
}

// TokenSecretMatches reports whether secret hashes to want.
func TokenSecretMatches(want []byte, secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(want, sum[:]) == 1
}

// CreateAutomation registers the application Quay's /user/initialize makes
// for the first user's token: named "automation", client id = the username.
func (a *Applications) CreateAutomation(ctx context.Context, actor *wharf.Caller, owner *wharf.Account) (*wharf.Application, error) {
	app := &wharf.Application{OrgID: owner.ID, ClientID: owner.Name, ClientSecret: RandomString(40, upperAlnum),
		Name: "automation", Description: "Application token generated via /api/v1/user/initialize"}
	if err := a.store.CreateApplication(ctx, app, actor.Entry("create_application", owner, appMeta(app))); err != nil {
		return nil, err
	}
	return app, nil
}
