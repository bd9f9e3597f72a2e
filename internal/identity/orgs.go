package identity

import (
	"context"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// CreateOrg creates an organization owned by the actor's account.
func (s *Service) CreateOrg(ctx context.Context, actor *wharf.Caller, name, email string) (*wharf.Account, error) {
	if actor.Account == nil || actor.Account.Kind != wharf.KindUser {
		return nil, wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if email != "" {
		if err := ValidateEmail(email); err != nil {
			return nil, err
		}
	}
	org := &wharf.Account{Name: name, Kind: wharf.KindOrg, Email: email, Enabled: true, Verified: true,
		TagExpirationS: s.defaultTagExpiration()}
	entry := actor.Entry("org_create", org, map[string]any{"email": nullable(email), "namespace": name})
	if err := s.store.CreateAccount(ctx, org, actor.Account, entry); err != nil {
		return nil, err
	}
	return org, nil
}

// OrgChanges are the organization fields an administrator may set; nil = unchanged.
type OrgChanges struct {
	Name                *string
	Email               *string
	InvoiceEmail        *bool
	InvoiceEmailAddress *string
	TagExpirationS      *int64
}

// UpdateOrg applies ch to the organization name, validating every field
// before anything is written, and logs one entry per changed aspect with
// Quay's kinds. A rename is logged as org_change_name even when the name is
// unchanged, as Quay does.
func (s *Service) UpdateOrg(ctx context.Context, actor *wharf.Caller, name string, ch OrgChanges) (*wharf.Account, error) {
	if _, err := s.Org(ctx, name); err != nil {
		return nil, err
	}
	if ch.Name != nil {
		if err := ValidateName(*ch.Name); err != nil {
			return nil, wharf.Errorf(wharf.Invalid, "Invalid username %s", wharf.ErrorMessage(err)[len("Invalid namespace "):])
		}
	}
	if ch.Email != nil && *ch.Email != "" {
		if err := ValidateEmail(*ch.Email); err != nil {
			return nil, err
		}
	}
	if ch.InvoiceEmailAddress != nil && *ch.InvoiceEmailAddress != "" {
		if err := ValidateEmail(*ch.InvoiceEmailAddress); err != nil {
			return nil, err
		}
	}
	if ch.TagExpirationS != nil && !s.policy.ValidTagExpiration(*ch.TagExpirationS) {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid tag expiration: %d is not one of the configured TAG_EXPIRATION_OPTIONS", *ch.TagExpirationS)
	}
	return s.updateAccount(ctx, name, func(before *wharf.Account) (*wharf.Account, []wharf.LogEntry, error) {
		if before.Kind != wharf.KindOrg {
			return nil, nil, wharf.Errorf(wharf.NotFound, "Not Found")
		}
		changed := *before
		org := &changed
		var entries []wharf.LogEntry
		if ch.Email != nil && *ch.Email != org.Email {
			org.Email = *ch.Email
			entries = append(entries, actor.Entry("org_change_email", org, map[string]any{"email": nullable(org.Email), "namespace": org.Name}))
		}
		invoiceChanged := false
		if ch.InvoiceEmail != nil && *ch.InvoiceEmail != org.InvoiceEmail {
			org.InvoiceEmail, invoiceChanged = *ch.InvoiceEmail, true
		}
		if ch.InvoiceEmailAddress != nil && *ch.InvoiceEmailAddress != org.InvoiceEmailAddress {
			org.InvoiceEmailAddress, invoiceChanged = *ch.InvoiceEmailAddress, true
		}
		if invoiceChanged {
			entries = append(entries, actor.Entry("org_change_invoicing", org, map[string]any{
				"invoice_email": org.InvoiceEmail, "invoice_email_address": nullable(org.InvoiceEmailAddress), "namespace": org.Name}))
		}
		if ch.TagExpirationS != nil && *ch.TagExpirationS != org.TagExpirationS {
			org.TagExpirationS = *ch.TagExpirationS
			entries = append(entries, actor.Entry("org_change_tag_expiration", org, map[string]any{"tag_expiration": org.TagExpirationS, "namespace": org.Name}))
		}
		if ch.Name != nil {
			entries = append(entries, actor.Entry("org_change_name", org, map[string]any{"old_name": org.Name, "new_name": *ch.Name, "superuser": actor.Name()}))
			org.Name = *ch.Name
		}
		return org, entries, nil
	})
}

// DeleteOrg removes the organization and everything it owns.
func (s *Service) DeleteOrg(ctx context.Context, actor *wharf.Caller, name string) error {
	org, err := s.Org(ctx, name)
	if err != nil {
		return err
	}
	return s.store.DeleteAccount(ctx, org.ID, actor.Entry("org_delete", org, map[string]any{"namespace": org.Name}))
}

// TakeOwnership makes the actor an owner of namespace. An organization gains
// the actor as an owner; a user account is converted into an organization
// owned by the actor (its password and logins end), as in Quay.
func (s *Service) TakeOwnership(ctx context.Context, actor *wharf.Caller, namespace string) error {
	target, err := s.store.AccountByName(ctx, namespace)
	if err == nil && s.policy.IsSuperuser(target) {
		return wharf.Errorf(wharf.Invalid, "Cannot take ownership of a superuser")
	}
	if err != nil {
		return err
	}
	if target.Kind == wharf.KindRobot {
		return wharf.Errorf(wharf.NotFound, "Not Found")
	}
	wasUser := target.Kind == wharf.KindUser
	entry := actor.Entry("take_ownership", actor.Account, map[string]any{
		"entity_id": target.ID, "namespace": target.Name, "was_user": wasUser, "superuser": actor.Name()})
	if wasUser {
		return s.store.ConvertToOrg(ctx, target.ID, actor.Account.ID, entry)
	}
	return s.store.AddOrgAdmin(ctx, target.ID, actor.Account.ID, entry)
}
