package wharf

import "time"

// TagLifetime is one row of a tag's history (Quay's time machine): the
// span during which Name pointed at ManifestDigest. End is nil while the
// tag is alive and has no expiration; an alive tag with an expiration has
// End in the future.
type TagLifetime struct {
	Name           string
	ManifestDigest string
	Start          time.Time
	End            *time.Time
	Reversion      bool
	// The manifest, when the repository still has it: its media type and
	// bytes (a view derives is_manifest_list and the layers' size).
	MediaType string
	Content   []byte
}

// Alive reports whether the lifetime is the tag's current one at now.
func (l TagLifetime) Alive(now time.Time) bool { return l.End == nil || l.End.After(now) }

// TagQuery selects tag history rows.
type TagQuery struct {
	Name       string // exact name ("" = any)
	Contains   string // case-insensitive substring of the name ("" = any)
	OnlyActive bool
	Limit      int // rows per page
	Page       int // 1-based
}

// TagMove points a tag of Repository at Digest for Caller: a create, a
// move, or (Reversion) a restore from the time machine.
type TagMove struct {
	Repository *Repository
	Tag        string
	Digest     string
	Reversion  bool
	Caller     *Caller
}

// Entries are the move's action-log entries, as Quay writes them:
// revert_tag for a restore, else create_tag (previous "") or move_tag.
func (m TagMove) Entries(previous string) []LogEntry {
	meta := map[string]any{"repo": m.Repository.Name, "namespace": m.Repository.Namespace, "tag": m.Tag, "manifest_digest": m.Digest}
	if m.Caller != nil && m.Caller.Account != nil {
		meta["username"] = m.Caller.Account.Name
	}
	kind := "create_tag"
	switch {
	case m.Reversion:
		kind = "revert_tag"
	case previous != "":
		kind = "move_tag"
		meta["original_manifest_digest"] = previous
	}
	return []LogEntry{m.Caller.RepositoryEntry(kind, m.Repository, meta)}
}

// Label is a key/value annotation on a manifest (Quay's manifest label).
type Label struct {
	ID         string
	ManifestID int64
	Key        string
	Value      string
	MediaType  string // text/plain or application/json
	SourceType string // api, manifest or internal
}

// AutoPrunePolicy is a Quay auto-prune policy: on a namespace
// (RepositoryID 0: every repository of it) or on one repository. Method
// number_of_tags keeps the newest Value (an int64) tags; creation_date
// prunes tags older than Value (a duration string such as "7d"). Only
// tags whose name TagPattern matches (or, with TagPatternMatches false,
// does not match) are candidates; a nil pattern makes every tag one.
type AutoPrunePolicy struct {
	UUID              string
	NamespaceID       int64
	RepositoryID      int64
	Method            string
	Value             any
	TagPattern        *string
	TagPatternMatches bool
}
