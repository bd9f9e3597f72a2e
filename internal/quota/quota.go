// Package quota is the domain of namespace storage quotas: Quay's limit
// strings and their human rendering, the rules for quotas and their
// Warning/Reject thresholds, and the operations with their audit entries.
// Usage accounting and enforcement at push live with the data (internal/db)
// and the registry.
package quota

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

var limitPattern = regexp.MustCompile(`^(\d+)\s?(B|KiB|MiB|GiB|TiB|PiB|EiB|ZiB|YiB|Ki|Mi|Gi|Ti|Pi|Ei|Zi|Yi|KB|MB|GB|TB|PB|EB|ZB|YB|K|M|G|T|P|E|Z|Y)?$`)

// unitFactors gives each accepted unit's multiplier: units with an "i" are
// binary, the others decimal, as Quay converts them. B, ZiB and YiB match
// Quay's pattern but not its conversion table.
var unitFactors = map[string]*big.Int{}

func init() {
	pow := func(base, exp int64) *big.Int { return new(big.Int).Exp(big.NewInt(base), big.NewInt(exp), nil) }
	for i, p := range []string{"K", "M", "G", "T", "P", "E", "Z", "Y"} {
		unitFactors[p] = pow(1000, int64(i+1))
		unitFactors[p+"B"] = pow(1000, int64(i+1))
		if p != "Z" && p != "Y" {
			unitFactors[p+"i"] = pow(1024, int64(i+1))
			unitFactors[p+"iB"] = pow(1024, int64(i+1))
		}
	}
	unitFactors["Zi"], unitFactors["Yi"] = pow(1024, 7), pow(1024, 8)
}

// maxLimitLen bounds a limit string before its digits reach math/big,
// which needs seconds and gigabytes for a megabyte of them; int64 bytes
// need 19 digits.
const maxLimitLen = 64

// ParseLimit converts Quay's human limit strings ("10 GiB", "500MB", "1024")
// to bytes.
func ParseLimit(s string) (int64, error) {
	if len(s) > maxLimitLen {
		return 0, wharf.Errorf(wharf.Invalid, "Invalid limit format: longer than %d characters", maxLimitLen)
	}
	m := limitPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, wharf.Errorf(wharf.Invalid, "Invalid limit format, use a number followed by a unit (e.g. 1GiB)")
	}
	n, ok := new(big.Int).SetString(m[1], 10)
	if !ok {
		return 0, wharf.Errorf(wharf.Invalid, "Invalid limit format")
	}
	if m[2] != "" {
		f, ok := unitFactors[m[2]]
		if !ok || m[2] == "ZiB" || m[2] == "YiB" {
			return 0, wharf.Errorf(wharf.Invalid, "Invalid limit format")
		}
		n.Mul(n, f)
	}
	if !n.IsInt64() {
		return 0, wharf.Errorf(wharf.Invalid, "Unsupported quota size limit.")
	}
	return n.Int64(), nil
}

// Human renders bytes as Quay does: binary prefixes, one decimal, the unit
// name ("500.0 Byte", "4.9 KiB", "10.0 GiB").
func Human(bytes int64) string {
	units := []string{"Byte", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(bytes)
	i := 0
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

// ValidateLimitBytes checks a quota size.
func ValidateLimitBytes(n int64) error {
	if n <= 0 {
		return wharf.Errorf(wharf.Invalid, "Invalid quota size limit value: '%d'", n)
	}
	return nil
}

// NormalizeKind returns "Warning" or "Reject" for a case-insensitive kind.
func NormalizeKind(kind string) (string, error) {
	switch strings.ToLower(kind) {
	case "warning":
		return "Warning", nil
	case "reject":
		return "Reject", nil
	}
	return "", wharf.Errorf(wharf.Invalid, "Quota type must be one of [Warning, Reject]")
}

// ValidatePercent checks a threshold percentage.
func ValidatePercent(p int64) error {
	if p < 1 || p > 100 {
		return wharf.Errorf(wharf.Invalid, "Quota limit threshold must be between 1 and 100")
	}
	return nil
}

// Store is the storage quotas need.
type Store interface {
	// NamespaceQuota returns NotFound when the namespace has no quota.
	NamespaceQuota(ctx context.Context, nsID int64) (*wharf.Quota, error)
	// CreateQuota returns Invalid(exists) when the namespace has a quota.
	CreateQuota(ctx context.Context, q *wharf.Quota, exists string, entries ...wharf.LogEntry) error
	// ChangeQuota writes only over the quota as it was read (before):
	// Conflict (wharf.ErrChanged) when it changed since, NotFound when it
	// is gone. DeleteQuota and the limit methods return NotFound for ids
	// not of the namespace (or quota).
	ChangeQuota(ctx context.Context, before *wharf.Quota, limitBytes int64, entries ...wharf.LogEntry) (*wharf.Quota, error)
	DeleteQuota(ctx context.Context, nsID, id int64, entries ...wharf.LogEntry) error
	CreateQuotaLimit(ctx context.Context, quotaID int64, l *wharf.QuotaLimit, entries ...wharf.LogEntry) error
	ChangeQuotaLimit(ctx context.Context, quotaID int64, l wharf.QuotaLimit, entries ...wharf.LogEntry) error
	DeleteQuotaLimit(ctx context.Context, quotaID, limitID int64, entries ...wharf.LogEntry) error
}

// Service manages quotas, writing Quay's org_*_quota audit entries.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// Create gives ns a quota of limitBytes; exists is the error text when it
// has one (the superuser and organization endpoints word it differently).
func (s *Service) Create(ctx context.Context, actor *wharf.Caller, ns *wharf.Account, limitBytes int64, exists string) (*wharf.Quota, error) {
	if err := ValidateLimitBytes(limitBytes); err != nil {
		return nil, err
	}
	q := &wharf.Quota{NamespaceID: ns.ID, LimitBytes: limitBytes}
	entry := actor.Entry("org_create_quota", ns, map[string]any{"namespace": ns.Name, "limit_bytes": limitBytes, "limit": Human(limitBytes)})
	if err := s.store.CreateQuota(ctx, q, exists, entry); err != nil {
		return nil, err
	}
	return q, nil
}

// Change sets quota id of ns to limitBytes. The entry records the limit it
// replaced, so the change is stored only over the quota as it was read,
// read again when another change came first.
func (s *Service) Change(ctx context.Context, actor *wharf.Caller, ns *wharf.Account, id, limitBytes int64) (*wharf.Quota, error) {
	if err := ValidateLimitBytes(limitBytes); err != nil {
		return nil, err
	}
	var after *wharf.Quota
	err := wharf.RetryChanged(func() error {
		before, err := s.Quota(ctx, ns, id)
		if err != nil {
			return err
		}
		after, err = s.store.ChangeQuota(ctx, before, limitBytes, actor.Entry("org_change_quota", ns, map[string]any{
			"namespace": ns.Name, "quota_id": id, "limit_bytes": limitBytes, "limit": Human(limitBytes),
			"previous_limit_bytes": before.LimitBytes, "previous_limit": Human(before.LimitBytes)}))
		return err
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

// Delete removes quota id of ns with its limits. The entry records what
// was removed, as Quay's does.
func (s *Service) Delete(ctx context.Context, actor *wharf.Caller, ns *wharf.Account, id int64) error {
	q, err := s.Quota(ctx, ns, id)
	if err != nil {
		return err
	}
	return s.store.DeleteQuota(ctx, ns.ID, id, actor.Entry("org_delete_quota", ns, map[string]any{"namespace": ns.Name, "quota_id": id,
		"limit_bytes": q.LimitBytes, "limit": Human(q.LimitBytes)}))
}

// Quota returns ns's quota if its id is id; NotFound otherwise.
func (s *Service) Quota(ctx context.Context, ns *wharf.Account, id int64) (*wharf.Quota, error) {
	q, err := s.store.NamespaceQuota(ctx, ns.ID)
	if err != nil {
		return nil, err
	}
	if q.ID != id {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return q, nil
}

// AddLimit adds a Warning or Reject threshold to quota id of ns.
func (s *Service) AddLimit(ctx context.Context, actor *wharf.Caller, ns *wharf.Account, id int64, kind string, percent int64) (*wharf.QuotaLimit, error) {
	q, err := s.Quota(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	if kind, err = NormalizeKind(kind); err != nil {
		return nil, err
	}
	if err := ValidatePercent(percent); err != nil {
		return nil, err
	}
	l := &wharf.QuotaLimit{Kind: kind, Percent: percent}
	entry := actor.Entry("org_create_quota_limit", ns, map[string]any{"namespace": ns.Name, "type": kind, "threshold_percent": percent})
	if err := s.store.CreateQuotaLimit(ctx, q.ID, l, entry); err != nil {
		return nil, err
	}
	return l, nil
}

// ChangeLimit changes the kind and/or percentage of limit limitID.
func (s *Service) ChangeLimit(ctx context.Context, actor *wharf.Caller, ns *wharf.Account, id, limitID int64, kind *string, percent *int64) (*wharf.Quota, error) {
	q, err := s.Quota(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	var l *wharf.QuotaLimit
	for i := range q.Limits {
		if q.Limits[i].ID == limitID {
			l = &q.Limits[i]
		}
	}
	if l == nil {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	before := *l
	if kind != nil {
		if l.Kind, err = NormalizeKind(*kind); err != nil {
			return nil, err
		}
	}
	if percent != nil {
		if err := ValidatePercent(*percent); err != nil {
			return nil, err
		}
		l.Percent = *percent
	}
	entry := actor.Entry("org_change_quota_limit", ns, map[string]any{"namespace": ns.Name, "type": l.Kind,
		"threshold_percent": l.Percent, "previous_type": before.Kind, "previous_threshold_percent": before.Percent})
	if err := s.store.ChangeQuotaLimit(ctx, q.ID, *l, entry); err != nil {
		return nil, err
	}
	return q, nil
}

// DeleteLimit removes limit limitID of quota id.
func (s *Service) DeleteLimit(ctx context.Context, actor *wharf.Caller, ns *wharf.Account, id, limitID int64) error {
	q, err := s.Quota(ctx, ns, id)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(q.Limits, func(l wharf.QuotaLimit) bool { return l.ID == limitID })
	if i < 0 {
		return wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return s.store.DeleteQuotaLimit(ctx, q.ID, limitID, actor.Entry("org_delete_quota_limit", ns,
		map[string]any{"namespace": ns.Name, "limit_id": limitID, "type": q.Limits[i].Kind, "threshold_percent": q.Limits[i].Percent}))
}

// ExistsMessage is the superuser endpoints' text for a second quota.
func ExistsMessage(ns string) string { return fmt.Sprintf("Quota for '%s' already exists", ns) }

// OrgExistsMessage is the organization endpoint's text for a second quota.
func OrgExistsMessage(ns string) string {
	return fmt.Sprintf("Organization quota for '%s' already exists", ns)
}
