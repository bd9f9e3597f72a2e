package db

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Collection stores what online blob collection works on: the candidates
// (blobs that lost a reference), the pending links (uploaded or mounted,
// not yet referenced by a manifest) and a blob's doom. The protocol these
// transactions implement, and why it cannot lose a referenced blob, is in
// the documentation of package blobgc.
type Collection struct{ *base }

// errCollecting is the Conflict a push gets for a blob a collector doomed.
var errCollecting = &wharf.Error{Code: wharf.Conflict, Message: "blob is being garbage-collected; push it again",
	Err: wharf.ErrCollecting}

// enqueueCandidates records that digests lost a reference at now: the
// collector looks at them once the grace has passed since.
func enqueueCandidates(ctx context.Context, tx *sql.Tx, now int64, digests ...string) error {
	for _, d := range digests {
		if _, err := tx.ExecContext(ctx, `INSERT INTO blob_candidate (digest, since) VALUES ($1, $2)
			ON CONFLICT (digest) DO UPDATE SET since = excluded.since`, d, now); err != nil {
			return wharf.Wrap(err, "record collection candidate")
		}
	}
	return nil
}

// keyShare is the row lock a transaction that adds a reference takes on
// the blob: it conflicts with the collector's FOR UPDATE and with nothing
// else a push takes (foreign-key checks take the same), so pushes of one
// layer never wait for each other.
func (db *base) keyShare() string {
	if db.dialect == Postgres {
		return ` FOR KEY SHARE`
	}
	return ""
}

// lockLiveBlob locks blob digest's row against a doom for the rest of tx.
// NotFound when there is no row; the ErrCollecting Conflict when a
// collector doomed it.
func (db *base) lockLiveBlob(ctx context.Context, tx *sql.Tx, digest string) error {
	var doomed sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT doomed_at FROM blob WHERE digest = $1`+db.keyShare(), digest).Scan(&doomed)
	if errors.Is(err, sql.ErrNoRows) {
		return wharf.Errorf(wharf.NotFound, "blob unknown")
	}
	if err != nil {
		return wharf.Wrap(err, "lock blob")
	}
	if doomed.Valid {
		return errCollecting
	}
	return nil
}

// PinBlob makes upload uploadID, whose bytes have digest (size bytes), the
// pin of that blob: the blob's row is created if missing, and no collector
// may doom it until the upload's session ends (LinkBlob or DeleteUpload).
// The caller stores the bytes only after the pin. A doom stamped before
// staleBefore belongs to a collector that is gone (or gave up): the pin
// takes the blob back, and the caller finds out from storage whether the
// file is still there. The ErrCollecting Conflict for a fresher doom: wait
// and try again. NotFound if the upload is gone.
func (db *Registry) PinBlob(ctx context.Context, uploadID, digest string, size int64, staleBefore time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO blob (digest, size, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (digest) DO NOTHING`, digest, size, micros(db.now())); err != nil {
			return wharf.Wrap(err, "record blob")
		}
		var doomed sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT doomed_at FROM blob WHERE digest = $1`+db.keyShare(), digest).Scan(&doomed); err != nil {
			return wharf.Wrap(err, "lock blob")
		}
		if doomed.Valid {
			if doomed.Int64 >= micros(staleBefore) {
				return errCollecting
			}
			res, err := tx.ExecContext(ctx, `UPDATE blob SET doomed_at = NULL WHERE digest = $1 AND doomed_at = $2`, digest, doomed.Int64)
			if err != nil {
				return wharf.Wrap(err, "revive blob")
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errCollecting // another collector took the doom over
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE upload SET digest = $1 WHERE id = $2`, digest, uploadID)
		if err != nil {
			return wharf.Wrap(err, "pin blob")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "upload unknown")
		}
		return nil
	})
}

// DueCandidates returns up to limit candidates, in digest order after
// after, that lost their last reference at or before cutoff.
func (db *Collection) DueCandidates(ctx context.Context, cutoff time.Time, after string, limit int) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT digest FROM blob_candidate WHERE since <= $1 AND digest > $2
		ORDER BY digest LIMIT $3`, micros(cutoff), after, limit)
	if err != nil {
		return nil, wharf.Wrap(err, "list collection candidates")
	}
	return scanStrings(rows)
}

// DoomBlobs is the collector's first transaction, for a batch of
// candidates: each one still a candidate due at cutoff, whose row exists,
// that no doom fresher than staleBefore holds and that nothing references
// is doomed (stamped) and returned; the caller then deletes their files
// and calls ForgetBlobs. Candidates found referenced, or without a row,
// are dropped. On PostgreSQL rows another transaction holds locked (a
// push referencing the blob right now) are skipped, not waited for: the
// collector never waits for a push, so it cannot deadlock with one
// holding several blobs.
//
// On SQLite the batch is split into transactions of batchRows blobs, each
// holding the one write lock briefly (writegate.go), so that a push waits
// for one short step, not for a hundred blobs.
func (db *Collection) DoomBlobs(ctx context.Context, digests []string, cutoff, staleBefore time.Time) ([]wharf.BlobDoom, error) {
	var all []wharf.BlobDoom
	for part := range slices.Chunk(slices.Sorted(slices.Values(digests)), db.batchRows()) {
		dooms, err := db.doomBlobs(ctx, part, cutoff, staleBefore)
		if err != nil {
			// The parts already doomed are returned with the error, for
			// the collector to finish.
			return all, err
		}
		all = append(all, dooms...)
	}
	return all, nil
}

// batchRows is how many blobs one of the collector's transactions
// handles: on PostgreSQL a hundred (fewer commits, each an fsync, while
// the rows it locks stay few); on SQLite, whose every transaction holds
// the one write lock that pushes need too, twenty.
func (db *base) batchRows() int {
	if db.dialect == SQLite {
		return 20
	}
	return 100
}

// doomBlobs is DoomBlobs for sorted digests in one transaction.
func (db *Collection) doomBlobs(ctx context.Context, digests []string, cutoff, staleBefore time.Time) ([]wharf.BlobDoom, error) {
	var dooms []wharf.BlobDoom
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		dooms = dooms[:0]
		args := make([]any, len(digests))
		for i, d := range digests {
			args[i] = d
		}
		in := "(" + placeholderList(len(digests)) + ")"
		lock := ""
		if db.dialect == Postgres {
			lock = " FOR UPDATE OF b SKIP LOCKED"
		}
		type row struct {
			digest string
			size   int64
			doomed sql.NullInt64
		}
		var locked []row
		err := eachTxRow(ctx, tx, `SELECT b.digest, b.size, b.doomed_at FROM blob b JOIN blob_candidate c ON c.digest = b.digest
			WHERE b.digest IN `+in+` AND c.since <= $`+strconv.Itoa(len(args)+1)+` ORDER BY b.digest`+lock,
			append(args, micros(cutoff)), func(rows *sql.Rows) error {
				var r row
				if err := rows.Scan(&r.digest, &r.size, &r.doomed); err != nil {
					return err
				}
				if !r.doomed.Valid || r.doomed.Int64 < micros(staleBefore) {
					locked = append(locked, r)
				}
				return nil
			})
		if err != nil {
			return wharf.Wrap(err, "lock candidate blobs")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM blob_candidate WHERE digest IN `+in+`
			AND NOT EXISTS (SELECT 1 FROM blob b WHERE b.digest = blob_candidate.digest)`, args...); err != nil {
			return wharf.Wrap(err, "drop candidates without blobs")
		}
		if len(locked) == 0 {
			return nil
		}
		// Every statement after the lock sees what committed before it: a
		// reference made by a transaction that held a blob's row is seen.
		lockedArgs := make([]any, len(locked))
		for i, r := range locked {
			lockedArgs[i] = r.digest
		}
		lockedIn := "(" + placeholderList(len(locked)) + ")"
		rows, err := tx.QueryContext(ctx, `SELECT digest FROM repository_blob WHERE digest IN `+lockedIn+`
			UNION SELECT digest FROM manifest_blob WHERE digest IN `+lockedIn+`
			UNION SELECT digest FROM upload WHERE digest IN `+lockedIn, lockedArgs...)
		if err != nil {
			return wharf.Wrap(err, "check blob references")
		}
		refs, err := scanStrings(rows)
		if err != nil {
			return err
		}
		referenced := map[string]bool{}
		for _, d := range refs {
			referenced[d] = true
			if _, err := tx.ExecContext(ctx, `DELETE FROM blob_candidate WHERE digest = $1`, d); err != nil {
				return wharf.Wrap(err, "drop candidate")
			}
		}
		// One stamp for the batch, later than any stale doom it takes over.
		stamp := micros(db.now())
		var doomArgs []any
		for _, r := range locked {
			if !referenced[r.digest] {
				if r.doomed.Valid {
					stamp = max(stamp, r.doomed.Int64+1)
				}
				doomArgs = append(doomArgs, r.digest)
			}
		}
		if len(doomArgs) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE blob SET doomed_at = $1 WHERE digest IN (`+placeholderListFrom(2, len(doomArgs))+`)`,
			append([]any{stamp}, doomArgs...)...); err != nil {
			return wharf.Wrap(err, "doom blobs")
		}
		for _, r := range locked {
			if !referenced[r.digest] {
				dooms = append(dooms, wharf.BlobDoom{Digest: r.digest, Size: r.size, Stamp: stamp})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dooms, nil
}

// ForgetBlobs is the collector's last transaction: the doomed blobs'
// files are gone, so their rows and candidates go too, except those whose
// doom is no longer the collector's (a push took a stale doom back, or
// another collector took it over). It returns the dooms it forgot.
func (db *Collection) ForgetBlobs(ctx context.Context, dooms []wharf.BlobDoom) ([]wharf.BlobDoom, error) {
	var all []wharf.BlobDoom
	for part := range slices.Chunk(dooms, db.batchRows()) {
		forgot, err := db.forgetBlobs(ctx, part)
		all = append(all, forgot...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// forgetBlobs is ForgetBlobs in one transaction.
func (db *Collection) forgetBlobs(ctx context.Context, dooms []wharf.BlobDoom) ([]wharf.BlobDoom, error) {
	byStamp := map[int64][]wharf.BlobDoom{}
	for _, d := range dooms {
		byStamp[d.Stamp] = append(byStamp[d.Stamp], d)
	}
	var forgot []wharf.BlobDoom
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		forgot = forgot[:0]
		for stamp, group := range byStamp {
			args := []any{stamp}
			size := map[string]int64{}
			for _, d := range group {
				args = append(args, d.Digest)
				size[d.Digest] = d.Size
			}
			rows, err := tx.QueryContext(ctx, `DELETE FROM blob WHERE doomed_at = $1 AND digest IN (`+placeholderListFrom(2, len(group))+`)
				RETURNING digest`, args...)
			if err != nil {
				return wharf.Wrap(err, "forget blobs")
			}
			gone, err := scanStrings(rows)
			if err != nil {
				return err
			}
			if len(gone) == 0 {
				continue
			}
			goneArgs := make([]any, len(gone))
			for i, d := range gone {
				goneArgs[i] = d
				forgot = append(forgot, wharf.BlobDoom{Digest: d, Size: size[d], Stamp: stamp})
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM blob_candidate WHERE digest IN (`+placeholderList(len(gone))+`)`, goneArgs...); err != nil {
				return wharf.Wrap(err, "drop candidates")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err // rolled back: nothing forgotten
	}
	return forgot, nil
}

// placeholderListFrom returns "$first, …, $(first+n-1)".
func placeholderListFrom(first, n int) string {
	marks := make([]string, n)
	for i := range marks {
		marks[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(marks, ", ")
}

// HasBlob reports whether blob digest has a row (live or doomed).
func (db *Collection) HasBlob(ctx context.Context, digest string) (bool, error) {
	var yes bool
	err := db.sql.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM blob WHERE digest = $1)`, digest).Scan(&yes)
	return yes, wharf.Wrap(err, "look up blob")
}

// DoomOrphan dooms a file that no row names (the sweep found it): it
// inserts the blob's row already doomed, so that a push of the same
// digest waits while the file goes, and a candidate, so that a collector
// finishes the work if this one dies. ok is false when a row exists now.
func (db *Collection) DoomOrphan(ctx context.Context, digest string, size int64) (wharf.BlobDoom, bool, error) {
	doom := wharf.BlobDoom{Digest: digest, Size: size}
	ok := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := micros(db.now())
		res, err := tx.ExecContext(ctx, `INSERT INTO blob (digest, size, created_at, doomed_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT (digest) DO NOTHING`, digest, size, now)
		if err != nil {
			return wharf.Wrap(err, "doom orphan")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		doom.Stamp, ok = now, true
		return enqueueCandidates(ctx, tx, now, digest)
	})
	return doom, ok && err == nil, err
}

// SweepRows makes every blob that nothing references and that is no
// candidate a candidate now (a reference lost in a way that recorded
// none, such as a namespace's cascade), and returns how many.
func (db *Collection) SweepRows(ctx context.Context) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `INSERT INTO blob_candidate (digest, since)
		SELECT b.digest, CAST($1 AS BIGINT) FROM blob b
		WHERE NOT EXISTS (SELECT 1 FROM blob_candidate c WHERE c.digest = b.digest)
		AND NOT EXISTS (SELECT 1 FROM repository_blob rb WHERE rb.digest = b.digest)
		AND NOT EXISTS (SELECT 1 FROM manifest_blob mb WHERE mb.digest = b.digest)
		AND NOT EXISTS (SELECT 1 FROM upload u WHERE u.digest = b.digest)
		ON CONFLICT (digest) DO NOTHING`, micros(db.now()))
	if err != nil {
		return 0, wharf.Wrap(err, "sweep blob rows")
	}
	return res.RowsAffected()
}

// pendingLink is a link that no manifest of its repository referenced yet.
type pendingLink struct {
	repoID int64
	digest string
}

// ExpirePendingLinks unlinks up to limit links made by an upload or a
// mount before cutoff that no manifest of their repository references,
// releasing their usage (their blobs become candidates when no other
// repository of the namespace links them); links a manifest referenced
// meanwhile stop being pending. It returns how many it unlinked and how
// many it looked at.
func (db *Collection) ExpirePendingLinks(ctx context.Context, cutoff time.Time, limit int) (unlinked, seen int, err error) {
	var due []pendingLink
	err = db.eachRow(ctx, `SELECT repository_id, digest FROM pending_link WHERE since <= $1 ORDER BY since LIMIT $2`,
		[]any{micros(cutoff), limit}, func(rows *sql.Rows) error {
			due = append(due, pendingLink{})
			return rows.Scan(&due[len(due)-1].repoID, &due[len(due)-1].digest)
		})
	if err != nil {
		return 0, 0, wharf.Wrap(err, "list pending links")
	}
	for _, p := range due {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			nsID, err := repositoryNamespace(ctx, tx, p.repoID)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // the repository went, and its pending links with it
			}
			if err != nil {
				return err
			}
			// Exclusive: a manifest push holds it shared while it checks
			// the links it references, so it sees the link or not at all.
			if err := db.lockNamespaceGrowth(ctx, tx, nsID, true); err != nil {
				return err
			}
			var since int64
			err = tx.QueryRowContext(ctx, `SELECT since FROM pending_link WHERE repository_id = $1 AND digest = $2`,
				p.repoID, p.digest).Scan(&since)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && since > micros(cutoff)) {
				return nil
			}
			if err != nil {
				return wharf.Wrap(err, "load pending link")
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM pending_link WHERE repository_id = $1 AND digest = $2`,
				p.repoID, p.digest); err != nil {
				return wharf.Wrap(err, "drop pending link")
			}
			var used bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM manifest_blob mb JOIN manifest m ON m.id = mb.manifest_id
				WHERE m.repository_id = $1 AND mb.digest = $2)`, p.repoID, p.digest).Scan(&used); err != nil {
				return wharf.Wrap(err, "check link use")
			}
			if used {
				return nil
			}
			unlinked++
			return db.unlinkBlobs(ctx, tx, nsID, p.repoID, []string{p.digest})
		})
		if err != nil {
			return unlinked, seen, err
		}
		seen++
	}
	return unlinked, seen, nil
}

// Plan calls fn with what a collection at these cutoffs would remove now,
// without changing anything: each pending link it would unlink ("link",
// repository id, digest, size) and each candidate blob it would delete
// ("blob", 0, digest, size).
func (db *Collection) Plan(ctx context.Context, cutoff, linkCutoff time.Time, fn func(kind string, repoID int64, digest string, size int64) error) error {
	err := db.eachRow(ctx, `SELECT p.repository_id, p.digest, b.size FROM pending_link p JOIN blob b ON b.digest = p.digest
		WHERE p.since <= $1 AND NOT EXISTS (SELECT 1 FROM manifest_blob mb JOIN manifest m ON m.id = mb.manifest_id
			WHERE m.repository_id = p.repository_id AND mb.digest = p.digest) ORDER BY p.digest`,
		[]any{micros(linkCutoff)}, func(rows *sql.Rows) error {
			var repoID, size int64
			var d string
			if err := rows.Scan(&repoID, &d, &size); err != nil {
				return err
			}
			return fn("link", repoID, d, size)
		})
	if err != nil {
		return wharf.Wrap(err, "plan link expiry")
	}
	err = db.eachRow(ctx, `SELECT c.digest, b.size FROM blob_candidate c JOIN blob b ON b.digest = c.digest
		WHERE c.since <= $1
		AND NOT EXISTS (SELECT 1 FROM repository_blob rb WHERE rb.digest = c.digest)
		AND NOT EXISTS (SELECT 1 FROM manifest_blob mb WHERE mb.digest = c.digest)
		AND NOT EXISTS (SELECT 1 FROM upload u WHERE u.digest = c.digest) ORDER BY c.digest`,
		[]any{micros(cutoff)}, func(rows *sql.Rows) error {
			var size int64
			var d string
			if err := rows.Scan(&d, &size); err != nil {
				return err
			}
			return fn("blob", 0, d, size)
		})
	return wharf.Wrap(err, "plan blob collection")
}
