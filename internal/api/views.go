package api

import (
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

// quotaFields adds Quay's quota keys to a namespace view when quota
// management is on. Wharf has no stored bytes or quotas before the registry
// and quota features land, so the namespace's true state is "none, 0 bytes".
func (s *Server) quotaFields(v map[string]any) {
	if !s.cfg.FeatureQuotaManagement || !s.cfg.FeatureEditQuota {
		return
	}
	var configured any
	if s.cfg.DefaultSystemRejectQuotaBytes != 0 {
		configured = s.cfg.DefaultSystemRejectQuotaBytes
	}
	v["quotas"] = []any{}
	v["quota_report"] = map[string]any{"quota_bytes": 0, "configured_quota": configured,
		"running_backfill": "complete", "backfill_status": "complete"}
}

// superUserView is Quay's user view in the superuser panel (spec §1.9.2).
func (s *Server) superUserView(u *wharf.Account) map[string]any {
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
	s.quotaFields(v)
	return v
}

// superOrgView is Quay's organization view in the superuser panel (§1.9.3).
func (s *Server) superOrgView(o *wharf.Account) map[string]any {
	v := map[string]any{"name": o.Name, "email": nullable(o.Email), "avatar": avatar(o)}
	s.quotaFields(v)
	return v
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
