package api

import (
	"context"
	"net/http"

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// namespaceLogs serves the logs of an organization, of the caller's own
// namespace and of a repository, and their daily counts (spec §7), with
// the superuser logs' window, paging and error rules (logs). Who may read
// them, as in Quay: an organization's administrators, a repository's
// administrators, the user for their own namespace, and global read-only
// superusers; members, readers and writers never.
type namespaceLogs struct {
	logs     *logs
	identity *identity.Service
	access   *access.Service
	policy   identity.Policy
	store    namespaceLogStore
}

// namespaceLogStore is what the namespace logs read directly: the
// account a performer filter names.
type namespaceLogStore interface {
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
}

// readsAsReadonlySuperuser reports whether the caller reads as a global
// read-only superuser; OAuth tokens need super:user for it, as on every
// superuser endpoint.
func readsAsReadonlySuperuser(p identity.Policy, c *wharf.Caller) bool {
	return c.Account != nil && c.HasScope(wharf.SuperUser) && p.IsReadonlySuperuser(c.Account)
}

// orgFilter is the filter of {orgname}'s logs, for its administrators and
// read-only superusers (tokens need org:admin: routes.go); 404 for no such
// organization, 403 for anyone else, then 400 for a bad performer.
func (h *namespaceLogs) orgFilter(r *http.Request, c *wharf.Caller) (wharf.LogQuery, error) {
	org, err := h.logsOrg(r, c)
	if err != nil {
		return wharf.LogQuery{}, err
	}
	return h.withPerformer(r, wharf.LogQuery{AccountID: org.ID})
}

// logsOrg returns {orgname} if c may read its logs, or export them: its
// administrators and read-only superusers. 404 for no such organization,
// 403 for anyone else.
func (h *namespaceLogs) logsOrg(r *http.Request, c *wharf.Caller) (*wharf.Account, error) {
	org, err := h.identity.Org(r.Context(), r.PathValue("orgname"))
	if err != nil {
		return nil, err
	}
	if !readsAsReadonlySuperuser(h.policy, c) {
		admin, err := h.identity.IsOrgAdmin(r.Context(), org, c.Account)
		if err != nil {
			return nil, err
		}
		if !admin {
			return nil, wharf.Errorf(wharf.Forbidden, "Unauthorized")
		}
	}
	return org, nil
}

// userFilter is the filter of the caller's own namespace's logs.
func (h *namespaceLogs) userFilter(r *http.Request, c *wharf.Caller) (wharf.LogQuery, error) {
	return h.withPerformer(r, wharf.LogQuery{AccountID: c.Account.ID})
}

// withPerformer narrows q to the ?performer= account. An unknown name is
// 400 (Quay crashes on the lists and ignores it on the counts).
func (h *namespaceLogs) withPerformer(r *http.Request, q wharf.LogQuery) (wharf.LogQuery, error) {
	name := r.URL.Query().Get("performer")
	if name == "" {
		return q, nil
	}
	a, err := h.store.AccountByName(r.Context(), name)
	if wharf.IsCode(err, wharf.NotFound) {
		return q, wharf.Errorf(wharf.Invalid, "Unknown performer %q", name)
	}
	if err != nil {
		return q, err
	}
	q.PerformerID = a.ID
	return q, nil
}

// repoFilter is the filter of {namespace}/{repository}'s logs, for its
// administrators (tokens need repo:admin) and read-only superusers; a
// repository the caller cannot see is 404, one it only reads or writes 403.
func (h *namespaceLogs) repoFilter(r *http.Request, c *wharf.Caller) (wharf.LogQuery, error) {
	d, err := h.access.Repository(r.Context(), c, r.PathValue("namespace"), r.PathValue("repository"))
	if err != nil {
		return wharf.LogQuery{}, err
	}
	inspector := readsAsReadonlySuperuser(h.policy, c)
	if d.Repository == nil || !(d.Read || inspector) {
		return wharf.LogQuery{}, errNotFound
	}
	if !(d.Admin || inspector) {
		return wharf.LogQuery{}, wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	return wharf.LogQuery{AccountID: d.Repository.NamespaceID, RepositoryID: d.Repository.ID}, nil
}

// list and aggregate make the handlers of one family from its filter.
func (h *namespaceLogs) list(filter func(*http.Request, *wharf.Caller) (wharf.LogQuery, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		q, err := filter(r, c)
		if err != nil {
			return err
		}
		return h.logs.writeLogPage(w, r, q, false)
	}
}

func (h *namespaceLogs) aggregate(filter func(*http.Request, *wharf.Caller) (wharf.LogQuery, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		q, err := filter(r, c)
		if err != nil {
			return err
		}
		return h.logs.writeAggregate(w, r, q)
	}
}
