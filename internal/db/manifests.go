package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// PutManifest stores a manifest in its repository and, when a tag is given,
// points the tag at it — one transaction, so the tag's previous target is
// read from its real state at that moment. Every blob the manifest
// references must be linked to the repository and every child manifest
// stored in it; otherwise NotFound names the first one missing. A manifest
// adds no usage: its blobs were charged when they were linked. Refused,
// nothing is written.
func (db *Registry) PutManifest(ctx context.Context, put wharf.ManifestPush) error {
	m := put.Manifest
	return db.inTx(ctx, func(tx *sql.Tx) error {
		nsID, err := repositoryNamespace(ctx, tx, m.RepositoryID)
		if err != nil {
			return err
		}
		// Shared: links the manifest references cannot be removed under it.
		if err := db.lockNamespaceGrowth(ctx, tx, nsID, false); err != nil {
			return err
		}
		if err := checkReferences(ctx, tx, m); err != nil {
			return err
		}
		added, err := db.insertManifest(ctx, tx, m)
		if err != nil {
			return err
		}
		if err := consumeUploads(ctx, tx, m); err != nil {
			return err
		}
		if added && put.Tag == "" {
			// Pushed by digest: untagged from the start (Quay gives it a
			// temporary tag; CollectUntaggedManifests honours it).
			if _, err := tx.ExecContext(ctx, `UPDATE manifest SET untagged_at = created_at WHERE id = $1`, m.ID); err != nil {
				return wharf.Wrap(err, "mark manifest untagged")
			}
		}
		previous := ""
		if put.Tag != "" {
			if previous, err = db.pointTag(ctx, tx, m, put.Tag, false); err != nil {
				return err
			}
		}
		return db.appendLogs(ctx, tx, put.Entries(previous))
	})
}

// pointTag points tag at m and returns the digest it pointed at before
// ("" when the tag is new); the tag's history gets a new lifetime
// (reversion: started by a restore) and the old one ends. The tag's
// existence is decided by the insert itself: two transactions creating
// the same tag cannot both see it missing, because the second insert
// waits for the first and then conflicts; an existing row is locked
// before it is read and moved.
func (db *Registry) pointTag(ctx context.Context, tx *sql.Tx, m *wharf.Manifest, tag string, reversion bool) (string, error) {
	now := micros(db.now())
	if _, err := tx.ExecContext(ctx, `UPDATE manifest SET untagged_at = NULL WHERE id = $1 AND untagged_at IS NOT NULL`, m.ID); err != nil {
		return "", wharf.Wrap(err, "mark manifest tagged")
	}
	var name string
	err := tx.QueryRowContext(ctx, `INSERT INTO tag (repository_id, name, manifest_id, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repository_id, name) DO NOTHING RETURNING name`, m.RepositoryID, tag, m.ID, now).Scan(&name)
	if err == nil {
		return "", startTagLifetime(ctx, tx, m.RepositoryID, tag, m.Digest, now, reversion)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", wharf.Wrap(err, "create tag")
	}
	// Lock the tag row alone, then read what it points at: under READ
	// COMMITTED a locking read that joins would re-check the join against
	// its old snapshot after waiting, and lose a row another transaction
	// just moved to a manifest that snapshot cannot see.
	var previousID int64
	err = tx.QueryRowContext(ctx, `SELECT manifest_id FROM tag WHERE repository_id = $1 AND name = $2`+db.forUpdate(),
		m.RepositoryID, tag).Scan(&previousID)
	if err != nil {
		return "", wharf.Wrap(err, "lock tag")
	}
	var previous string
	if err := tx.QueryRowContext(ctx, `SELECT digest FROM manifest WHERE id = $1`, previousID).Scan(&previous); err != nil {
		return "", wharf.Wrap(err, "load tag target")
	}
	if previousID != m.ID || reversion {
		if _, err := tx.ExecContext(ctx, `UPDATE tag SET manifest_id = $1, updated_at = $2, expires_at = NULL
			WHERE repository_id = $3 AND name = $4`, m.ID, now, m.RepositoryID, tag); err != nil {
			return "", wharf.Wrap(err, "move tag")
		}
		if err := endTagLifetime(ctx, tx, m.RepositoryID, tag, now); err != nil {
			return "", err
		}
		if err := startTagLifetime(ctx, tx, m.RepositoryID, tag, m.Digest, now, reversion); err != nil {
			return "", err
		}
		if err := markIfUntagged(ctx, tx, previousID, now); err != nil {
			return "", err
		}
	}
	return previous, nil
}

// markIfUntagged records when manifest id lost its last tag, which starts
// its namespace's tag-expiration clock.
func markIfUntagged(ctx context.Context, tx *sql.Tx, id, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE manifest SET untagged_at = $1 WHERE id = $2
		AND NOT EXISTS (SELECT 1 FROM tag WHERE manifest_id = $2)`, now, id)
	return wharf.Wrap(err, "mark manifest untagged")
}

// consumeUploads counts m's PUT as the end of one push of each blob it
// references (pending_link.uploads): the pushes still counted are those a
// manifest deletion must not unlink from under (unreferencedBlobs).
func consumeUploads(ctx context.Context, tx *sql.Tx, m *wharf.Manifest) error {
	for _, d := range m.Blobs {
		if _, err := tx.ExecContext(ctx, `UPDATE pending_link SET uploads = uploads - 1
			WHERE repository_id = $1 AND digest = $2 AND uploads > 0`, m.RepositoryID, d); err != nil {
			return wharf.Wrap(err, "end pending push")
		}
	}
	return nil
}

func checkReferences(ctx context.Context, tx *sql.Tx, m *wharf.Manifest) error {
	for _, d := range m.Blobs {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM repository_blob WHERE repository_id = $1 AND digest = $2`, m.RepositoryID, d).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return wharf.Errorf(wharf.NotFound, "blob %s is not in the repository", d)
		}
		if err != nil {
			return wharf.Wrap(err, "check blob")
		}
	}
	for _, d := range m.Children {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM manifest WHERE repository_id = $1 AND digest = $2`, m.RepositoryID, d).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return wharf.Errorf(wharf.NotFound, "manifest %s is not in the repository", d)
		}
		if err != nil {
			return wharf.Wrap(err, "check manifest")
		}
	}
	return nil
}

// insertManifest stores m unless the repository has it already, and
// reports whether it was new.
func (db *Registry) insertManifest(ctx context.Context, tx *sql.Tx, m *wharf.Manifest) (bool, error) {
	annotations := ""
	if len(m.Annotations) > 0 {
		b, err := json.Marshal(m.Annotations)
		if err != nil {
			return false, wharf.Wrap(err, "encode annotations")
		}
		annotations = string(b)
	}
	m.CreatedAt = db.now().UTC()
	err := tx.QueryRowContext(ctx, `INSERT INTO manifest (repository_id, digest, media_type, artifact_type, subject_digest,
		annotations, size, content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (repository_id, digest) DO NOTHING RETURNING id`,
		m.RepositoryID, m.Digest, m.MediaType, m.ArtifactType, nullString(m.SubjectDigest), annotations, m.Size, m.Content,
		micros(m.CreatedAt)).Scan(&m.ID)
	if errors.Is(err, sql.ErrNoRows) {
		// Same content pushed again: the stored row already has its references.
		err = tx.QueryRowContext(ctx, `SELECT id FROM manifest WHERE repository_id = $1 AND digest = $2`, m.RepositoryID, m.Digest).Scan(&m.ID)
		return false, wharf.Wrap(err, "load manifest")
	}
	if err != nil {
		return false, wharf.Wrap(err, "store manifest")
	}
	for _, d := range m.Blobs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO manifest_blob (manifest_id, digest) VALUES ($1, $2)
			ON CONFLICT (manifest_id, digest) DO NOTHING`, m.ID, d); err != nil {
			return false, wharf.Wrap(err, "store manifest blob")
		}
	}
	for _, d := range m.Children {
		if _, err := tx.ExecContext(ctx, `INSERT INTO manifest_child (manifest_id, child_digest) VALUES ($1, $2)
			ON CONFLICT (manifest_id, child_digest) DO NOTHING`, m.ID, d); err != nil {
			return false, wharf.Wrap(err, "store manifest child")
		}
	}
	return true, nil
}

// DeleteManifest removes d's manifest and every tag pointing at it, with
// d's entries. NotFound if the manifest is not there.
func (db *Registry) DeleteManifest(ctx context.Context, d wharf.ManifestDeletion) error {
	repoID, digest := d.Repository.ID, d.Digest
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM manifest WHERE repository_id = $1 AND digest = $2`, repoID, digest).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errManifestNotFound
		}
		if err != nil {
			return wharf.Wrap(err, "load manifest")
		}
		rows, err := tx.QueryContext(ctx, `SELECT name FROM tag WHERE manifest_id = $1 ORDER BY name`, id)
		if err != nil {
			return wharf.Wrap(err, "load tags")
		}
		tags, err := scanStrings(rows)
		if err != nil {
			return err
		}
		if err := db.deleteManifest(ctx, tx, repoID, id); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, d.Entries(tags))
	})
}

// deleteManifest deletes manifest id of repoID and unlinks the blobs no
// other manifest of the repository references, releasing their usage: a
// deleted image stops counting, and its blobs stop being served there.
func (db *Registry) deleteManifest(ctx context.Context, tx *sql.Tx, repoID, id int64) error {
	nsID, err := repositoryNamespace(ctx, tx, repoID)
	if err != nil {
		return err
	}
	if err := db.lockNamespaceGrowth(ctx, tx, nsID, true); err != nil {
		return err
	}
	blobs, err := unreferencedBlobs(ctx, tx, repoID, id)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tag_history SET ended_at = $3 WHERE repository_id = $1 AND ended_at IS NULL
		AND name IN (SELECT name FROM tag WHERE manifest_id = $2)`, repoID, id, micros(db.now())); err != nil {
		return wharf.Wrap(err, "end tag lifetimes")
	}
	// Blobs the manifest references without a link (unlinked by a blob
	// DELETE) lose their last reference here.
	if _, err := tx.ExecContext(ctx, `INSERT INTO blob_candidate (digest, since)
		SELECT mb.digest, CAST($2 AS BIGINT) FROM manifest_blob mb WHERE mb.manifest_id = $1
		AND NOT EXISTS (SELECT 1 FROM repository_blob rb WHERE rb.digest = mb.digest)
		ON CONFLICT (digest) DO UPDATE SET since = excluded.since`, id, micros(db.now())); err != nil {
		return wharf.Wrap(err, "record collection candidates")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM manifest WHERE id = $1`, id); err != nil {
		return wharf.Wrap(err, "delete manifest")
	}
	return db.unlinkBlobs(ctx, tx, nsID, repoID, blobs)
}

// DeleteTag removes repoID's tag with entries. NotFound if it does not exist.
func (db *Registry) DeleteTag(ctx context.Context, repoID int64, tag string, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var manifestID int64
		err := tx.QueryRowContext(ctx, `DELETE FROM tag WHERE repository_id = $1 AND name = $2 RETURNING manifest_id`, repoID, tag).Scan(&manifestID)
		if errors.Is(err, sql.ErrNoRows) {
			return errManifestNotFound
		}
		if err != nil {
			return wharf.Wrap(err, "delete tag")
		}
		now := micros(db.now())
		if err := endTagLifetime(ctx, tx, repoID, tag, now); err != nil {
			return err
		}
		if err := markIfUntagged(ctx, tx, manifestID, now); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// untaggedDue is the condition under which manifest m (joined with its
// namespace a) is collected, at $1 (now) for manifests pushed before $2
// (now - PUSH_TEMP_TAG_EXPIRATION_SEC): no tag points at it; its last tag
// went longer ago than the namespace's tag expiration (the time machine),
// or, pushed by digest and never tagged (untagged_at = created_at), its
// temporary push tag is over too and it is no referrer of a manifest
// still in the repository (a signature or SBOM stays with its image); and
// no index in the repository lists it.
const untaggedDue = `m.untagged_at IS NOT NULL AND m.untagged_at + a.tag_expiration_s * 1000000 <= $1
	AND (m.untagged_at > m.created_at OR (m.created_at <= $2
		AND NOT EXISTS (SELECT 1 FROM manifest s WHERE s.repository_id = m.repository_id AND s.digest = m.subject_digest)))
	AND NOT EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id)
	AND NOT EXISTS (SELECT 1 FROM manifest_child c JOIN manifest p ON p.id = c.manifest_id
		WHERE p.repository_id = m.repository_id AND c.child_digest = m.digest)`

// CollectUntaggedManifests deletes up to limit manifests that are due
// (untaggedDue: their last tag went longer ago than their namespace's tag
// expiration, or they were pushed by digest before pushedBefore and never
// tagged) and releases their usage. It returns how many it deleted.
func (db *Registry) CollectUntaggedManifests(ctx context.Context, limit int, pushedBefore time.Time) (int, error) {
	now, pushed := micros(db.now()), micros(pushedBefore)
	rows, err := db.sql.QueryContext(ctx, `SELECT m.id, m.repository_id FROM manifest m
		JOIN repository r ON r.id = m.repository_id JOIN account a ON a.id = r.namespace_id
		WHERE `+untaggedDue+` ORDER BY m.untagged_at LIMIT $3`, now, pushed, limit)
	if err != nil {
		return 0, wharf.Wrap(err, "find untagged manifests")
	}
	type candidate struct{ id, repoID int64 }
	var found []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.id, &c.repoID); err != nil {
			rows.Close()
			return 0, wharf.Wrap(err, "scan untagged manifest")
		}
		found = append(found, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, wharf.Wrap(err, "find untagged manifests")
	}
	deleted := 0
	for _, c := range found {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			// Check again under the namespace's lock and the manifest's row
			// lock: a push may have tagged it, or PUT an index listing it
			// or a manifest it refers to, since.
			nsID, err := repositoryNamespace(ctx, tx, c.repoID)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := db.lockNamespaceGrowth(ctx, tx, nsID, true); err != nil {
				return err
			}
			var id int64
			err = tx.QueryRowContext(ctx, `SELECT id FROM manifest WHERE id = $1`+db.forUpdate(), c.id).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return wharf.Wrap(err, "lock untagged manifest")
			}
			var due bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM manifest m
				JOIN repository r ON r.id = m.repository_id JOIN account a ON a.id = r.namespace_id
				WHERE m.id = $3 AND `+untaggedDue+`)`, now, pushed, c.id).Scan(&due); err != nil || !due {
				return wharf.Wrap(err, "check untagged manifest")
			}
			if err := db.deleteManifest(ctx, tx, c.repoID, c.id); err != nil {
				return err
			}
			deleted++
			return nil
		})
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// ListTags returns up to limit+1 of repoID's tag names after last, in order.
func (db *Registry) ListTags(ctx context.Context, repoID int64, last string, limit int) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT name FROM tag WHERE repository_id = $1 AND name > $2 ORDER BY name LIMIT $3`,
		repoID, last, limit+1)
	if err != nil {
		return nil, wharf.Wrap(err, "list tags")
	}
	return scanStrings(rows)
}

// Referrers returns repoID's manifests whose subject is digest, optionally
// only those of one artifact type, without their content.
func (db *Registry) Referrers(ctx context.Context, repoID int64, digest, artifactType string) ([]*wharf.Manifest, error) {
	query := `SELECT id, repository_id, digest, media_type, artifact_type, subject_digest, annotations, size, created_at
		FROM manifest WHERE repository_id = $1 AND subject_digest = $2`
	args := []any{repoID, digest}
	if artifactType != "" {
		query += ` AND artifact_type = $3`
		args = append(args, artifactType)
	}
	rows, err := db.sql.QueryContext(ctx, query+` ORDER BY id LIMIT 10000`, args...)
	if err != nil {
		return nil, wharf.Wrap(err, "list referrers")
	}
	defer rows.Close()
	var out []*wharf.Manifest
	for rows.Next() {
		var m wharf.Manifest
		var subject sql.NullString
		var annotations string
		var created int64
		if err := rows.Scan(&m.ID, &m.RepositoryID, &m.Digest, &m.MediaType, &m.ArtifactType, &subject, &annotations, &m.Size, &created); err != nil {
			return nil, wharf.Wrap(err, "scan referrer")
		}
		m.SubjectDigest, m.CreatedAt = subject.String, fromMicros(created)
		if annotations != "" {
			if err := json.Unmarshal([]byte(annotations), &m.Annotations); err != nil {
				return nil, wharf.Wrap(err, "decode annotations")
			}
		}
		out = append(out, &m)
	}
	return out, wharf.Wrap(rows.Err(), "list referrers")
}
