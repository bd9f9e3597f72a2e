package db

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// startTagLifetime opens tag name's history row: it points at digest from now.
func startTagLifetime(ctx context.Context, tx *sql.Tx, repoID int64, name, digest string, now int64, reversion bool) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tag_history (repository_id, name, manifest_digest, started_at, reversion)
		VALUES ($1, $2, $3, $4, $5)`, repoID, name, digest, now, reversion)
	return wharf.Wrap(err, "record tag lifetime")
}

// endTagLifetime closes tag name's open history row at at.
func endTagLifetime(ctx context.Context, tx *sql.Tx, repoID int64, name string, at int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE tag_history SET ended_at = $3 WHERE repository_id = $1 AND name = $2 AND ended_at IS NULL`,
		repoID, name, at)
	return wharf.Wrap(err, "end tag lifetime")
}

// aliveTagged is the condition that manifest row m is referenced by an
// alive tag of its repository, or is listed by an index that is; $1 is now.
const aliveTagged = `(EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = m.id AND (t.expires_at IS NULL OR t.expires_at > $1))
	OR EXISTS (SELECT 1 FROM manifest_child c JOIN manifest p ON p.id = c.manifest_id JOIN tag t ON t.manifest_id = p.id
		WHERE p.repository_id = m.repository_id AND c.child_digest = m.digest AND (t.expires_at IS NULL OR t.expires_at > $1)))`

// likePattern escapes s for LIKE … ESCAPE '\' as a substring match.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// TagHistory returns a page of repoID's tag history, newest lifetime
// first (then by name), and whether more rows follow.
func (db *Registry) TagHistory(ctx context.Context, repoID int64, q wharf.TagQuery) ([]wharf.TagLifetime, bool, error) {
	where := []string{"h.repository_id = $1"}
	args := []any{repoID}
	if q.Name != "" {
		args = append(args, q.Name)
		where = append(where, "h.name = $"+strconv.Itoa(len(args)))
	}
	if q.Contains != "" {
		args = append(args, likePattern(q.Contains))
		where = append(where, `LOWER(h.name) LIKE $`+strconv.Itoa(len(args))+` ESCAPE '\'`)
	}
	if q.OnlyActive {
		args = append(args, micros(db.now()))
		n := strconv.Itoa(len(args))
		where = append(where, "h.ended_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $"+n+")")
	}
	args = append(args, q.Limit+1, q.Limit*(q.Page-1))
	query := `SELECT h.name, h.manifest_digest, h.started_at, COALESCE(h.ended_at, t.expires_at), h.reversion, m.media_type, m.content
		FROM tag_history h
		LEFT JOIN tag t ON h.ended_at IS NULL AND t.repository_id = h.repository_id AND t.name = h.name
		LEFT JOIN manifest m ON m.repository_id = h.repository_id AND m.digest = h.manifest_digest
		WHERE ` + strings.Join(where, " AND ") + ` ORDER BY h.started_at DESC, h.name
		LIMIT $` + strconv.Itoa(len(args)-1) + ` OFFSET $` + strconv.Itoa(len(args))
	var out []wharf.TagLifetime
	err := db.eachRow(ctx, query, args, func(rows *sql.Rows) error {
		var l wharf.TagLifetime
		var start int64
		var end sql.NullInt64
		var mediaType sql.NullString
		if err := rows.Scan(&l.Name, &l.ManifestDigest, &start, &end, &l.Reversion, &mediaType, &l.Content); err != nil {
			return err
		}
		l.Start, l.MediaType = fromMicros(start), mediaType.String
		if end.Valid {
			t := fromMicros(end.Int64)
			l.End = &t
		}
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, false, wharf.Wrap(err, "list tag history")
	}
	more := len(out) > q.Limit
	if more {
		out = out[:q.Limit]
	}
	return out, more, nil
}

var errTagNotFound = wharf.Errorf(wharf.NotFound, "Not Found")

// AliveTag returns repoID's alive tag name as its current lifetime.
// NotFound if there is none (never created, deleted or expired).
func (db *Registry) AliveTag(ctx context.Context, repoID int64, name string) (wharf.TagLifetime, error) {
	l := wharf.TagLifetime{Name: name}
	var start int64
	var expires sql.NullInt64
	err := db.sql.QueryRowContext(ctx, `SELECT m.digest, h.started_at, t.expires_at FROM tag t
		JOIN manifest m ON m.id = t.manifest_id
		JOIN tag_history h ON h.repository_id = t.repository_id AND h.name = t.name AND h.ended_at IS NULL
		WHERE t.repository_id = $1 AND t.name = $2 AND (t.expires_at IS NULL OR t.expires_at > $3)`,
		repoID, name, micros(db.now())).Scan(&l.ManifestDigest, &start, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return l, errTagNotFound
	}
	if err != nil {
		return l, wharf.Wrap(err, "load tag")
	}
	l.Start = fromMicros(start)
	if expires.Valid {
		t := fromMicros(expires.Int64)
		l.End = &t
	}
	return l, nil
}

// SetTagExpiration sets (nil: clears) the expiration of repoID's alive tag
// name, provided its current lifetime is still the one that started at
// started, with entries. The Conflict of wharf.Changed when the tag moved
// or went since the caller read it.
func (db *Registry) SetTagExpiration(ctx context.Context, repoID int64, name string, started time.Time, expires *time.Time,
	entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM tag WHERE repository_id = $1 AND name = $2`+db.forUpdate(), repoID, name).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return wharf.Changed("The tag")
		}
		if err != nil {
			return wharf.Wrap(err, "lock tag")
		}
		var start int64
		err = tx.QueryRowContext(ctx, `SELECT started_at FROM tag_history WHERE repository_id = $1 AND name = $2 AND ended_at IS NULL`,
			repoID, name).Scan(&start)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && start != micros(started)) {
			return wharf.Changed("The tag")
		}
		if err != nil {
			return wharf.Wrap(err, "load tag lifetime")
		}
		var at any
		if expires != nil {
			at = micros(*expires)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tag SET expires_at = $1 WHERE repository_id = $2 AND name = $3`, at, repoID, name); err != nil {
			return wharf.Wrap(err, "set tag expiration")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// MoveTag points mv.Tag at manifest mv.Digest and returns the digest it
// pointed at before ("" for a new tag). The manifest must be in the
// repository (NotFound otherwise) and, for a plain move, referenced by an
// alive tag or listed by an index that is (NotFound otherwise: a dead
// manifest comes back only by a restore). A restore (mv.Reversion) needs
// the manifest alive or tagged within the namespace's time-machine window
// (tag_expiration_s), else Invalid naming the window.
func (db *Registry) MoveTag(ctx context.Context, mv wharf.TagMove) (string, error) {
	var previous string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := micros(db.now())
		m := &wharf.Manifest{RepositoryID: mv.Repository.ID, Digest: mv.Digest}
		// Locked: the collector of untagged manifests re-checks it under
		// the same lock, so it cannot go between this check and the tag.
		err := tx.QueryRowContext(ctx, `SELECT id FROM manifest WHERE repository_id = $1 AND digest = $2`+db.forUpdate(),
			m.RepositoryID, m.Digest).Scan(&m.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return errManifestNotFound
		}
		if err != nil {
			return wharf.Wrap(err, "load manifest")
		}
		var alive, inWindow bool
		var window int64
		err = tx.QueryRowContext(ctx, `SELECT `+aliveTagged+`, a.tag_expiration_s,
			EXISTS (SELECT 1 FROM tag_history h WHERE h.repository_id = m.repository_id AND h.manifest_digest = m.digest
				AND h.ended_at >= $1 - a.tag_expiration_s * 1000000)
			FROM manifest m JOIN repository r ON r.id = m.repository_id JOIN account a ON a.id = r.namespace_id
			WHERE m.id = $2`, now, m.ID).Scan(&alive, &window, &inWindow)
		if err != nil {
			return wharf.Wrap(err, "check manifest")
		}
		switch {
		case alive:
		case !mv.Reversion:
			return errManifestNotFound
		case !inWindow:
			return wharf.Errorf(wharf.Invalid, "manifest %s was not tagged within the namespace's time machine window of %d seconds",
				mv.Digest, window)
		}
		if previous, err = db.pointTag(ctx, tx, m, mv.Tag, mv.Reversion); err != nil {
			return err
		}
		if previous == mv.Digest && !mv.Reversion {
			return nil
		}
		return db.appendLogs(ctx, tx, mv.Entries(previous))
	})
	return previous, err
}

// AliveManifest returns repoID's manifest digest when an alive tag
// references it or lists it (an index's child). NotFound otherwise.
func (db *Registry) AliveManifest(ctx context.Context, repoID int64, digest string) (*wharf.Manifest, error) {
	m, err := scanManifest(db.sql.QueryRowContext(ctx, `SELECT `+prefixed("m.", manifestColumns)+` FROM manifest m
		WHERE m.repository_id = $2 AND m.digest = $3 AND `+aliveTagged, micros(db.now()), repoID, digest))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errManifestNotFound
	}
	return m, wharf.Wrap(err, "load manifest")
}

// ExpireTags ends up to limit alive tags whose expiration has passed, as
// a delete at their expiration would have (the time machine counts from
// it), and returns how many.
func (db *Registry) ExpireTags(ctx context.Context, limit int) (int, error) {
	type due struct {
		repoID int64
		name   string
	}
	var found []due
	err := db.eachRow(ctx, `SELECT repository_id, name FROM tag WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2`,
		[]any{micros(db.now()), limit}, func(rows *sql.Rows) error {
			var d due
			if err := rows.Scan(&d.repoID, &d.name); err != nil {
				return err
			}
			found = append(found, d)
			return nil
		})
	if err != nil {
		return 0, wharf.Wrap(err, "find expired tags")
	}
	expired := 0
	for _, d := range found {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var manifestID, at int64
			err := tx.QueryRowContext(ctx, `DELETE FROM tag WHERE repository_id = $1 AND name = $2 AND expires_at <= $3
				RETURNING manifest_id, expires_at`, d.repoID, d.name, micros(db.now())).Scan(&manifestID, &at)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // moved or deleted meanwhile
			}
			if err != nil {
				return wharf.Wrap(err, "expire tag")
			}
			expired++
			if err := endTagLifetime(ctx, tx, d.repoID, d.name, at); err != nil {
				return err
			}
			return markIfUntagged(ctx, tx, manifestID, at)
		})
		if err != nil {
			return expired, err
		}
	}
	return expired, nil
}
