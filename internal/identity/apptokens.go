package identity

import (
	"context"
	"crypto/sha256"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// AppTokenStore is the storage of app-specific tokens.
type AppTokenStore interface {
	CreateAppToken(ctx context.Context, tok *wharf.AppToken, entries ...wharf.LogEntry) error
	// AppTokens lists an account's tokens; with expiringBy set, only
	// those with after < expiration ≤ expiringBy.
	AppTokens(ctx context.Context, accountID int64, after, expiringBy time.Time) ([]*wharf.AppToken, error)
	// AppTokenByUUID and DeleteAppToken return NotFound.
	AppTokenByUUID(ctx context.Context, accountID int64, uuid string) (*wharf.AppToken, error)
	DeleteAppToken(ctx context.Context, tok *wharf.AppToken, entries ...wharf.LogEntry) error
}

// AppTokens manages users' app-specific tokens: registry passwords a user
// makes per client and revokes on their own. Every user sees and revokes
// only their own; logging in with one is package auth's.
type AppTokens struct {
	store AppTokenStore
	// lifetime is APP_SPECIFIC_TOKEN_EXPIRATION; 0 = tokens never expire.
	lifetime time.Duration
	now      func() time.Time
}

// NewAppTokens returns AppTokens over store whose new tokens live for
// lifetime (0: forever).
func NewAppTokens(store AppTokenStore, lifetime time.Duration, now func() time.Time) *AppTokens {
	return &AppTokens{store: store, lifetime: lifetime, now: now}
}

// AppTokenLength is the length of an app token's code, as Quay's: the
// first AppTokenNameLength characters name the stored row, the rest is
// the secret of which only a hash is kept.
const (
	AppTokenLength     = 120
	AppTokenNameLength = 60
)

// MaxAppTokenTitle bounds a token's title (Quay's column is 255 long).
const MaxAppTokenTitle = 255

// SplitAppToken splits code into its lookup name and its secret half; ok
// is false when code cannot be one of ours.
func SplitAppToken(code string) (name, secret string, ok bool) {
	if len(code) != AppTokenLength {
		return "", "", false
	}
	return code[:AppTokenNameLength], code[AppTokenNameLength:], true
}

func appTokenMeta(t *wharf.AppToken) map[string]any {
	return map[string]any{"app_specific_token_title": t.Title, "app_specific_token": t.UUID}
}

// Create makes a token titled title for the actor's account and returns
// its code, which is never shown again.
func (a *AppTokens) Create(ctx context.Context, actor *wharf.Caller, title string) (string, *wharf.AppToken, error) {
	if len(title) > MaxAppTokenTitle {
		return "", nil, wharf.Errorf(wharf.Invalid, "title must be at most %d bytes", MaxAppTokenTitle)
	}
	if !utf8.ValidString(title) || strings.ContainsRune(title, 0) {
		return "", nil, wharf.Errorf(wharf.Invalid, "title must be UTF-8 text without NUL characters")
	}
	code := RandomString(AppTokenLength, upperAlnum)
	name, secret, _ := SplitAppToken(code)
	sum := sha256.Sum256([]byte(secret))
	tok := &wharf.AppToken{UUID: wharf.NewUUID(), AccountID: actor.Account.ID, Title: title, Name: name, SecretHash: sum[:]}
	if a.lifetime > 0 {
		tok.ExpiresAt = a.now().Add(a.lifetime).UTC()
	}
	if err := a.store.CreateAppToken(ctx, tok, actor.Entry("create_app_specific_token", actor.Account, appTokenMeta(tok))); err != nil {
		return "", nil, err
	}
	return code, tok, nil
}

// defaultExpiringWindow is what "expiring soon" is a tenth of when tokens
// do not expire by configuration (Quay's "4w").
const defaultExpiringWindow = 28 * 24 * time.Hour

// List returns owner's tokens; with expiring, only those that expire
// within a tenth of the configured lifetime (of four weeks when tokens do
// not expire), at least a second, as Quay's ?expiring=true does.
func (a *AppTokens) List(ctx context.Context, owner *wharf.Account, expiring bool) ([]*wharf.AppToken, error) {
	if !expiring {
		return a.store.AppTokens(ctx, owner.ID, time.Time{}, time.Time{})
	}
	window := a.lifetime
	if window == 0 {
		window = defaultExpiringWindow
	}
	soon := time.Duration(max(math.Ceil(window.Seconds()*0.1), 1)) * time.Second
	now := a.now()
	return a.store.AppTokens(ctx, owner.ID, now, now.Add(soon))
}

// Get returns owner's unexpired token uuid. NotFound for an expired
// token, another user's, or none.
func (a *AppTokens) Get(ctx context.Context, owner *wharf.Account, uuid string) (*wharf.AppToken, error) {
	tok, err := a.store.AppTokenByUUID(ctx, owner.ID, uuid)
	if err != nil {
		return nil, err
	}
	if tok.Expired(a.now()) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return tok, nil
}

// Revoke deletes the actor's own token uuid (expired ones too): registry
// tokens it earned stop working within the revocation bound. NotFound for
// another user's token or none.
func (a *AppTokens) Revoke(ctx context.Context, actor *wharf.Caller, uuid string) (*wharf.AppToken, error) {
	tok, err := a.store.AppTokenByUUID(ctx, actor.Account.ID, uuid)
	if err != nil {
		return nil, err
	}
	if err := a.store.DeleteAppToken(ctx, tok, actor.Entry("revoke_app_specific_token", actor.Account, appTokenMeta(tok))); err != nil {
		return nil, err
	}
	return tok, nil
}
