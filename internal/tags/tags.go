// Package tags is the domain of tags over time and of what hangs off a
// manifest: the tag history (Quay's time machine), moving, expiring,
// deleting and restoring tags, and manifest labels. Who may do these
// things to a repository is package access's to decide; the caller checks
// it before calling.
//
// A tag's history is a list of lifetimes: from when it started pointing
// at a manifest until it was moved, deleted or expired. A deleted tag's
// manifest (and so its blobs) stays for the namespace's tag_expiration_s
// and can be restored within it; after it the manifest is collected
// (package app's collect-untagged-manifests job) and its blobs become
// garbage-collection candidates (package blobgc).
package tags

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is what the service reads and writes (db.Registry).
type Store interface {
	TagHistory(ctx context.Context, repoID int64, q wharf.TagQuery) ([]wharf.TagLifetime, bool, error)
	// AliveTag returns NotFound for a tag that is not alive.
	AliveTag(ctx context.Context, repoID int64, name string) (wharf.TagLifetime, error)
	// SetTagExpiration returns the wharf.ErrChanged Conflict when the tag's
	// lifetime is no longer the one that started at started.
	SetTagExpiration(ctx context.Context, repoID int64, name string, started time.Time, expires *time.Time, entries ...wharf.LogEntry) error
	// MoveTag returns NotFound for a manifest that is missing (or dead, for
	// a plain move) and Invalid for a restore outside the window.
	MoveTag(ctx context.Context, mv wharf.TagMove) (string, error)
	DeleteTag(ctx context.Context, repoID int64, tag string, entries ...wharf.LogEntry) error
	// AliveManifest returns NotFound unless an alive tag references the manifest.
	AliveManifest(ctx context.Context, repoID int64, digest string) (*wharf.Manifest, error)
	Labels(ctx context.Context, manifestID int64, prefix string) ([]wharf.Label, error)
	Label(ctx context.Context, manifestID int64, id string) (wharf.Label, error)
	AddLabel(ctx context.Context, l wharf.Label, entries ...wharf.LogEntry) error
	DeleteLabel(ctx context.Context, manifestID int64, id string, entries ...wharf.LogEntry) error
}

// Service manages tags and manifest labels.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, now func() time.Time) *Service { return &Service{store: store, now: now} }

// Expiration bounds, as Quay's LABELED_EXPIRATION_MINIMUM and _MAXIMUM:
// an expiration is kept between them, counted from the tag's start.
const (
	expirationMinimum = time.Hour
	expirationMaximum = 104 * 7 * 24 * time.Hour
)

var tagNamePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ValidTagName applies Quay's tag name rule; Invalid with Quay's message.
func ValidTagName(name string) error {
	if !tagNamePattern.MatchString(name) {
		return wharf.Errorf(wharf.Invalid, `Invalid tag: must match [A-Za-z0-9_.-], NOT start with "." or "-", and can contain 1-128 characters`)
	}
	return nil
}

// History returns a page of repo's tag history.
func (s *Service) History(ctx context.Context, repo *wharf.Repository, q wharf.TagQuery) ([]wharf.TagLifetime, bool, error) {
	return s.store.TagHistory(ctx, repo.ID, q)
}

func tagMeta(repo *wharf.Repository, c *wharf.Caller, tag string) map[string]any {
	m := map[string]any{"repo": repo.Name, "namespace": repo.Namespace, "tag": tag}
	if c != nil && c.Account != nil {
		m["username"] = c.Account.Name
	}
	return m
}

// SetExpiration sets (nil: clears) the expiration of repo's alive tag
// (NotFound otherwise) to expires, seconds since the epoch, kept between
// an hour and 104 weeks after the tag's start. Invalid for a moment not in
// the future, or when the tag changed meanwhile. Logs
// change_tag_expiration unless both the old and new are unset.
func (s *Service) SetExpiration(ctx context.Context, c *wharf.Caller, repo *wharf.Repository, tag string, expires *float64) error {
	l, err := s.store.AliveTag(ctx, repo.ID, tag)
	if err != nil {
		return err
	}
	var at *time.Time
	if expires != nil {
		when := time.Unix(0, int64(*expires*1e9))
		if !when.After(s.now()) {
			return wharf.Errorf(wharf.Invalid, "Invalid expiration: it must be in the future")
		}
		span := min(max(when.Sub(l.Start), expirationMinimum), expirationMaximum)
		t := l.Start.Add(span).Truncate(time.Second)
		at = &t
	}
	var entries []wharf.LogEntry
	if at != nil || l.End != nil {
		meta := tagMeta(repo, c, tag)
		meta["expiration_date"], meta["old_expiration_date"] = unixOrNil(at), unixOrNil(l.End)
		entries = append(entries, c.RepositoryEntry("change_tag_expiration", repo, meta))
	}
	err = s.store.SetTagExpiration(ctx, repo.ID, tag, l.Start, at, entries...)
	if errors.Is(err, wharf.ErrChanged) {
		return wharf.Errorf(wharf.Invalid, "Could not update tag expiration; Tag has probably changed")
	}
	return err
}

func unixOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Unix()
}

// Move points repo's tag at manifest digest, which an alive tag must
// reference (NotFound otherwise), logging create_tag or move_tag.
func (s *Service) Move(ctx context.Context, c *wharf.Caller, repo *wharf.Repository, tag, digest string) error {
	_, err := s.store.MoveTag(ctx, wharf.TagMove{Repository: repo, Tag: tag, Digest: digest, Caller: c})
	return err
}

// Restore points repo's tag at manifest digest from the time machine:
// the manifest must still be in the repository (NotFound) and have been
// tagged within the namespace's tag_expiration_s (Invalid naming the
// window otherwise). Logs revert_tag.
func (s *Service) Restore(ctx context.Context, c *wharf.Caller, repo *wharf.Repository, tag, digest string) error {
	_, err := s.store.MoveTag(ctx, wharf.TagMove{Repository: repo, Tag: tag, Digest: digest, Reversion: true, Caller: c})
	return err
}

// Delete ends repo's alive tag (NotFound otherwise): its manifest goes to
// the time machine. Logs delete_tag.
func (s *Service) Delete(ctx context.Context, c *wharf.Caller, repo *wharf.Repository, tag string) error {
	l, err := s.store.AliveTag(ctx, repo.ID, tag)
	if err != nil {
		return err
	}
	meta := tagMeta(repo, c, tag)
	meta["manifest_digest"] = l.ManifestDigest
	return s.store.DeleteTag(ctx, repo.ID, tag, c.RepositoryEntry("delete_tag", repo, meta))
}

// Manifest returns repo's manifest digest if an alive tag references it
// (NotFound otherwise).
func (s *Service) Manifest(ctx context.Context, repo *wharf.Repository, digest string) (*wharf.Manifest, error) {
	return s.store.AliveManifest(ctx, repo.ID, digest)
}

// Labels returns the labels of m whose key starts with prefix.
func (s *Service) Labels(ctx context.Context, m *wharf.Manifest, prefix string) ([]wharf.Label, error) {
	return s.store.Labels(ctx, m.ID, prefix)
}

// Label returns m's label id (NotFound if none).
func (s *Service) Label(ctx context.Context, m *wharf.Manifest, id string) (wharf.Label, error) {
	return s.store.Label(ctx, m.ID, id)
}

// reservedLabelPrefixes are Quay's DEFAULT_LABEL_KEY_RESERVED_PREFIXES:
// keys the API may not add.
var reservedLabelPrefixes = []string{"com.docker.", "io.docker.", "org.dockerproject.", "org.opencontainers.", "io.cncf.",
	"io.kubernetes.", "io.k8s.", "io.quay", "com.coreos", "com.tectonic", "internal", "quay"}

// labelKeyPattern is Quay's label key rule without its lookahead (a "-"
// or "." is followed by a letter or digit); quayLabelKeyPattern is how
// Quay's message spells it.
var labelKeyPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|[-.][a-z0-9])*$`)

const quayLabelKeyPattern = `^[a-z0-9](([a-z0-9]|[-.](?![.-]))*[a-z0-9])?$`

// AddLabel adds key=value to m for c and returns it. mediaType nil infers
// application/json when value parses as JSON. Invalid with Quay's
// messages for a reserved prefix, a malformed key or media type. Logs
// manifest_label_add.
func (s *Service) AddLabel(ctx context.Context, c *wharf.Caller, repo *wharf.Repository, m *wharf.Manifest, key, value string, mediaType *string) (wharf.Label, error) {
	for _, p := range reservedLabelPrefixes {
		if strings.HasPrefix(key, p) {
			return wharf.Label{}, wharf.Errorf(wharf.Invalid, "Label has a reserved prefix")
		}
	}
	if len(key) > 255 || !labelKeyPattern.MatchString(key) {
		return wharf.Label{}, wharf.Errorf(wharf.Invalid,
			"Label is of an invalid format or missing please use %s format for labels", quayLabelKeyPattern)
	}
	mt := "text/plain"
	switch {
	case mediaType == nil:
		if json.Valid([]byte(value)) {
			mt = "application/json"
		}
	case *mediaType == "text/plain" || *mediaType == "application/json":
		mt = *mediaType
	default:
		return wharf.Label{}, wharf.Errorf(wharf.Invalid, "Media type is invalid please use a valid media type: text/plain, application/json")
	}
	id := make([]byte, 16)
	rand.Read(id)
	id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
	h := hex.EncodeToString(id)
	l := wharf.Label{ID: h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], ManifestID: m.ID,
		Key: key, Value: value, MediaType: mt, SourceType: "api"}
	meta := map[string]any{"id": l.ID, "key": key, "value": value, "manifest_digest": m.Digest, "media_type": mt,
		"namespace": repo.Namespace, "repo": repo.Name}
	return l, s.store.AddLabel(ctx, l, c.RepositoryEntry("manifest_label_add", repo, meta))
}

// DeleteLabel removes m's label id (NotFound if none); a label that came
// with the manifest itself is Invalid to delete. Logs manifest_label_delete.
func (s *Service) DeleteLabel(ctx context.Context, c *wharf.Caller, repo *wharf.Repository, m *wharf.Manifest, id string) error {
	l, err := s.store.Label(ctx, m.ID, id)
	if err != nil {
		return err
	}
	if l.SourceType == "manifest" {
		return wharf.Errorf(wharf.Invalid, "Cannot delete immutable label")
	}
	meta := map[string]any{"id": l.ID, "key": l.Key, "value": l.Value, "manifest_digest": m.Digest,
		"namespace": repo.Namespace, "repo": repo.Name}
	return s.store.DeleteLabel(ctx, m.ID, id, c.RepositoryEntry("manifest_label_delete", repo, meta))
}

// LayersSize is the compressed size of an image manifest's layers (the sum
// of its layer descriptors), Quay's tag size; ok is false for an index or
// a manifest whose bytes are not an image manifest.
func LayersSize(mediaType string, content []byte) (size int64, ok bool) {
	if IsList(mediaType) || len(content) == 0 {
		return 0, false
	}
	var m struct {
		Layers []struct {
			Size int64 `json:"size"`
		} `json:"layers"`
	}
	if json.Unmarshal(content, &m) != nil {
		return 0, false
	}
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, true
}

// IsList reports an index (manifest list) media type.
func IsList(mediaType string) bool {
	return mediaType == "application/vnd.oci.image.index.v1+json" ||
		mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}
