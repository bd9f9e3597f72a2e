package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/quota"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Namespace quotas: the superuser family (spec §2.8–2.15: one set of
// handlers for the users/ and organization/ paths, any namespace), the
// organization endpoints Red Hat's quay_quota module calls (§3.12, with the
// limits), and the user's read-only view of their own quota.
//
// Writes are for superusers with full rights (a token needs super:user):
// wharf treats them as Quay does with FEATURE_SUPERUSERS_FULL_ACCESS, for
// quotas only. An organization's administrators may read its quota but not
// change it. Every change writes Quay's org_*_quota entry (the superuser
// endpoints too: a deliberate difference, see the contract README).

// quotas serves namespace quotas and their limits.
type quotas struct {
	quotas   *quota.Service
	identity *identity.Service
	store    quotaStore
	policy   identity.Policy
	// defaultRejectBytes is DEFAULT_SYSTEM_REJECT_QUOTA_BYTES (0 = none).
	defaultRejectBytes int64
}

// quotaStore is what the quota handlers read directly.
type quotaStore interface {
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
	// NamespaceQuota returns NotFound when the namespace has no quota.
	NamespaceQuota(ctx context.Context, nsID int64) (*wharf.Quota, error)
}

// quotaView is Quay's full quota view (§1.9.4a).
func (h *quotas) quotaView(q *wharf.Quota) map[string]any {
	return map[string]any{
		"id":                    q.ID,
		"limit_bytes":           q.LimitBytes,
		"limit":                 quota.Human(q.LimitBytes),
		"default_config":        false,
		"limits":                limitViews(q.Limits),
		"default_config_exists": h.defaultRejectBytes != 0,
	}
}

// defaultQuotaView is the entry the organization list synthesises for the
// system-wide default (DEFAULT_SYSTEM_REJECT_QUOTA_BYTES) when the
// organization has no quota of its own.
func (h *quotas) defaultQuotaView() map[string]any {
	b := h.defaultRejectBytes
	return map[string]any{"id": nil, "limit_bytes": b, "limit": quota.Human(b), "default_config": true,
		"limits": []any{}, "default_config_exists": true}
}

// limitView is Quay's quota limit view (§1.9.4c): created with
// threshold_percent, shown as limit_percent.
func limitView(l wharf.QuotaLimit) quotaLimitView {
	return quotaLimitView{ID: l.ID, LimitPercent: l.Percent, Type: l.Kind}
}

// quotaLimitView is limitView's shape, keys in the order Quay's map
// serialises.
type quotaLimitView struct {
	ID           int64  `json:"id"`
	LimitPercent int64  `json:"limit_percent"`
	Type         string `json:"type"`
}

func limitViews(ls []wharf.QuotaLimit) []quotaLimitView {
	out := make([]quotaLimitView, 0, len(ls))
	for _, l := range ls {
		out = append(out, limitView(l))
	}
	return out
}

// quotaNamespace returns the user or organization named name. Robots have
// no quota of their own: NotFound, as for unknown names (Quay answers 500
// for those, a crash the contract README turns into 404).
func (h *quotas) quotaNamespace(ctx context.Context, name string) (*wharf.Account, error) {
	a, err := h.store.AccountByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if a.Kind != wharf.KindUser && a.Kind != wharf.KindOrg {
		return nil, errNotFound
	}
	return a, nil
}

// pathID parses the numeric id in path segment name; anything else names
// no quota or limit.
func pathID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, errNotFound
	}
	return n, nil
}

// namespaceQuota returns ns's quota if its id is the {quota_id} of the path.
func (h *quotas) namespaceQuota(r *http.Request, ns *wharf.Account) (*wharf.Quota, error) {
	id, err := pathID(r, "quota_id")
	if err != nil {
		return nil, err
	}
	return h.quotas.Quota(r.Context(), ns, id)
}

// quotaLimit returns the limit {limit_id} of q.
func quotaLimit(r *http.Request, q *wharf.Quota) (wharf.QuotaLimit, error) {
	id, err := pathID(r, "limit_id")
	if err != nil {
		return wharf.QuotaLimit{}, err
	}
	i := slices.IndexFunc(q.Limits, func(l wharf.QuotaLimit) bool { return l.ID == id })
	if i < 0 {
		return wharf.QuotaLimit{}, errNotFound
	}
	return q.Limits[i], nil
}

// superuserReads reports whether the caller may read any namespace's quota
// as a superuser: a superuser or global read-only superuser whose
// credential carries super:user (sessions always do).
func superuserReads(p identity.Policy, c *wharf.Caller) bool {
	return c.Account != nil && p.CanInspect(c.Account) && c.HasScope(wharf.SuperUser)
}

// canReadQuotas reports whether the caller may read ns's quota through the
// organization endpoints: its members (a user counts as the only member
// of their own namespace, as in Quay) and superusers.
func (h *quotas) canReadQuotas(ctx context.Context, c *wharf.Caller, ns *wharf.Account) (bool, error) {
	me := c.Account
	switch {
	case me == nil:
		return false, nil
	case superuserReads(h.policy, c):
		return true, nil
	case ns.Kind == wharf.KindUser:
		return me.ID == ns.ID, nil
	}
	role, err := h.identity.OrgRole(ctx, ns, me)
	return role != "", err
}

// readableNamespace loads the {orgname} of an organization quota path that
// the caller may read: any user or organization (Quay looks the quota up by
// namespace name), 403 when the caller is neither a member nor a superuser.
func (h *quotas) readableNamespace(r *http.Request, c *wharf.Caller) (*wharf.Account, error) {
	ns, err := h.quotaNamespace(r.Context(), r.PathValue("orgname"))
	if err != nil {
		return nil, err
	}
	if err := h.mayReadQuotas(r.Context(), c, ns); err != nil {
		return nil, err
	}
	return ns, nil
}

// readableOrg is readableNamespace for the endpoints Quay restricts to
// organizations (the quota list and create): a user's name is NotFound.
func (h *quotas) readableOrg(r *http.Request, c *wharf.Caller) (*wharf.Account, error) {
	org, err := h.identity.Org(r.Context(), r.PathValue("orgname"))
	if err != nil {
		return nil, err
	}
	if err := h.mayReadQuotas(r.Context(), c, org); err != nil {
		return nil, err
	}
	return org, nil
}

// mayReadQuotas is canReadQuotas as an error: Forbidden when it says no.
func (h *quotas) mayReadQuotas(ctx context.Context, c *wharf.Caller, ns *wharf.Account) error {
	ok, err := h.canReadQuotas(ctx, c, ns)
	if err == nil && !ok {
		err = wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	return err
}

// readableQuota loads the quota {quota_id} of a readable {orgname}.
func (h *quotas) readableQuota(r *http.Request, c *wharf.Caller) (*wharf.Quota, error) {
	ns, err := h.readableNamespace(r, c)
	if err != nil {
		return nil, err
	}
	return h.namespaceQuota(r, ns)
}

// limitTarget returns the namespace {orgname} and the ids {quota_id} and,
// when withLimit, {limit_id} of a quota limit write. The quota service
// checks that they belong together.
func (h *quotas) limitTarget(r *http.Request, withLimit bool) (ns *wharf.Account, quotaID, limitID int64, err error) {
	if ns, err = h.quotaNamespace(r.Context(), r.PathValue("orgname")); err != nil {
		return nil, 0, 0, err
	}
	if quotaID, err = pathID(r, "quota_id"); err != nil {
		return nil, 0, 0, err
	}
	if withLimit {
		if limitID, err = pathID(r, "limit_id"); err != nil {
			return nil, 0, 0, err
		}
	}
	return ns, quotaID, limitID, nil
}

// Request bodies. Quay validates them with JSON schemas that a struct
// cannot express (oneOf, closed objects, integers written 5.0), so they are
// read as objects of raw values.

// writeQuotaList answers the quota list of ns: [] or [its full view].
func (h *quotas) writeQuotaList(ctx context.Context, w http.ResponseWriter, ns *wharf.Account, withDefault bool) error {
	views := []any{}
	q, err := h.store.NamespaceQuota(ctx, ns.ID)
	switch {
	case err == nil:
		views = append(views, h.quotaView(q))
	case !wharf.IsCode(err, wharf.NotFound):
		return err
	case withDefault && h.defaultRejectBytes != 0:
		views = append(views, h.defaultQuotaView())
	}
	writeJSON(w, http.StatusOK, views)
	return nil
}

// createQuota gives ns the quota of the request body: 201 "Created".
func (h *quotas) createQuota(w http.ResponseWriter, r *http.Request, c *wharf.Caller, ns *wharf.Account, limit int64, exists string) error {
	if _, err := h.quotas.Create(r.Context(), c, ns, limit, exists); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, "Created")
	return nil
}

// changeQuota sets the size of ns's quota {quota_id} to limit and answers
// its full view; 0 (from {} or a zero size) changes nothing.
func (h *quotas) changeQuota(w http.ResponseWriter, r *http.Request, c *wharf.Caller, ns *wharf.Account, limit int64) error {
	q, err := h.namespaceQuota(r, ns)
	if err != nil {
		return err
	}
	if limit != 0 {
		if q, err = h.quotas.Change(r.Context(), c, ns, q.ID, limit); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, h.quotaView(q))
	return nil
}

// deleteQuota removes ns's quota {quota_id}: 204.
func (h *quotas) deleteQuota(w http.ResponseWriter, r *http.Request, c *wharf.Caller, ns *wharf.Account) error {
	id, err := pathID(r, "quota_id")
	if err != nil {
		return err
	}
	if err := h.quotas.Delete(r.Context(), c, ns, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// The superuser family: /api/v1/superuser/{users,organization}/{namespace}/quota[/{quota_id}].

// listQuotaSuperUser serves GET …/quota: [] or [the full view]; never the
// system default.
func (h *quotas) listQuotaSuperUser(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	ns, err := h.quotaNamespace(r.Context(), r.PathValue("namespace"))
	if err != nil {
		return err
	}
	return h.writeQuotaList(r.Context(), w, ns, false)
}

// createQuotaSuperUser serves POST …/quota.
func (h *quotas) createQuotaSuperUser(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	fields, err := decodeObject(r)
	if err != nil {
		return err
	}
	limit, err := quotaBytes(fields, false)
	if err != nil {
		return err
	}
	ns, err := h.quotaNamespace(r.Context(), r.PathValue("namespace"))
	if err != nil {
		return err
	}
	return h.createQuota(w, r, c, ns, limit, quota.ExistsMessage(ns.Name))
}

// The organization endpoints: /api/v1/organization/{orgname}/quota….

// listOrgQuota serves GET …/quota: the organization's quota, or the system
// default (id null, default_config true) when it has none and
// DEFAULT_SYSTEM_REJECT_QUOTA_BYTES is set.
func (h *quotas) listOrgQuota(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	org, err := h.readableOrg(r, c)
	if err != nil {
		return err
	}
	return h.writeQuotaList(r.Context(), w, org, true)
}

// createOrgQuota serves POST …/quota.
func (h *quotas) createOrgQuota(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	fields, err := decodeObject(r)
	if err != nil {
		return err
	}
	limit, err := quotaBytes(fields, false)
	if err != nil {
		return err
	}
	org, err := h.identity.Org(r.Context(), r.PathValue("orgname"))
	if err != nil {
		return err
	}
	return h.createQuota(w, r, c, org, limit, quota.OrgExistsMessage(org.Name))
}

// getOrgQuota serves GET …/quota/{quota_id}.
func (h *quotas) getOrgQuota(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	q, err := h.readableQuota(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.quotaView(q))
	return nil
}

// listOrgQuotaLimits serves GET …/quota/{quota_id}/limit.
func (h *quotas) listOrgQuotaLimits(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	q, err := h.readableQuota(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, limitViews(q.Limits))
	return nil
}

// createOrgQuotaLimit serves POST …/quota/{quota_id}/limit: 201 "Created".
func (h *quotas) createOrgQuotaLimit(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	fields, err := decodeObject(r)
	if err != nil {
		return err
	}
	kind, percent, err := limitFields(fields, true)
	if err != nil {
		return err
	}
	ns, id, _, err := h.limitTarget(r, false)
	if err != nil {
		return err
	}
	if _, err := h.quotas.AddLimit(r.Context(), c, ns, id, *kind, *percent); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, "Created")
	return nil
}

// getOrgQuotaLimit serves GET …/quota/{quota_id}/limit/{limit_id}.
func (h *quotas) getOrgQuotaLimit(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	q, err := h.readableQuota(r, c)
	if err != nil {
		return err
	}
	l, err := quotaLimit(r, q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, limitView(l))
	return nil
}

// changeOrgQuotaLimit serves PUT …/quota/{quota_id}/limit/{limit_id}: the
// type and/or threshold; answers the quota's full view.
func (h *quotas) changeOrgQuotaLimit(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	fields, err := decodeObject(r)
	if err != nil {
		return err
	}
	kind, percent, err := limitFields(fields, false)
	if err != nil {
		return err
	}
	ns, id, limitID, err := h.limitTarget(r, true)
	if err != nil {
		return err
	}
	q, err := h.quotas.ChangeLimit(r.Context(), c, ns, id, limitID, kind, percent)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.quotaView(q))
	return nil
}

// deleteOrgQuotaLimit serves DELETE …/quota/{quota_id}/limit/{limit_id}.
func (h *quotas) deleteOrgQuotaLimit(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	ns, id, limitID, err := h.limitTarget(r, true)
	if err != nil {
		return err
	}
	if err := h.quotas.DeleteLimit(r.Context(), c, ns, id, limitID); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// The caller's own quota, read-only: /api/v1/user/quota….

// listUserQuota serves GET /api/v1/user/quota.
func (h *quotas) listUserQuota(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	return h.writeQuotaList(r.Context(), w, c.Account, false)
}

// getUserQuota serves GET /api/v1/user/quota/{quota_id}.
func (h *quotas) getUserQuota(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	q, err := h.namespaceQuota(r, c.Account)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.quotaView(q))
	return nil
}

// listUserQuotaLimits serves GET /api/v1/user/quota/{quota_id}/limit.
func (h *quotas) listUserQuotaLimits(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	q, err := h.namespaceQuota(r, c.Account)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, limitViews(q.Limits))
	return nil
}

// getUserQuotaLimit serves GET /api/v1/user/quota/{quota_id}/limit/{limit_id}.
// Quay answers it with the quota's full view, not the limit's (the
// organization endpoint answers the limit view); kept, since a client
// written against Quay parses that.
func (h *quotas) getUserQuotaLimit(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	q, err := h.namespaceQuota(r, c.Account)
	if err != nil {
		return err
	}
	if _, err := quotaLimit(r, q); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.quotaView(q))
	return nil
}

// changeQuotaOf returns the handler of PUT …/quota/{quota_id} for the
// namespace named by path value param: the superuser and organization
// paths change a quota the same way.
func (h *quotas) changeQuotaOf(param string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		fields, err := decodeObject(r)
		if err != nil {
			return err
		}
		limit, err := quotaBytes(fields, true)
		if err != nil {
			return err
		}
		ns, err := h.quotaNamespace(r.Context(), r.PathValue(param))
		if err != nil {
			return err
		}
		return h.changeQuota(w, r, c, ns, limit)
	}
}

// deleteQuotaOf returns the handler of DELETE …/quota/{quota_id} for the
// namespace named by path value param.
func (h *quotas) deleteQuotaOf(param string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		ns, err := h.quotaNamespace(r.Context(), r.PathValue(param))
		if err != nil {
			return err
		}
		return h.deleteQuota(w, r, c, ns)
	}
}
