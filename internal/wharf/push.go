package wharf

// ManifestPush is one manifest PUT: Manifest stored in Repository, Tag
// ("" for none) pointed at it, by Caller.
type ManifestPush struct {
	Manifest   *Manifest
	Repository *Repository
	Tag        string
	Caller     *Caller
}

// Entries are the action-log entries of the push, as Quay writes them:
// push_repo, and create_tag or move_tag when the tag was new or pointed
// at previous ("" when it did not exist or no tag was given).
func (p ManifestPush) Entries(previous string) []LogEntry {
	meta := func(extra map[string]any) map[string]any {
		out := map[string]any{"repo": p.Repository.Name, "namespace": p.Repository.Namespace, "manifest_digest": p.Manifest.Digest}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	var tag any
	if p.Tag != "" {
		tag = p.Tag
	}
	entries := []LogEntry{p.Caller.RepositoryEntry("push_repo", p.Repository, meta(map[string]any{"tag": tag}))}
	switch {
	case p.Tag == "" || previous == p.Manifest.Digest:
	case previous == "":
		entries = append(entries, p.Caller.RepositoryEntry("create_tag", p.Repository, meta(map[string]any{"tag": p.Tag})))
	default:
		entries = append(entries, p.Caller.RepositoryEntry("move_tag", p.Repository, meta(map[string]any{"tag": p.Tag, "original_manifest_digest": previous})))
	}
	return entries
}

// ManifestDeletion is a manifest deleted by digest from Repository, with
// every tag pointing at it, by Caller.
type ManifestDeletion struct {
	Repository *Repository
	Digest     string
	Caller     *Caller
}

// Entries are the deletion's action-log entries: delete_tag for each tag
// that pointed at the manifest, as Quay writes them.
func (d ManifestDeletion) Entries(tags []string) []LogEntry {
	entries := make([]LogEntry, 0, len(tags))
	for _, t := range tags {
		entries = append(entries, d.Caller.RepositoryEntry("delete_tag", d.Repository, map[string]any{"tag": t,
			"repo": d.Repository.Name, "namespace": d.Repository.Namespace, "manifest_digest": d.Digest}))
	}
	return entries
}

// NamespaceAccount is the account a repository's log entries are filed
// under.
func (r *Repository) NamespaceAccount() *Account {
	return &Account{ID: r.NamespaceID, Name: r.Namespace}
}
