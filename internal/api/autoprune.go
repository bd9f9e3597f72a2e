package api

import (
	"net/http"

	"github.com/wharf-registry/wharf/internal/autoprune"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// autoPrune serves the auto-prune policies of organizations, of the
// caller's own namespace and of repositories (spec §11).
type autoPrune struct {
	orgs     *orgs
	repos    *repositories
	policies *autoprune.Service
}

// orgScope loads the path's organization for one of its administrators.
func (h *autoPrune) orgScope(r *http.Request, c *wharf.Caller) (autoprune.Scope, error) {
	org, err := h.orgs.requireOrgAdmin(r, c)
	return autoprune.Scope{Namespace: org}, err
}

// userScope is the caller's own namespace.
func (h *autoPrune) userScope(_ *http.Request, c *wharf.Caller) (autoprune.Scope, error) {
	if c.Account == nil || c.Account.Kind != wharf.KindUser {
		return autoprune.Scope{}, wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	return autoprune.Scope{Namespace: c.Account}, nil
}

// repoScope loads the path's repository for one of its administrators.
func (h *autoPrune) repoScope(r *http.Request, c *wharf.Caller) (autoprune.Scope, error) {
	d, err := administered(r, c, h.repos.access, false)
	if err != nil {
		return autoprune.Scope{}, err
	}
	return autoprune.Scope{Namespace: d.Namespace, Repository: d.Repository}, nil
}

type scopeFunc func(r *http.Request, c *wharf.Caller) (autoprune.Scope, error)

func policyView(p wharf.AutoPrunePolicy) map[string]any {
	var pattern any
	if p.TagPattern != nil {
		pattern = *p.TagPattern
	}
	return map[string]any{"uuid": p.UUID, "method": p.Method, "value": p.Value, "tagPattern": pattern,
		"tagPatternMatches": p.TagPatternMatches}
}

// list serves GET …/autoprunepolicy/: {"policies": [...]}.
func (h *autoPrune) list(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		sc, err := scope(r, c)
		if err != nil {
			return err
		}
		policies, err := h.policies.List(r.Context(), sc)
		if err != nil {
			return err
		}
		views := make([]map[string]any, 0, len(policies))
		for _, p := range policies {
			views = append(views, policyView(p))
		}
		writeJSON(w, http.StatusOK, map[string]any{"policies": views})
		return nil
	}
}

// create serves POST …/autoprunepolicy/: 201 {"uuid": …}.
func (h *autoPrune) create(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		sc, err := scope(r, c)
		if err != nil {
			return err
		}
		var cfg autoprune.Config
		if err := decodeJSON(r, &cfg); err != nil {
			return err
		}
		p, err := h.policies.Create(r.Context(), c, sc, cfg)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, map[string]string{"uuid": p.UUID})
		return nil
	}
}

// get serves GET …/autoprunepolicy/{policy_uuid}.
func (h *autoPrune) get(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		sc, err := scope(r, c)
		if err != nil {
			return err
		}
		p, err := h.policies.Get(r.Context(), sc, r.PathValue("policy_uuid"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, policyView(p))
		return nil
	}
}

// update serves PUT …/autoprunepolicy/{policy_uuid}: 204.
func (h *autoPrune) update(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		sc, err := scope(r, c)
		if err != nil {
			return err
		}
		var cfg autoprune.Config
		if err := decodeJSON(r, &cfg); err != nil {
			return err
		}
		if err := h.policies.Update(r.Context(), c, sc, r.PathValue("policy_uuid"), cfg); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// remove serves DELETE …/autoprunepolicy/{policy_uuid}: 200 {"uuid": …}.
func (h *autoPrune) remove(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *wharf.Caller) error {
		sc, err := scope(r, c)
		if err != nil {
			return err
		}
		uuid := r.PathValue("policy_uuid")
		if err := h.policies.Delete(r.Context(), c, sc, uuid); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]string{"uuid": uuid})
		return nil
	}
}
