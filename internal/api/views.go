package api

import (
	"context"
	"encoding/json"
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

// accountViews renders users and organizations as Quay shows them to
// superusers (and to the user themself), with the namespace's quota and
// usage when quota management is on. Users, organizations and service
// keys (whose approver is a user view) share it.
type accountViews struct {
	store  quotaSummaryStore
	policy identity.Policy
	// showQuotas is FEATURE_QUOTA_MANAGEMENT and FEATURE_EDIT_QUOTA.
	showQuotas bool
	// defaultRejectBytes is DEFAULT_SYSTEM_REJECT_QUOTA_BYTES (0 = none).
	defaultRejectBytes int64
}

// quotaSummaryStore reads the quota and usage of many namespaces at once.
type quotaSummaryStore interface {
	QuotaSummaries(ctx context.Context, ids []int64) (map[int64]*wharf.Quota, map[int64]int64, error)
}

// quotaSummary is what a namespace view shows of its quota and usage.
type quotaSummary struct {
	quota *wharf.Quota // nil: no quota
	used  int64
}

// quotaSummaries loads the quota and usage of every namespace in accounts
// in a few queries, so that a list page does not query per row.
func (av *accountViews) quotaSummaries(ctx context.Context, accounts []*wharf.Account) (map[int64]quotaSummary, error) {
	if !av.showQuotas {
		return nil, nil
	}
	ids := make([]int64, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	quotas, usage, err := av.store.QuotaSummaries(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]quotaSummary, len(ids))
	for _, id := range ids {
		out[id] = quotaSummary{quota: quotas[id], used: usage[id]}
	}
	return out, nil
}

// quotaShort is a quota in Quay's short view (§1.9.4b). Fields are in
// the order Quay's maps serialise (sorted), as everywhere below.
type quotaShort struct {
	ID         int64            `json:"id"`
	LimitBytes int64            `json:"limit_bytes"`
	Limits     []quotaLimitView `json:"limits"`
}

// quotaReport is a namespace's usage against its quota (§1.9.2).
type quotaReport struct {
	BackfillStatus  string `json:"backfill_status"`
	ConfiguredQuota *int64 `json:"configured_quota"`
	QuotaBytes      int64  `json:"quota_bytes"`
	RunningBackfill string `json:"running_backfill"`
}

// quotaParts are a namespace view's quota keys when quota management is on
// (sums is nil otherwise: ok is false).
func (av *accountViews) quotaParts(sums map[int64]quotaSummary, ns *wharf.Account) (quotas []quotaShort, report quotaReport, ok bool) {
	if sums == nil {
		return nil, quotaReport{}, false
	}
	sum := sums[ns.ID]
	quotas = []quotaShort{}
	var configured *int64
	switch {
	case sum.quota != nil:
		quotas = append(quotas, quotaShort{ID: sum.quota.ID, LimitBytes: sum.quota.LimitBytes, Limits: limitViews(sum.quota.Limits)})
		configured = &sum.quota.LimitBytes
	case av.defaultRejectBytes != 0:
		configured = &av.defaultRejectBytes
	}
	// Usage is kept current on every push and delete: there is no backfill
	// to wait for.
	return quotas, quotaReport{BackfillStatus: "complete", ConfiguredQuota: configured, QuotaBytes: sum.used, RunningBackfill: "complete"}, true
}

// addQuotaFields adds Quay's quota keys to a namespace view when quota
// management is on (sums is nil otherwise): its quota in the short view
// (§1.9.4b) and the quota report with the bytes it uses now (§1.9.2).
func (av *accountViews) addQuotaFields(v map[string]any, sums map[int64]quotaSummary, ns *wharf.Account) {
	if quotas, report, ok := av.quotaParts(sums, ns); ok {
		v["quotas"], v["quota_report"] = quotas, report
	}
}

// quotaFields is addQuotaFields for one namespace.
func (av *accountViews) quotaFields(ctx context.Context, v map[string]any, ns *wharf.Account) error {
	sums, err := av.quotaSummaries(ctx, []*wharf.Account{ns})
	if err != nil {
		return err
	}
	av.addQuotaFields(v, sums, ns)
	return nil
}

// superUserView is Quay's user view in the superuser panel (§1.9.2), typed
// so that a page of a hundred encodes without reflecting over maps; its
// fields are in the (sorted) order Quay's map serialises.
type superUserView struct {
	Avatar                  identity.Avatar `json:"avatar"`
	Email                   *string         `json:"email"`
	Enabled                 bool            `json:"enabled"`
	EncryptedPassword       string          `json:"encrypted_password,omitempty"` // after a password change only
	GlobalReadonlySuperUser bool            `json:"global_readonly_super_user"`
	Kind                    string          `json:"kind"`
	Name                    string          `json:"name"`
	QuotaReport             *quotaReport    `json:"quota_report,omitempty"`
	Quotas                  *[]quotaShort   `json:"quotas,omitempty"`
	SuperUser               bool            `json:"super_user"`
	Username                string          `json:"username"`
	Verified                bool            `json:"verified"`

	// quotas and report hold what Quotas and QuotaReport point to, in the
	// view's own allocation.
	quotas []quotaShort
	report quotaReport
}

// superUserView is the superuser panel's view of user u.
func (av *accountViews) superUserView(ctx context.Context, u *wharf.Account) (*superUserView, error) {
	sums, err := av.quotaSummaries(ctx, []*wharf.Account{u})
	if err != nil {
		return nil, err
	}
	return av.superUserViewWith(sums, u), nil
}

// superUserViewWith is superUserView with the quota summaries loaded.
func (av *accountViews) superUserViewWith(sums map[int64]quotaSummary, u *wharf.Account) *superUserView {
	v := &superUserView{Avatar: avatar(u), Enabled: u.Enabled, GlobalReadonlySuperUser: av.policy.IsReadonlySuperuser(u),
		Kind: "user", Name: u.Name, SuperUser: av.policy.IsSuperuser(u), Username: u.Name, Verified: u.Verified}
	if u.Email != "" {
		v.Email = &u.Email
	}
	var ok bool
	if v.quotas, v.report, ok = av.quotaParts(sums, u); ok {
		v.Quotas, v.QuotaReport = &v.quotas, &v.report
	}
	return v
}

// superOrgView is Quay's organization view in the superuser panel (§1.9.3).
func (av *accountViews) superOrgView(ctx context.Context, o *wharf.Account) (map[string]any, error) {
	sums, err := av.quotaSummaries(ctx, []*wharf.Account{o})
	if err != nil {
		return nil, err
	}
	return av.superOrgViewWith(sums, o), nil
}

// superOrgViewWith is superOrgView with the quota summaries loaded.
func (av *accountViews) superOrgViewWith(sums map[int64]quotaSummary, o *wharf.Account) map[string]any {
	v := map[string]any{"name": o.Name, "email": nullable(o.Email), "avatar": avatar(o)}
	av.addQuotaFields(v, sums, o)
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

// logView is Quay's log entry view with the namespace block (§1.9.7),
// typed, in the (sorted) key order of Quay's maps; the stored metadata is
// passed through as it is.
type logView struct {
	Datetime  string          `json:"datetime"`
	IP        *string         `json:"ip"`
	Kind      string          `json:"kind"`
	Metadata  json.RawMessage `json:"metadata"`
	Namespace *logNamespace   `json:"namespace,omitempty"`
	Performer *logPerformer   `json:"performer,omitempty"`
}

type logNamespace struct {
	Avatar identity.Avatar `json:"avatar"`
	Kind   string          `json:"kind"`
	Name   string          `json:"name"`
}

type logPerformer struct {
	Avatar  identity.Avatar `json:"avatar"`
	IsRobot bool            `json:"is_robot"`
	Kind    string          `json:"kind"`
	Name    string          `json:"name"`
}

// ExportedLogView renders e, read with its raw metadata, as an exported
// log file holds it: the namespace and repository lists' view, without
// the namespace block (Quay's log.to_dict(avatar, False)).
func ExportedLogView(e wharf.LogEntry) any {
	v := viewLog(e)
	v.Namespace = nil
	return v
}

// viewLog renders e, read with its raw metadata (LogQuery.Raw).
func viewLog(e wharf.LogEntry) logView {
	v := logView{Datetime: formatDate(e.Time), Kind: e.Kind, Metadata: e.RawMetadata}
	if e.IP != "" {
		v.IP = &e.IP
	}
	if len(v.Metadata) == 0 {
		v.Metadata = json.RawMessage("{}")
	}
	if e.Performer.Name != "" {
		v.Performer = &logPerformer{Avatar: partyAvatar(e.Performer), IsRobot: e.Performer.Kind == wharf.KindRobot,
			Kind: "user", Name: e.Performer.Name}
	}
	if e.Account.Name != "" {
		kind := "user"
		if e.Account.Kind == wharf.KindOrg {
			kind = "org"
		}
		v.Namespace = &logNamespace{Avatar: partyAvatar(e.Account), Kind: kind, Name: e.Account.Name}
	}
	return v
}
