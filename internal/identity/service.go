package identity

import (
	"context"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is the storage the identity service needs. Every method that takes
// log entries writes them in the same transaction as the change.
type Store interface {
	// AccountByName returns NotFound when no account has that name.
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
	// CreateAccount returns Invalid when the name or e-mail is taken.
	CreateAccount(ctx context.Context, a *wharf.Account, owner *wharf.Account, entries ...wharf.LogEntry) error
	CountAccounts(ctx context.Context) (int64, error)
	// CreateFirstAccount is CreateAccount that returns Invalid when any account exists.
	CreateFirstAccount(ctx context.Context, a *wharf.Account, entries ...wharf.LogEntry) error
	// UpdateAccount stores after only over before as the service read it:
	// Conflict (wharf.ErrChanged) when the account changed since; NotFound;
	// Invalid when after's name or e-mail is taken.
	UpdateAccount(ctx context.Context, before, after *wharf.Account, entries ...wharf.LogEntry) error
	// DeleteAccount returns NotFound.
	DeleteAccount(ctx context.Context, id int64, entries ...wharf.LogEntry) error
	AddOrgAdmin(ctx context.Context, orgID, memberID int64, entries ...wharf.LogEntry) error
	// ConvertToOrg returns NotFound when userID is not a user.
	ConvertToOrg(ctx context.Context, userID, adminID int64, entries ...wharf.LogEntry) error
	// OrgRole returns "" for non-members.
	OrgRole(ctx context.Context, orgID, memberID int64) (string, error)
}

// Service performs account operations under Quay's rules. Callers check
// permissions first; the service enforces the rules about the data.
type Service struct {
	store  Store
	policy Policy
}

// NewService returns a Service over store with policy.
func NewService(store Store, policy Policy) *Service {
	return &Service{store: store, policy: policy}
}

// Policy returns the service's policy.
func (s *Service) Policy() Policy { return s.policy }

// userByName returns the user (not organization or robot) named name.
func (s *Service) userByName(ctx context.Context, name string) (*wharf.Account, error) {
	a, err := s.store.AccountByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if a.Kind != wharf.KindUser {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return a, nil
}

// User returns the user named name. NotFound for organizations and robots.
func (s *Service) User(ctx context.Context, name string) (*wharf.Account, error) {
	return s.userByName(ctx, name)
}

// Org returns the organization named name. NotFound for users and robots.
func (s *Service) Org(ctx context.Context, name string) (*wharf.Account, error) {
	a, err := s.store.AccountByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if a.Kind != wharf.KindOrg {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return a, nil
}

// Namespace returns the user or organization named name. NotFound for
// robots and unknown names.
func (s *Service) Namespace(ctx context.Context, name string) (*wharf.Account, error) {
	a, err := s.store.AccountByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if a.Kind == wharf.KindRobot {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return a, nil
}

// IsOrgAdmin reports whether a administers org: a member of a team with
// the admin role. Superusers are no exception (Quay grants them that only
// with FEATURE_SUPERUSERS_FULL_ACCESS); they act on organizations through
// the superuser API or take ownership.
func (s *Service) IsOrgAdmin(ctx context.Context, org, a *wharf.Account) (bool, error) {
	role, err := s.store.OrgRole(ctx, org.ID, a.ID)
	return role == "admin", err
}

// updateAccount reads the account named name and stores the change decide
// makes to it, with the entries decide names. The store writes it only
// over the account as read, so decide's checks hold against what the
// change replaces; when another change came first, the account is read and
// decided again.
func (s *Service) updateAccount(ctx context.Context, name string,
	decide func(before *wharf.Account) (*wharf.Account, []wharf.LogEntry, error)) (*wharf.Account, error) {
	var after *wharf.Account
	err := wharf.RetryChanged(func() error {
		before, err := s.store.AccountByName(ctx, name)
		if err != nil {
			return err
		}
		next, entries, err := decide(before)
		if err != nil {
			return err
		}
		after = next
		return s.store.UpdateAccount(ctx, before, next, entries...)
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

// OrgRole returns a's role in org ("" when not a member).
func (s *Service) OrgRole(ctx context.Context, org, a *wharf.Account) (string, error) {
	return s.store.OrgRole(ctx, org.ID, a.ID)
}
