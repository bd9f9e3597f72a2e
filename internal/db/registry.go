package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Registry stores what the registry serves: repositories, the blobs linked
// to them, manifests, tags and referrers (see registry.go, manifests.go).
// Linking and unlinking keeps the namespace usage that Usage reports.
type Registry struct{ *base }

const repositoryColumns = `r.id, r.namespace_id, a.name, r.name, r.visibility, r.description, r.created_at, r.state, r.mirror_robot_id, r.badge_token`

func scanRepository(row rowScanner) (*wharf.Repository, error) {
	var r wharf.Repository
	var created int64
	var mirror sql.NullInt64
	if err := row.Scan(&r.ID, &r.NamespaceID, &r.Namespace, &r.Name, &r.Visibility, &r.Description, &created, &r.State, &mirror, &r.BadgeToken); err != nil {
		return nil, err
	}
	r.CreatedAt, r.MirrorRobotID = fromMicros(created), mirror.Int64
	return &r, nil
}

var errRepoNotFound = wharf.Errorf(wharf.NotFound, "Not Found")

// RepositoryByName returns namespace/name. NotFound if either is missing.
func (db *Registry) RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error) {
	r, err := scanRepository(db.sql.QueryRowContext(ctx, `SELECT `+repositoryColumns+`
		FROM repository r JOIN account a ON a.id = r.namespace_id WHERE a.name = $1 AND r.name = $2`, namespace, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errRepoNotFound
	}
	return r, wharf.Wrap(err, "load repository")
}

// CreateRepository inserts repo with entries, created by the account
// creatorID (0: none), which is granted admin and, in an organization,
// brings the organization's default permissions into force. Invalid if it
// already exists.
func (db *Registry) CreateRepository(ctx context.Context, repo *wharf.Repository, creatorID int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		created, err := db.insertRepository(ctx, tx, repo)
		if err != nil {
			return err
		}
		if !created {
			return wharf.Errorf(wharf.Invalid, "Repository already exists")
		}
		if err := grantCreation(ctx, tx, repo, creatorID); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, aboutRepository(entries, repo.ID))
	})
}

// EnsureRepository returns namespace's repository name, creating it (with
// entries, as CreateRepository does for creatorID) when missing, as a push
// to a new name does.
func (db *Registry) EnsureRepository(ctx context.Context, repo *wharf.Repository, creatorID int64, entries ...wharf.LogEntry) (bool, error) {
	var created bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if created, err = db.insertRepository(ctx, tx, repo); err != nil || !created {
			return err
		}
		if err := grantCreation(ctx, tx, repo, creatorID); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, aboutRepository(entries, repo.ID))
	})
	return created, err
}

// aboutRepository files the entries that accompany the creation of
// repository id under it: they were written before it had an id.
func aboutRepository(entries []wharf.LogEntry, id int64) []wharf.LogEntry {
	out := make([]wharf.LogEntry, len(entries))
	for i, e := range entries {
		if e.RepositoryID == 0 {
			e.RepositoryID = id
		}
		out[i] = e
	}
	return out
}

func (db *Registry) insertRepository(ctx context.Context, tx *sql.Tx, repo *wharf.Repository) (bool, error) {
	repo.CreatedAt = db.now().UTC()
	if repo.State == "" {
		repo.State = wharf.StateNormal
	}
	repo.BadgeToken = rand.Text()
	err := tx.QueryRowContext(ctx, `INSERT INTO repository (namespace_id, name, visibility, description, created_at, badge_token)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (namespace_id, name) DO NOTHING RETURNING id`,
		repo.NamespaceID, repo.Name, repo.Visibility, repo.Description, micros(repo.CreatedAt), repo.BadgeToken).Scan(&repo.ID)
	if errors.Is(err, sql.ErrNoRows) {
		existing, err := scanRepository(tx.QueryRowContext(ctx, `SELECT `+repositoryColumns+`
			FROM repository r JOIN account a ON a.id = r.namespace_id WHERE r.namespace_id = $1 AND r.name = $2`, repo.NamespaceID, repo.Name))
		if err != nil {
			return false, wharf.Wrap(err, "load repository")
		}
		*repo = *existing
		return false, nil
	}
	return err == nil, wharf.Wrap(err, "create repository")
}

// UpdateRepository stores repo's visibility and description with entries.
// Making it private ends the registry tokens that read it as public.
func (db *Registry) UpdateRepository(ctx context.Context, repo *wharf.Repository, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var before string
		err := tx.QueryRowContext(ctx, `SELECT visibility FROM repository WHERE id = $1`+db.forUpdate(), repo.ID).Scan(&before)
		if errors.Is(err, sql.ErrNoRows) {
			return errRepoNotFound
		}
		if err != nil {
			return wharf.Wrap(err, "load repository")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE repository SET visibility = $1, description = $2 WHERE id = $3`,
			repo.Visibility, repo.Description, repo.ID); err != nil {
			return wharf.Wrap(err, "update repository")
		}
		if before != repo.Visibility {
			if err := db.bumpEpochs(ctx, tx, wharf.RepositorySubject(repo.ID)); err != nil {
				return err
			}
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeleteRepository removes the repository with its manifests, tags, blob
// links and uploads. The blobs themselves stay until garbage collection
// finds them unreferenced.
func (db *Registry) DeleteRepository(ctx context.Context, id int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		nsID, err := repositoryNamespace(ctx, tx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return errRepoNotFound
		}
		if err != nil {
			return err
		}
		if err := db.lockNamespaceGrowth(ctx, tx, nsID, true); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT digest FROM repository_blob WHERE repository_id = $1`, id)
		if err != nil {
			return wharf.Wrap(err, "list repository blobs")
		}
		linked, err := scanStrings(rows)
		if err != nil {
			return err
		}
		if err := db.unlinkBlobs(ctx, tx, nsID, id, linked); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM repository WHERE id = $1`, id)
		if err != nil {
			return wharf.Wrap(err, "delete repository")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errRepoNotFound
		}
		if err := db.bumpEpochs(ctx, tx, wharf.RepositorySubject(id)); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// Catalog returns up to limit+1 repository names ("namespace/name") after
// last, in order.
func (db *Registry) Catalog(ctx context.Context, last string, limit int) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT full_name FROM (
		SELECT a.name || '/' || r.name AS full_name FROM repository r JOIN account a ON a.id = r.namespace_id) c
		WHERE full_name > $1 ORDER BY full_name LIMIT $2`, last, limit+1)
	if err != nil {
		return nil, wharf.Wrap(err, "catalog")
	}
	return scanStrings(rows)
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, wharf.Wrap(err, "scan")
		}
		out = append(out, s)
	}
	return out, wharf.Wrap(rows.Err(), "scan")
}

// RepositoryBlobSize returns the size of blob digest if repository repoID
// may serve it. NotFound otherwise.
func (db *Registry) RepositoryBlobSize(ctx context.Context, repoID int64, digest string) (int64, error) {
	var size int64
	err := db.sql.QueryRowContext(ctx, `SELECT b.size FROM repository_blob rb JOIN blob b ON b.digest = rb.digest
		WHERE rb.repository_id = $1 AND rb.digest = $2`, repoID, digest).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, wharf.Errorf(wharf.NotFound, "blob unknown to repository")
	}
	return size, wharf.Wrap(err, "load blob")
}

// BlobSize returns the size of a stored blob. NotFound if none.
func (db *Registry) BlobSize(ctx context.Context, digest string) (int64, error) {
	var size int64
	err := db.sql.QueryRowContext(ctx, `SELECT size FROM blob WHERE digest = $1`, digest).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, wharf.Errorf(wharf.NotFound, "blob unknown")
	}
	return size, wharf.Wrap(err, "load blob")
}

// LinkBlob records that blob l.Digest (of l.Size bytes, already in
// storage) may be served by repository l.RepositoryID, charging the
// namespace for it when none of its repositories had it; a completed
// upload's session and reservation go in the same transaction. QuotaExceeded
// when the charge would take the namespace past its Reject limit (then
// nothing is linked and the upload stays); quota_warning entries for the
// Warning thresholds it crosses.
func (db *Registry) LinkBlob(ctx context.Context, l wharf.BlobLink) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		ns, err := repositoryNamespaceAccount(ctx, tx, l.RepositoryID)
		if err != nil {
			return err
		}
		limits, err := namespaceLimits(ctx, tx, ns.ID, l.DefaultReject)
		if err != nil {
			return err
		}
		if err := db.lockNamespaceGrowth(ctx, tx, ns.ID, limits.Limited()); err != nil {
			return err
		}
		now := micros(db.now())
		if !l.Mount {
			if _, err := tx.ExecContext(ctx, `INSERT INTO blob (digest, size, created_at) VALUES ($1, $2, $3)
				ON CONFLICT (digest) DO NOTHING`, l.Digest, l.Size, now); err != nil {
				return wharf.Wrap(err, "record blob")
			}
		}
		// The reference made below must not go to a blob being collected.
		if err := db.lockLiveBlob(ctx, tx, l.Digest); err != nil {
			return err
		}
		// One more push that may PUT a manifest referencing the blob here.
		if _, err := tx.ExecContext(ctx, `INSERT INTO pending_link (repository_id, digest, since, uploads) VALUES ($1, $2, $3, 1)
			ON CONFLICT (repository_id, digest) DO UPDATE SET since = excluded.since, uploads = pending_link.uploads + 1`,
			l.RepositoryID, l.Digest, now); err != nil {
			return wharf.Wrap(err, "record pending link")
		}
		if l.UploadID != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM upload WHERE id = $1`, l.UploadID); err != nil {
				return wharf.Wrap(err, "end upload")
			}
		}
		added, err := linkBlob(ctx, tx, ns.ID, l.RepositoryID, l.Digest, l.Size, now)
		if err != nil || added == 0 {
			return err
		}
		usage, charged, err := namespaceCharge(ctx, tx, ns.ID)
		if err != nil {
			return err
		}
		if err := limits.Admit(ns.Name, charged, added); err != nil {
			return err
		}
		if err := addUsage(ctx, tx, ns.ID, added); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, limits.Warnings(l.Caller, ns, usage, usage+added))
	})
}

// repositoryNamespaceAccount returns the namespace (id and name) of
// repository repoID.
func repositoryNamespaceAccount(ctx context.Context, tx *sql.Tx, repoID int64) (*wharf.Account, error) {
	var ns wharf.Account
	err := tx.QueryRowContext(ctx, `SELECT a.id, a.name FROM repository r JOIN account a ON a.id = r.namespace_id
		WHERE r.id = $1`, repoID).Scan(&ns.ID, &ns.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errRepoNotFound
	}
	return &ns, wharf.Wrap(err, "load namespace")
}

// UnlinkBlob removes blob digest from repository repoID, releasing its
// usage when no other repository of the namespace has it. NotFound if not
// linked.
func (db *Registry) UnlinkBlob(ctx context.Context, repoID int64, digest string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		nsID, err := repositoryNamespace(ctx, tx, repoID)
		if err != nil {
			return err
		}
		if err := db.lockNamespaceGrowth(ctx, tx, nsID, true); err != nil {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM repository_blob WHERE repository_id = $1 AND digest = $2`, repoID, digest).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return wharf.Errorf(wharf.NotFound, "blob unknown to repository")
		}
		if err != nil {
			return wharf.Wrap(err, "load blob link")
		}
		return db.unlinkBlobs(ctx, tx, nsID, repoID, []string{digest})
	})
}

const manifestColumns = `id, repository_id, digest, media_type, artifact_type, subject_digest, annotations, size, content, created_at`

func scanManifest(row rowScanner) (*wharf.Manifest, error) {
	var m wharf.Manifest
	var subject sql.NullString
	var annotations string
	var created int64
	if err := row.Scan(&m.ID, &m.RepositoryID, &m.Digest, &m.MediaType, &m.ArtifactType, &subject, &annotations,
		&m.Size, &m.Content, &created); err != nil {
		return nil, err
	}
	m.SubjectDigest = subject.String
	m.CreatedAt = fromMicros(created)
	if annotations != "" {
		if err := json.Unmarshal([]byte(annotations), &m.Annotations); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

var errManifestNotFound = wharf.Errorf(wharf.NotFound, "manifest unknown")

// ManifestByDigest returns repoID's manifest digest. NotFound if none.
func (db *Registry) ManifestByDigest(ctx context.Context, repoID int64, digest string) (*wharf.Manifest, error) {
	m, err := scanManifest(db.sql.QueryRowContext(ctx, `SELECT `+manifestColumns+` FROM manifest
		WHERE repository_id = $1 AND digest = $2`, repoID, digest))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errManifestNotFound
	}
	return m, wharf.Wrap(err, "load manifest")
}

// ManifestByTag returns the manifest repoID's tag points to. NotFound if none.
func (db *Registry) ManifestByTag(ctx context.Context, repoID int64, tag string) (*wharf.Manifest, error) {
	m, err := scanManifest(db.sql.QueryRowContext(ctx, manifestByTagQuery, repoID, tag))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errManifestNotFound
	}
	return m, wharf.Wrap(err, "load manifest")
}

// manifestByTagQuery is built once: a manifest GET by tag runs it on every
// request.
var manifestByTagQuery = `SELECT ` + prefixed("m.", manifestColumns) + ` FROM tag t
	JOIN manifest m ON m.id = t.manifest_id WHERE t.repository_id = $1 AND t.name = $2`

func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// ReferencedBlobs calls fn with every blob a repository links or a manifest
// references, in digest order.
func (db *Registry) ReferencedBlobs(ctx context.Context, fn func(digest string, size int64) error) error {
	rows, err := db.sql.QueryContext(ctx, `SELECT b.digest, b.size FROM blob b WHERE
		EXISTS (SELECT 1 FROM repository_blob rb WHERE rb.digest = b.digest) OR
		EXISTS (SELECT 1 FROM manifest_blob mb WHERE mb.digest = b.digest) ORDER BY b.digest`)
	if err != nil {
		return wharf.Wrap(err, "list blobs")
	}
	defer rows.Close()
	for rows.Next() {
		var d string
		var size int64
		if err := rows.Scan(&d, &size); err != nil {
			return wharf.Wrap(err, "scan blob")
		}
		if err := fn(d, size); err != nil {
			return err
		}
	}
	return wharf.Wrap(rows.Err(), "list blobs")
}

// RepositoriesWithBlob returns up to limit repositories ("namespace/name")
// that link blob digest, public ones first.
func (db *Registry) RepositoriesWithBlob(ctx context.Context, digest string, limit int) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT a.name || '/' || r.name FROM repository_blob rb
		JOIN repository r ON r.id = rb.repository_id JOIN account a ON a.id = r.namespace_id
		WHERE rb.digest = $1 ORDER BY CASE WHEN r.visibility = 'public' THEN 0 ELSE 1 END, r.id LIMIT $2`, digest, limit)
	if err != nil {
		return nil, wharf.Wrap(err, "find blob repositories")
	}
	return scanStrings(rows)
}
