// Package autoprune is the domain of Quay's auto-prune policies: a
// namespace's or a repository's rules for deleting old tags, managed
// through the API and applied by a background job. Pruning a tag is an
// ordinary tag delete: the manifest goes to the time machine and its blobs
// are collected after it (packages tags and blobgc).
package autoprune

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Methods, as Quay names them.
const (
	NumberOfTags = "number_of_tags"
	CreationDate = "creation_date"
)

// Store is what the service reads and writes (db.Registry).
type Store interface {
	AutoPrunePolicies(ctx context.Context, nsID, repoID int64) ([]wharf.AutoPrunePolicy, error)
	// AutoPrunePolicy returns NotFound for a policy not of the namespace or repository.
	AutoPrunePolicy(ctx context.Context, nsID, repoID int64, uuid string) (wharf.AutoPrunePolicy, error)
	// SaveAutoPrunePolicy returns Invalid for a duplicate and NotFound for an unknown uuid.
	SaveAutoPrunePolicy(ctx context.Context, p wharf.AutoPrunePolicy, create bool, entries ...wharf.LogEntry) error
	DeleteAutoPrunePolicy(ctx context.Context, nsID, repoID int64, uuid string, entries ...wharf.LogEntry) error
	AllAutoPrunePolicies(ctx context.Context) ([]wharf.AutoPrunePolicy, error)
	NamespaceRepositories(ctx context.Context, nsID int64) ([]*wharf.Repository, error)
	AliveTags(ctx context.Context, repoID int64) ([]wharf.TagLifetime, error)
	// DeleteTag returns NotFound for a tag that went meanwhile.
	DeleteTag(ctx context.Context, repoID int64, tag string, entries ...wharf.LogEntry) error
}

// Service manages and applies auto-prune policies.
type Service struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, log *slog.Logger, now func() time.Time) *Service {
	return &Service{store: store, log: log, now: now}
}

// Config is a policy as a client sends it (Quay's AutoPrunePolicyConfig).
type Config struct {
	Method            *string         `json:"method"`
	Value             json.RawMessage `json:"value"`
	TagPattern        *string         `json:"tagPattern"`
	TagPatternMatches *bool           `json:"tagPatternMatches"`
}

var durationPattern = regexp.MustCompile(`^[0-9]+[smhdwy]$`)

// parseAge reads a creation_date value: <integer><unit>, unit s m h d w y.
func parseAge(s string) (time.Duration, bool) {
	if !durationPattern.MatchString(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil {
		return 0, false
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour,
		'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if n > int64(1<<62)/int64(unit) {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// policyOf validates c (Quay's messages) and returns the policy it describes.
func policyOf(c Config) (wharf.AutoPrunePolicy, error) {
	p := wharf.AutoPrunePolicy{TagPatternMatches: true}
	if c.Method == nil || (*c.Method != NumberOfTags && *c.Method != CreationDate) {
		return p, wharf.Errorf(wharf.Invalid, "Invalid method provided")
	}
	p.Method = *c.Method
	badValue := wharf.Errorf(wharf.Invalid, "Invalid value given for method type")
	raw := strings.TrimSpace(string(c.Value))
	switch p.Method {
	case NumberOfTags:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			return p, badValue
		}
		p.Value = n
	case CreationDate:
		var s string
		if json.Unmarshal(c.Value, &s) != nil {
			return p, badValue
		}
		if _, ok := parseAge(s); !ok {
			return p, badValue
		}
		p.Value = s
	}
	if c.TagPattern != nil {
		pattern := strings.TrimSpace(*c.TagPattern)
		if pattern == "" {
			return p, wharf.Errorf(wharf.Invalid, "tag_pattern cannot be empty")
		}
		if _, err := regexp.Compile(pattern); err != nil {
			return p, wharf.Errorf(wharf.Invalid, "Invalid tag pattern %q: %v", pattern, err)
		}
		p.TagPattern = &pattern
	}
	if c.TagPatternMatches != nil {
		p.TagPatternMatches = *c.TagPatternMatches
	}
	return p, nil
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Scope is where a policy lives: a namespace, or one of its repositories.
type Scope struct {
	Namespace  *wharf.Account
	Repository *wharf.Repository // nil for the namespace's own policies
}

func (s Scope) repoID() int64 {
	if s.Repository == nil {
		return 0
	}
	return s.Repository.ID
}

// entry is the action-log entry of a change to a policy of s: kind's
// namespace_ or repository_ variant.
func (s Scope) entry(c *wharf.Caller, action string, meta map[string]any) wharf.LogEntry {
	meta["namespace"] = s.Namespace.Name
	kind := action + "_namespace_autoprune_policy"
	if s.Repository != nil {
		kind = action + "_repository_autoprune_policy"
		meta["repo"] = s.Repository.Name
	}
	return c.Entry(kind, s.Namespace, meta)
}

func configMeta(p wharf.AutoPrunePolicy) map[string]any {
	var pattern any
	if p.TagPattern != nil {
		pattern = *p.TagPattern
	}
	return map[string]any{"method": p.Method, "value": p.Value, "tag_pattern": pattern, "tag_pattern_matches": p.TagPatternMatches}
}

// List returns the policies of s.
func (s *Service) List(ctx context.Context, sc Scope) ([]wharf.AutoPrunePolicy, error) {
	return s.store.AutoPrunePolicies(ctx, sc.Namespace.ID, sc.repoID())
}

// Get returns s's policy uuid (NotFound if it is not theirs).
func (s *Service) Get(ctx context.Context, sc Scope, uuid string) (wharf.AutoPrunePolicy, error) {
	return s.store.AutoPrunePolicy(ctx, sc.Namespace.ID, sc.repoID(), uuid)
}

// Create adds the policy c describes to sc for caller and returns it.
func (s *Service) Create(ctx context.Context, caller *wharf.Caller, sc Scope, c Config) (wharf.AutoPrunePolicy, error) {
	p, err := policyOf(c)
	if err != nil {
		return p, err
	}
	p.UUID, p.NamespaceID, p.RepositoryID = newUUID(), sc.Namespace.ID, sc.repoID()
	return p, s.store.SaveAutoPrunePolicy(ctx, p, true, sc.entry(caller, "create", configMeta(p)))
}

// Update replaces sc's policy uuid with the one c describes.
func (s *Service) Update(ctx context.Context, caller *wharf.Caller, sc Scope, uuid string, c Config) error {
	p, err := policyOf(c)
	if err != nil {
		return err
	}
	p.UUID, p.NamespaceID, p.RepositoryID = uuid, sc.Namespace.ID, sc.repoID()
	meta := configMeta(p)
	meta["policy_uuid"] = uuid
	return s.store.SaveAutoPrunePolicy(ctx, p, false, sc.entry(caller, "update", meta))
}

// Delete removes sc's policy uuid.
func (s *Service) Delete(ctx context.Context, caller *wharf.Caller, sc Scope, uuid string) error {
	return s.store.DeleteAutoPrunePolicy(ctx, sc.Namespace.ID, sc.repoID(), uuid,
		sc.entry(caller, "delete", map[string]any{"policy_uuid": uuid}))
}

// cosignTag matches the tags cosign derives from a digest, which Quay's
// pruning spares.
var cosignTag = regexp.MustCompile(`^sha256-[0-9a-f]{64}\.(sig|att|sbom)$`)

// Run applies every policy once: in each repository a policy covers, the
// creation_date policies first, then the number_of_tags ones. It returns
// how many tags it pruned.
func (s *Service) Run(ctx context.Context) (int, error) {
	policies, err := s.store.AllAutoPrunePolicies(ctx)
	if err != nil {
		return 0, err
	}
	byRepo := map[int64][]wharf.AutoPrunePolicy{}
	var repos []*wharf.Repository
	seen := map[int64]bool{}
	for i := 0; i < len(policies); {
		nsID := policies[i].NamespaceID
		j := i
		for j < len(policies) && policies[j].NamespaceID == nsID {
			j++
		}
		nsRepos, err := s.store.NamespaceRepositories(ctx, nsID)
		if err != nil {
			return 0, err
		}
		for _, r := range nsRepos {
			for _, p := range policies[i:j] {
				if p.RepositoryID == 0 || p.RepositoryID == r.ID {
					byRepo[r.ID] = append(byRepo[r.ID], p)
				}
			}
			if !seen[r.ID] && len(byRepo[r.ID]) > 0 {
				seen[r.ID] = true
				repos = append(repos, r)
			}
		}
		i = j
	}
	pruned := 0
	for _, r := range repos {
		n, err := s.prune(ctx, r, byRepo[r.ID])
		pruned += n
		if err != nil {
			return pruned, err
		}
	}
	if pruned > 0 {
		s.log.Info("auto-prune", slog.Int("tags", pruned), slog.Int("repositories", len(repos)))
	}
	return pruned, nil
}

// prune applies policies to repo.
func (s *Service) prune(ctx context.Context, repo *wharf.Repository, policies []wharf.AutoPrunePolicy) (int, error) {
	slices.SortStableFunc(policies, func(a, b wharf.AutoPrunePolicy) int {
		if a.Method == b.Method {
			return 0
		}
		if a.Method == CreationDate {
			return -1
		}
		return 1
	})
	pruned := 0
	gone := map[string]bool{}
	for _, p := range policies {
		tags, err := s.store.AliveTags(ctx, repo.ID)
		if err != nil {
			return pruned, err
		}
		var candidates []wharf.TagLifetime // newest first
		for _, t := range tags {
			if gone[t.Name] || cosignTag.MatchString(t.Name) || !matches(p, t.Name) {
				continue
			}
			candidates = append(candidates, t)
		}
		var doomed []string
		switch p.Method {
		case NumberOfTags:
			if keep := int(p.Value.(int64)); len(candidates) > keep {
				for _, t := range candidates[keep:] {
					doomed = append(doomed, t.Name)
				}
			}
		case CreationDate:
			age, _ := parseAge(p.Value.(string))
			for _, t := range candidates {
				if s.now().Sub(t.Start) > age {
					doomed = append(doomed, t.Name)
				}
			}
		}
		for _, name := range doomed {
			entry := (*wharf.Caller)(nil).RepositoryEntry("autoprune_tag_delete", repo, map[string]any{
				"performer": "autoprune worker", "namespace": repo.Namespace, "repo": repo.Name, "tag": name})
			err := s.store.DeleteTag(ctx, repo.ID, name, entry)
			if wharf.IsCode(err, wharf.NotFound) {
				continue // deleted meanwhile
			}
			if err != nil {
				return pruned, err
			}
			gone[name] = true
			pruned++
		}
	}
	return pruned, nil
}

// matches reports whether tag is a candidate of p by its pattern.
func matches(p wharf.AutoPrunePolicy, tag string) bool {
	if p.TagPattern == nil {
		return true
	}
	re, err := regexp.Compile(*p.TagPattern)
	if err != nil {
		return false // stored before validation tightened: prune nothing
	}
	return re.MatchString(tag) == p.TagPatternMatches
}
