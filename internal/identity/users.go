package identity

import (
	"context"
	"errors"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

func (s *Service) defaultTagExpiration() int64 {
	return int64(s.policy.DefaultTagExpiration / time.Second)
}

// Initialize creates the first user of an empty instance with the given
// password, verified, and makes it a superuser: wharf has no built-in admin
// account, so this is how an instance gets its first administrator. Invalid
// (with Quay's "Failed to initialize user: ..." texts) when the instance has
// accounts or the input breaks a rule.
func (s *Service) Initialize(ctx context.Context, username, password, email, ip string) (*wharf.Account, error) {
	fail := func(err error) error {
		return wharf.Errorf(wharf.Invalid, "Failed to initialize user: %s", wharf.ErrorMessage(err))
	}
	if s.policy.Mailing || email != "" {
		if err := ValidateEmail(email); err != nil {
			return nil, fail(err)
		}
	}
	if err := ValidateName(username); err != nil {
		return nil, fail(err)
	}
	if err := ValidatePassword(password); err != nil {
		return nil, fail(err)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	u := &wharf.Account{Name: username, Kind: wharf.KindUser, Email: email, PasswordHash: hash,
		Enabled: true, Verified: true, Superuser: true, TagExpirationS: s.defaultTagExpiration()}
	entry := wharf.LogEntry{Kind: "user_create", Account: wharf.LogParty{Name: username}, Performer: wharf.LogParty{Name: username}, IP: ip,
		Metadata: map[string]any{"email": nullable(email), "username": username, "initialize": true}}
	if err := s.store.CreateFirstAccount(ctx, u, entry); err != nil {
		return nil, err
	}
	return u, nil
}

// CreateUser is createInstallUser: a new user with a generated password,
// returned once. The e-mail is required only with FEATURE_MAILING; a given
// one must be valid and unused.
func (s *Service) CreateUser(ctx context.Context, actor *wharf.Caller, username, email string) (*wharf.Account, string, error) {
	if s.policy.Mailing || email != "" {
		if err := ValidateEmail(email); err != nil {
			return nil, "", err
		}
	}
	if err := ValidateName(username); err != nil {
		return nil, "", err
	}
	password := GeneratePassword()
	hash, err := HashPassword(password)
	if err != nil {
		return nil, "", err
	}
	u := &wharf.Account{Name: username, Kind: wharf.KindUser, Email: email, PasswordHash: hash,
		Enabled: true, Verified: !s.policy.Mailing, TagExpirationS: s.defaultTagExpiration()}
	entry := actor.Entry("user_create", u, map[string]any{"email": nullable(email), "username": username, "superuser": actor.Name()})
	if err := s.store.CreateAccount(ctx, u, nil, entry); err != nil {
		return nil, "", err
	}
	return u, password, nil
}

// UserChanges are the fields changeInstallUser may set; nil = unchanged.
type UserChanges struct {
	Password  *string
	Email     *string
	Enabled   *bool
	Superuser *bool
}

// ChangeUser is changeInstallUser. Superusers named in the configuration
// cannot be changed; a user promoted through the API can be changed only by
// a request that also demotes it, judged on the account the change is
// stored over. All changes and their log entries commit together.
func (s *Service) ChangeUser(ctx context.Context, actor *wharf.Caller, username string, ch UserChanges) (*wharf.Account, error) {
	target, err := s.userByName(ctx, username)
	if err != nil {
		return nil, err
	}
	// Judged before the password and e-mail, in Quay's order of errors,
	// and again on every read the change is decided on.
	if err := s.changeable(target, ch); err != nil {
		return nil, err
	}
	var hash string
	if ch.Password != nil {
		if err := ValidatePassword(*ch.Password); err != nil {
			return nil, err
		}
		if hash, err = HashPassword(*ch.Password); err != nil {
			return nil, err
		}
	}
	if ch.Email != nil {
		if err := ValidateEmail(*ch.Email); err != nil {
			return nil, err
		}
	}
	updated, err := s.updateAccount(ctx, username, func(before *wharf.Account) (*wharf.Account, []wharf.LogEntry, error) {
		if before.Kind != wharf.KindUser {
			return nil, nil, wharf.Errorf(wharf.NotFound, "Not Found")
		}
		if err := s.changeable(before, ch); err != nil {
			return nil, nil, err
		}
		changed := *before
		a := &changed
		meta := func(extra map[string]any) map[string]any {
			m := map[string]any{"username": a.Name, "superuser": actor.Name()}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		var entries []wharf.LogEntry
		if ch.Password != nil {
			a.PasswordHash = hash
			entries = append(entries, actor.Entry("user_change_password", a, meta(nil)))
		}
		if ch.Email != nil && *ch.Email != a.Email {
			entries = append(entries, actor.Entry("user_change_email", a, map[string]any{
				"old_email": nullable(a.Email), "email": *ch.Email, "superuser": actor.Name()}))
			a.Email, a.Verified = *ch.Email, true
		}
		if ch.Enabled != nil && *ch.Enabled != a.Enabled {
			a.Enabled = *ch.Enabled
			kind := "user_disable"
			if a.Enabled {
				kind = "user_enable"
			}
			entries = append(entries, actor.Entry(kind, a, meta(nil)))
		}
		if ch.Superuser != nil && *ch.Superuser != a.Superuser {
			a.Superuser = *ch.Superuser
			entries = append(entries, actor.Entry("user_change_superuser", a, meta(map[string]any{"superuser_status": a.Superuser})))
		}
		return a, entries, nil
	})
	if errors.Is(err, wharf.ErrEmailTaken) {
		// Quay words this one differently from the createInstallUser case.
		return nil, wharf.Errorf(wharf.Invalid, "E-mail address already used")
	}
	return updated, err
}

// changeable applies changeInstallUser's rule about superusers to user a:
// one named in the configuration cannot be changed, one promoted through
// the API only by a request that also demotes it.
func (s *Service) changeable(a *wharf.Account, ch UserChanges) error {
	demoting := ch.Superuser != nil && !*ch.Superuser
	if s.policy.IsConfiguredSuperuser(a) || (s.policy.IsSuperuser(a) && !demoting) {
		return wharf.Errorf(wharf.Invalid, "Cannot update a superuser")
	}
	return nil
}

// Initialized reports whether the instance has any account, which closes
// the first-user bootstrap.
func (s *Service) Initialized(ctx context.Context) (bool, error) {
	n, err := s.store.CountAccounts(ctx)
	return n > 0, err
}

// DeleteUser is deleteInstallUser: the user and everything it owns go.
// Superusers cannot be deleted.
func (s *Service) DeleteUser(ctx context.Context, actor *wharf.Caller, username string) error {
	target, err := s.userByName(ctx, username)
	if err != nil {
		return err
	}
	if s.policy.IsSuperuser(target) {
		return wharf.Errorf(wharf.Invalid, "Cannot delete a superuser")
	}
	return s.store.DeleteAccount(ctx, target.ID, actor.Entry("user_delete", target, map[string]any{"username": target.Name}))
}

// nullable turns "" into a JSON null in log metadata.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
