package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/message"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// consoleAPI serves /api/v1/console/…: what the web console needs beyond
// Quay's API, each answer a whole page of rows (with its total) so that a
// list page costs one request, never one per row. These endpoints are
// wharf's own and leave Quay's JSON alone; their access rules are in
// routes.go beside Quay's, the same rules for the same data.
type consoleAPI struct {
	auth     *auth.Service
	identity *identity.Service
	views    *accountViews
	store    consoleStore
	policy   identity.Policy
	messages *message.Service
	features consoleFeatures
}

// consoleStore is what the console's list pages read.
type consoleStore interface {
	ConsoleAccounts(ctx context.Context, q wharf.AccountSearch) ([]*wharf.Account, map[int64]int64, int64, error)
	SearchLogs(ctx context.Context, q wharf.LogSearch) ([]wharf.LogEntry, error)
	CountLogs(ctx context.Context, q wharf.LogSearch, origin time.Time, bucket time.Duration) ([]wharf.LogCount, error)
	CollectionTotals(ctx context.Context) (wharf.CollectionTotals, error)
}

// consoleFeatures tells the console which pages and controls exist.
type consoleFeatures struct {
	SuperUsers     bool `json:"super_users"`
	Quota          bool `json:"quota"`
	Builds         bool `json:"builds"`
	UserInitialize bool `json:"user_initialize"`
	ConfigDump     bool `json:"config_dump"`
	AppTokens      bool `json:"app_tokens"`
}

type consoleUser struct {
	Username                string          `json:"username"`
	Email                   *string         `json:"email"`
	Avatar                  identity.Avatar `json:"avatar"`
	SuperUser               bool            `json:"super_user"`
	GlobalReadonlySuperUser bool            `json:"global_readonly_super_user"`
}

// getSession serves GET /api/v1/console/session: whether the instance has
// its first user, who the caller is, the CSRF token for its changes, the
// features on and, for a signed-in user, the global messages (which every
// signed-in user may read) and the tag expirations allowed — everything the
// console needs to start, in one request.
func (h *consoleAPI) getSession(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
	initialized, err := h.identity.Initialized(r.Context())
	if err != nil {
		return err
	}
	tok, cookie := h.auth.CSRFToken(r, c)
	if cookie != nil {
		http.SetCookie(w, cookie)
	}
	resp := struct {
		Initialized bool            `json:"initialized"`
		User        *consoleUser    `json:"user"`
		CSRFToken   string          `json:"csrf_token"`
		Features    consoleFeatures `json:"features"`
		Messages    []messageView   `json:"messages"`
		// TagExpirationOptions are the seconds an organization's or user's
		// tag_expiration_s may be (TAG_EXPIRATION_OPTIONS), for its setting.
		TagExpirationOptions []int64 `json:"tag_expiration_options"`
	}{Initialized: initialized, CSRFToken: tok, Features: h.features, Messages: []messageView{},
		TagExpirationOptions: make([]int64, 0, len(h.policy.TagExpirationOptions))}
	for _, d := range h.policy.TagExpirationOptions {
		resp.TagExpirationOptions = append(resp.TagExpirationOptions, int64(d/time.Second))
	}
	if u := c.Account; u != nil && u.Kind == wharf.KindUser {
		resp.User = &consoleUser{Username: u.Name, Email: ptrOrNil(u.Email), Avatar: avatar(u),
			SuperUser: h.policy.IsSuperuser(u), GlobalReadonlySuperUser: h.policy.IsReadonlySuperuser(u)}
		if h.messages != nil {
			all, err := h.messages.List(r.Context())
			if err != nil {
				return err
			}
			for _, m := range all {
				resp.Messages = append(resp.Messages, messageView{Content: m.Content, MediaType: m.MediaType, Severity: m.Severity, UUID: m.UUID})
			}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, &resp)
	return nil
}

func ptrOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// accountSearch reads q, sort (a column, "-" first for descending),
// offset and limit (1–100, default 25) of a console list.
func accountSearch(r *http.Request, kinds ...wharf.AccountKind) (wharf.AccountSearch, error) {
	q := r.URL.Query()
	s := wharf.AccountSearch{Kinds: kinds, Text: strings.TrimSpace(q.Get("q")), Sort: "name", Limit: 25}
	if v := q.Get("sort"); v != "" {
		s.Sort, s.Desc = strings.TrimPrefix(v, "-"), strings.HasPrefix(v, "-")
	}
	if q.Has("limit") {
		n, err := pageLimit(r)
		if err != nil {
			return s, err
		}
		s.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s, wharf.Errorf(wharf.Invalid, "Invalid value for query parameter 'offset': expected a non-negative integer")
		}
		s.Offset = n
	}
	return s, nil
}

// listUsers serves GET /api/v1/console/users: a page of users in the
// superuser view, searched, sorted and counted on the server.
func (h *consoleAPI) listUsers(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	q, err := accountSearch(r, wharf.KindUser)
	if err != nil {
		return err
	}
	q.EnabledOnly = !queryBool(r, "disabled", true)
	page, _, total, err := h.store.ConsoleAccounts(r.Context(), q)
	if err != nil {
		return err
	}
	sums, err := h.views.quotaSummaries(r.Context(), page)
	if err != nil {
		return err
	}
	resp := struct {
		Total  int64            `json:"total"`
		Offset int              `json:"offset"`
		Limit  int              `json:"limit"`
		Users  []*superUserView `json:"users"`
	}{Total: total, Offset: q.Offset, Limit: q.Limit, Users: make([]*superUserView, len(page))}
	for i, u := range page {
		resp.Users[i] = h.views.superUserViewWith(sums, u)
	}
	writeJSON(w, http.StatusOK, &resp)
	return nil
}

// listOrganizations serves GET /api/v1/console/organizations: a page of
// organizations in the superuser view, searched, sorted and counted.
func (h *consoleAPI) listOrganizations(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	q, err := accountSearch(r, wharf.KindOrg)
	if err != nil {
		return err
	}
	page, _, total, err := h.store.ConsoleAccounts(r.Context(), q)
	if err != nil {
		return err
	}
	sums, err := h.views.quotaSummaries(r.Context(), page)
	if err != nil {
		return err
	}
	views := make([]map[string]any, len(page))
	for i, o := range page {
		views[i] = h.views.superOrgViewWith(sums, o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "offset": q.Offset, "limit": q.Limit, "organizations": views})
	return nil
}

// namespaceUsageView is one row of the storage page.
type namespaceUsageView struct {
	Name       string           `json:"name"`
	Kind       string           `json:"kind"`
	Avatar     identity.Avatar  `json:"avatar"`
	UsedBytes  int64            `json:"used_bytes"`
	LimitBytes *int64           `json:"limit_bytes"`
	Limits     []quotaLimitView `json:"limits"`
}

// listNamespaceUsage serves GET /api/v1/console/namespaces: users and
// organizations that hold bytes, by usage (largest first by default),
// with their quota.
func (h *consoleAPI) listNamespaceUsage(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	q, err := accountSearch(r, wharf.KindUser, wharf.KindOrg)
	if err != nil {
		return err
	}
	if !r.URL.Query().Has("sort") {
		q.Sort, q.Desc = "usage", true
	}
	q.UsedOnly = true
	page, used, total, err := h.store.ConsoleAccounts(r.Context(), q)
	if err != nil {
		return err
	}
	sums, err := h.views.quotaSummaries(r.Context(), page)
	if err != nil {
		return err
	}
	rows := make([]namespaceUsageView, len(page))
	for i, a := range page {
		v := namespaceUsageView{Name: a.Name, Kind: "user", Avatar: avatar(a), UsedBytes: used[a.ID], Limits: []quotaLimitView{}}
		if a.Kind == wharf.KindOrg {
			v.Kind = "org"
		}
		if s, ok := sums[a.ID]; ok && s.quota != nil {
			v.LimitBytes = &s.quota.LimitBytes
			v.Limits = limitViews(s.quota.Limits)
		}
		rows[i] = v
	}
	// What the collector reclaimed comes along (the same view as
	// /console/collection): the storage page then costs two requests, this
	// and the registry size, as every list page may.
	coll, err := h.collection(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "offset": q.Offset, "limit": q.Limit, "namespaces": rows,
		"collection": coll})
	return nil
}

// collection is what the blob collector reclaimed in all its runs (every
// process's) and in the last.
func (h *consoleAPI) collection(ctx context.Context) (map[string]any, error) {
	t, err := h.store.CollectionTotals(ctx)
	if err != nil {
		return nil, err
	}
	var last any
	if t.LastRun != nil {
		last = map[string]any{"at": t.LastRun.Format(time.RFC3339), "blobs": t.LastBlobs, "bytes": t.LastBytes, "links": t.LastLinks}
	}
	return map[string]any{"runs": t.Runs, "blobs": t.Blobs, "bytes": t.Bytes, "links": t.Links, "last_run": last}, nil
}

// getCollection serves GET /api/v1/console/collection: what the blob
// collector reclaimed in all its runs (every process's) and in the last.
func (h *consoleAPI) getCollection(w http.ResponseWriter, r *http.Request, _ *wharf.Caller) error {
	coll, err := h.collection(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, coll)
	return nil
}
