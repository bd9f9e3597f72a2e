package api

import (
	"context"
	"time"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// rfc2822 is Quay's format_date: RFC 2822 with a numeric -0000 zone.
const rfc2822 = "Mon, 02 Jan 2006 15:04:05 -0000"

func formatDate(t time.Time) string { return t.UTC().Format(rfc2822) }

// nullable returns nil (JSON null) for "".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func avatar(a *wharf.Account) identity.Avatar { return identity.AvatarFor(a.Name, a.Email, a.Kind) }

// quotaFields adds Quay's quota keys to the view of namespace ns when quota
// management is on: its quota in the short view (§1.9.4b) and the quota
// report with the bytes it uses now (§1.9.2).
func (s *Server) quotaFields(ctx context.Context, v map[string]any, ns *wharf.Account) error {
	if !s.cfg.FeatureQuotaManagement || !s.cfg.FeatureEditQuota {
		return nil
	}
	quotas := []any{}
	var configured any
	q, err := s.Store.NamespaceQuota(ctx, ns.ID)
	switch {
	case err == nil:
		quotas = append(quotas, map[string]any{"id": q.ID, "limit_bytes": q.LimitBytes, "limits": limitViews(q.Limits)})
		configured = q.LimitBytes
	case !wharf.IsCode(err, wharf.NotFound):
		return err
	case s.cfg.DefaultSystemRejectQuotaBytes != 0:
		configured = s.cfg.DefaultSystemRejectQuotaBytes
	}
	used, err := s.Store.NamespaceUsage(ctx, ns.ID)
	if err != nil {
		return err
	}
	// Usage is kept current on every push and delete: there is no backfill
	// to wait for.
	v["quotas"] = quotas
	v["quota_report"] = map[string]any{"quota_bytes": used, "configured_quota": configured,
		"running_backfill": "complete", "backfill_status": "complete"}
	return nil
}

// superUserView is Quay's user view in the superuser panel (spec §1.9.2).
func (s *Server) superUserView(ctx context.Context, u *wharf.Account) (map[string]any, error) {
	v := map[string]any{
		"kind":                       "user",
		"name":                       u.Name,
		"username":                   u.Name,
		"email":                      nullable(u.Email),
		"verified":                   u.Verified,
		"avatar":                     avatar(u),
		"super_user":                 s.policy.IsSuperuser(u),
		"global_readonly_super_user": s.policy.IsReadonlySuperuser(u),
		"enabled":                    u.Enabled,
	}
	return v, s.quotaFields(ctx, v, u)
}

// superOrgView is Quay's organization view in the superuser panel (§1.9.3).
func (s *Server) superOrgView(ctx context.Context, o *wharf.Account) (map[string]any, error) {
	v := map[string]any{"name": o.Name, "email": nullable(o.Email), "avatar": avatar(o)}
	return v, s.quotaFields(ctx, v, o)
}

func applicationView(a *wharf.Application) map[string]any {
	return map[string]any{
		"name":            a.Name,
		"description":     a.Description,
		"application_uri": a.ApplicationURI,
		"client_id":       a.ClientID,
		"client_secret":   a.ClientSecret,
		"redirect_uri":    a.RedirectURI,
		"avatar_email":    nullable(a.AvatarEmail),
	}
}

func partyAvatar(p wharf.LogParty) identity.Avatar {
	kind := p.Kind
	if kind == "" {
		kind = wharf.KindUser
	}
	return identity.AvatarFor(p.Name, p.Email, kind)
}

// logView is Quay's log entry view with the namespace block (§1.9.7).
func logView(e wharf.LogEntry) map[string]any {
	v := map[string]any{
		"kind":     e.Kind,
		"metadata": e.Metadata,
		"ip":       nullable(e.IP),
		"datetime": formatDate(e.Time),
	}
	if e.Metadata == nil {
		v["metadata"] = map[string]any{}
	}
	if e.Performer.Name != "" {
		v["performer"] = map[string]any{"kind": "user", "name": e.Performer.Name,
			"is_robot": e.Performer.Kind == wharf.KindRobot, "avatar": partyAvatar(e.Performer)}
	}
	if e.Account.Name != "" {
		kind := "user"
		if e.Account.Kind == wharf.KindOrg {
			kind = "org"
		}
		v["namespace"] = map[string]any{"kind": kind, "name": e.Account.Name, "avatar": partyAvatar(e.Account)}
	}
	return v
}
