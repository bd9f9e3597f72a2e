package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Builds stores build requests, the build queue with its worker leases,
// build logs and the user files that hold uploaded build contexts.
type Builds struct{ *base }

// The build queue lives in the build table itself (see migration 0006): a
// build is queued while its phase is waiting; a worker claims it by writing
// its name and a lease; every later write by the worker names the worker,
// so a worker whose lease lapsed (and whose build went to another worker,
// or was cancelled) changes nothing.

var errBuildNotFound = wharf.Errorf(wharf.NotFound, "Build not found")

// errLeaseLost is what a worker gets when it no longer holds its build.
var errLeaseLost = wharf.Errorf(wharf.Conflict, "The build is no longer held by this worker")

// terminalPhases lists, for SQL, the phases wharf.TerminalPhase reports:
// a build in one of them is over and changes no more.
const terminalPhases = `'complete', 'error', 'internalerror', 'cancelled'`

const buildColumns = `b.id, b.uuid, ` + repositoryColumns + `, b.phase, b.display_name, b.resource_key, b.job_config,
	COALESCE(b.pull_robot_name, ''), b.pull_robot_id, b.manual_user_id, b.started, b.phase_changed_at, b.completed_at,
	b.error, b.retries_remaining, b.worker, b.lease_until, b.heartbeat`

const buildFrom = ` FROM build b JOIN repository r ON r.id = b.repository_id JOIN account a ON a.id = r.namespace_id `

func scanBuild(row rowScanner) (*wharf.Build, error) {
	var b wharf.Build
	var created, started, phaseAt int64
	var resource, errMsg, worker sql.NullString
	var pullRobot, manual, completed, lease, heartbeat, mirror sql.NullInt64
	var job string
	r := &b.Repository
	if err := row.Scan(&b.ID, &b.UUID, &r.ID, &r.NamespaceID, &r.Namespace, &r.Name, &r.Visibility, &r.Description, &created, &r.State, &mirror, &r.BadgeToken,
		&b.Phase, &b.DisplayName, &resource, &job, &b.PullRobot, &pullRobot, &manual, &started, &phaseAt, &completed,
		&errMsg, &b.RetriesRemaining, &worker, &lease, &heartbeat); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(job), &b.Job); err != nil {
		return nil, fmt.Errorf("build %s job config: %w", b.UUID, err)
	}
	r.CreatedAt, r.MirrorRobotID = fromMicros(created), mirror.Int64
	b.ResourceKey, b.Error, b.Worker = resource.String, errMsg.String, worker.String
	b.PullRobotID, b.ManualUserID = pullRobot.Int64, manual.Int64
	b.Started, b.PhaseChangedAt = fromMicros(started), fromMicros(phaseAt)
	if completed.Valid {
		b.CompletedAt = fromMicros(completed.Int64)
	}
	if lease.Valid {
		b.LeaseUntil = fromMicros(lease.Int64)
	}
	if heartbeat.Valid {
		b.Heartbeat = fromMicros(heartbeat.Int64)
	}
	return &b, nil
}

// CreateUserFile records a file about to be uploaded.
func (db *Builds) CreateUserFile(ctx context.Context, f *wharf.UserFile) error {
	f.CreatedAt, f.Size = db.now().UTC(), -1
	_, err := db.sql.ExecContext(ctx, `INSERT INTO user_file (uuid, mime_type, storage_key, uploader_id, created_at)
		VALUES ($1, $2, $3, $4, $5)`, f.UUID, f.MimeType, f.StorageKey, nullID(f.UploaderID), micros(f.CreatedAt))
	return wharf.Wrap(err, "create user file")
}

// UserFile returns the user file uuid. NotFound if there is none.
func (db *Builds) UserFile(ctx context.Context, uuid string) (*wharf.UserFile, error) {
	var f wharf.UserFile
	var uploader, size, uploaded sql.NullInt64
	var sum sql.NullString
	var created int64
	err := db.sql.QueryRowContext(ctx, `SELECT uuid, mime_type, storage_key, uploader_id, created_at, size, sha256, uploaded_at
		FROM user_file WHERE uuid = $1`, uuid).Scan(&f.UUID, &f.MimeType, &f.StorageKey, &uploader, &created, &size, &sum, &uploaded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "File %s could not be found or is invalid", uuid)
	}
	if err != nil {
		return nil, wharf.Wrap(err, "load user file")
	}
	f.UploaderID, f.CreatedAt, f.Size, f.SHA256 = uploader.Int64, fromMicros(created), -1, sum.String
	if size.Valid {
		f.Size, f.UploadedAt = size.Int64, fromMicros(uploaded.Int64)
	}
	return &f, nil
}

// CompleteUserFile records that uuid's content was stored at storageKey.
// Conflict when the file was already uploaded: user files never change,
// and of two concurrent uploads exactly one completes.
func (db *Builds) CompleteUserFile(ctx context.Context, uuid, storageKey string, size int64, sha256 string) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE user_file SET storage_key = $1, size = $2, sha256 = $3, uploaded_at = $4
		WHERE uuid = $5 AND size IS NULL`, storageKey, size, sha256, micros(db.now()), uuid)
	if err != nil {
		return wharf.Wrap(err, "complete user file")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		if _, err := db.UserFile(ctx, uuid); err != nil {
			return err
		}
		return wharf.Errorf(wharf.Conflict, "File %s was already uploaded", uuid)
	}
	return nil
}

// CreateBuild queues b (phase waiting) with its first log entry and the
// action-log entries that describe the request. With maxQueued > 0 it
// refuses (TooManyRequests) a build of a namespace that has that many
// unfinished builds.
func (db *Builds) CreateBuild(ctx context.Context, b *wharf.Build, maxQueued int, entries ...wharf.LogEntry) error {
	job, err := json.Marshal(b.Job)
	if err != nil {
		return wharf.Wrap(err, "encode job config")
	}
	now := db.now().UTC()
	b.Phase, b.Started, b.PhaseChangedAt = wharf.PhaseWaiting, now, now
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if maxQueued > 0 {
			var n int
			err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM build b JOIN repository r ON r.id = b.repository_id
				WHERE r.namespace_id = $1 AND b.phase NOT IN (`+terminalPhases+`)`,
				b.Repository.NamespaceID).Scan(&n)
			if err != nil {
				return wharf.Wrap(err, "count queued builds")
			}
			if n >= maxQueued {
				return wharf.Errorf(wharf.TooManyRequests, "Maximum queued build rate exceeded.")
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO build (uuid, repository_id, phase, display_name, resource_key, job_config,
			pull_robot_id, pull_robot_name, manual_user_id, started, phase_changed_at, retries_remaining)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) RETURNING id`,
			b.UUID, b.Repository.ID, b.Phase, b.DisplayName, nullString(b.ResourceKey), string(job),
			nullID(b.PullRobotID), nullString(b.PullRobot), nullID(b.ManualUserID), micros(now), b.RetriesRemaining).Scan(&b.ID)
		if err != nil {
			return wharf.Wrap(err, "create build")
		}
		if err := db.appendBuildLogs(ctx, tx, b.ID, phaseEntry(wharf.PhaseWaiting)); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

func phaseEntry(phase string) wharf.BuildLogEntry {
	return wharf.BuildLogEntry{Message: phase, Type: "phase", Data: map[string]any{}}
}

// BuildByUUID returns the build uuid. NotFound if there is none.
func (db *Builds) BuildByUUID(ctx context.Context, uuid string) (*wharf.Build, error) {
	b, err := scanBuild(db.sql.QueryRowContext(ctx, `SELECT `+buildColumns+buildFrom+`WHERE b.uuid = $1`, uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBuildNotFound
	}
	return b, wharf.Wrap(err, "load build")
}

// ListBuilds returns up to limit builds of a repository, newest first,
// started at or after since (zero: any time).
func (db *Builds) ListBuilds(ctx context.Context, repositoryID int64, limit int, since time.Time) ([]*wharf.Build, error) {
	var from int64
	if !since.IsZero() {
		from = micros(since)
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+buildColumns+buildFrom+`
		WHERE b.repository_id = $1 AND b.started >= $2 ORDER BY b.started DESC, b.id DESC LIMIT $3`, repositoryID, from, limit)
	if err != nil {
		return nil, wharf.Wrap(err, "list builds")
	}
	defer rows.Close()
	var out []*wharf.Build
	for rows.Next() {
		b, err := scanBuild(rows)
		if err != nil {
			return nil, wharf.Wrap(err, "list builds")
		}
		out = append(out, b)
	}
	return out, wharf.Wrap(rows.Err(), "list builds")
}

// RepositoryOfResource returns the repository that the user file uuid was
// last built in. NotFound if no build used it.
func (db *Builds) RepositoryOfResource(ctx context.Context, uuid string) (*wharf.Repository, error) {
	r, err := scanRepository(db.sql.QueryRowContext(ctx, `SELECT `+repositoryColumns+buildFrom+`
		WHERE b.resource_key = $1 ORDER BY b.id DESC LIMIT 1`, uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errRepoNotFound
	}
	return r, wharf.Wrap(err, "load repository of build file")
}

// QueuedBuilds counts the builds a worker may claim (as ClaimBuild picks
// them), for the build queue's gauge.
func (db *Builds) QueuedBuilds(ctx context.Context) (int64, error) {
	var n int64
	err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM build WHERE phase = 'waiting' AND retries_remaining > 0`).Scan(&n)
	return n, wharf.Wrap(err, "count queued builds")
}

// ClaimBuild gives the oldest waiting build to worker until now+lease and
// moves it to build-scheduled, using up one retry. It returns nil when no
// build waits. Exactly one of several concurrent callers gets each build:
// SQLite serialises writers; PostgreSQL skips rows another claim has locked.
func (db *Builds) ClaimBuild(ctx context.Context, worker string, lease time.Duration) (*wharf.Build, error) {
	pick := `SELECT id FROM build WHERE phase = 'waiting' AND retries_remaining > 0 ORDER BY id LIMIT 1`
	// Idle workers poll: a plain read first keeps them from taking
	// SQLite's write lock (or a PostgreSQL row lock) when nothing waits.
	var waiting int64
	err := db.sql.QueryRowContext(ctx, pick).Scan(&waiting)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wharf.Wrap(err, "look for queued builds")
	}
	if db.dialect == Postgres {
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	var b *wharf.Build
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		now, err := db.leaseNow(ctx, tx)
		if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRowContext(ctx, `UPDATE build SET phase = $1, worker = $2, lease_until = $3, heartbeat = $4,
			phase_changed_at = $4, retries_remaining = retries_remaining - 1
			WHERE id = (`+pick+`) AND phase = 'waiting' RETURNING id`,
			wharf.PhaseScheduled, worker, micros(now.Add(lease)), micros(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return wharf.Wrap(err, "claim build")
		}
		if err := db.appendBuildLogs(ctx, tx, id, phaseEntry(wharf.PhaseScheduled)); err != nil {
			return err
		}
		b, err = scanBuild(tx.QueryRowContext(ctx, `SELECT `+buildColumns+buildFrom+`WHERE b.id = $1`, id))
		return wharf.Wrap(err, "load claimed build")
	})
	return b, err
}

// RenewBuildLease extends worker's lease on build uuid to now+lease.
// Conflict when the worker no longer holds the build (its lease lapsed and
// the build was requeued, or the build was cancelled): it must stop.
func (db *Builds) RenewBuildLease(ctx context.Context, uuid, worker string, lease time.Duration) error {
	now, err := db.leaseNow(ctx, db.sql)
	if err != nil {
		return err
	}
	res, err := db.sql.ExecContext(ctx, `UPDATE build SET lease_until = $1, heartbeat = $2
		WHERE uuid = $3 AND worker = $4 AND phase NOT IN (`+terminalPhases+`)`,
		micros(now.Add(lease)), micros(now), uuid, worker)
	if err != nil {
		return wharf.Wrap(err, "renew build lease")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errLeaseLost
	}
	return nil
}

// SetBuildPhase moves worker's build uuid to phase (not a terminal one)
// and logs the change. Conflict when the worker no longer holds the build
// or the build may no longer change (cancelled, finished).
func (db *Builds) SetBuildPhase(ctx context.Context, uuid, worker, phase string) error {
	if wharf.TerminalPhase(phase) || phase == wharf.PhaseWaiting {
		return wharf.Wrap(fmt.Errorf("phase %q is not a running phase", phase), "set build phase")
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE build SET phase = $1, phase_changed_at = $2
			WHERE uuid = $3 AND worker = $4 AND phase NOT IN (`+terminalPhases+`)
			RETURNING id`, phase, micros(db.now()), uuid, worker).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errLeaseLost
		}
		if err != nil {
			return wharf.Wrap(err, "set build phase")
		}
		return db.appendBuildLogs(ctx, tx, id, phaseEntry(phase))
	})
}

// FinishBuild ends worker's build uuid in a terminal phase with its error
// text (empty on success), logging the phase, the error and entries.
// Conflict when the worker no longer holds the build.
func (db *Builds) FinishBuild(ctx context.Context, uuid, worker, phase, errMsg string, entries ...wharf.LogEntry) error {
	if !wharf.TerminalPhase(phase) {
		return wharf.Wrap(fmt.Errorf("phase %q is not terminal", phase), "finish build")
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE build SET phase = $1, phase_changed_at = $2, completed_at = $2, error = $3,
			worker = NULL, lease_until = NULL
			WHERE uuid = $4 AND worker = $5 AND phase NOT IN (`+terminalPhases+`)
			RETURNING id`, phase, micros(db.now()), nullString(errMsg), uuid, worker).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errLeaseLost
		}
		if err != nil {
			return wharf.Wrap(err, "finish build")
		}
		logs := []wharf.BuildLogEntry{phaseEntry(phase)}
		if errMsg != "" {
			logs = append([]wharf.BuildLogEntry{{Message: errMsg, Type: "error", Data: map[string]any{}}}, logs...)
		}
		if err := db.appendBuildLogs(ctx, tx, id, logs...); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// ReleaseBuild puts worker's build uuid back in the queue (a worker shutting
// down), giving back the retry its claim used. Conflict when the worker no
// longer holds the build.
func (db *Builds) ReleaseBuild(ctx context.Context, uuid, worker string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE build SET phase = 'waiting', phase_changed_at = $1, worker = NULL,
			lease_until = NULL, retries_remaining = retries_remaining + 1
			WHERE uuid = $2 AND worker = $3 AND phase NOT IN ('pushing', `+terminalPhases+`)
			RETURNING id`, micros(db.now()), uuid, worker).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errLeaseLost
		}
		if err != nil {
			return wharf.Wrap(err, "release build")
		}
		return db.appendBuildLogs(ctx, tx, id, wharf.BuildLogEntry{Message: "The build worker shut down; the build was queued again", Data: map[string]any{}},
			phaseEntry(wharf.PhaseWaiting))
	})
}

// CancelBuild cancels build uuid if it has not started pushing, logging
// entries. It reports false when the build is pushing or over.
func (db *Builds) CancelBuild(ctx context.Context, uuid string, entries ...wharf.LogEntry) (bool, error) {
	cancelled := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE build SET phase = 'cancelled', phase_changed_at = $1, completed_at = $1,
			worker = NULL, lease_until = NULL
			WHERE uuid = $2 AND phase NOT IN ('pushing', `+terminalPhases+`)
			RETURNING id`, micros(db.now()), uuid).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return wharf.Wrap(err, "cancel build")
		}
		cancelled = true
		if err := db.appendBuildLogs(ctx, tx, id, phaseEntry(wharf.PhaseCancelled)); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
	return cancelled, err
}

// ExpireBuildLeases takes back every running build whose worker's lease
// lapsed: it waits again while retries remain, else it ends in
// internalerror, logged as the build's failure (wharf.Build.EndEntry). It
// returns how many builds went each way.
func (db *Builds) ExpireBuildLeases(ctx context.Context) (requeued, expired int, err error) {
	clock, err := db.leaseNow(ctx, db.sql)
	if err != nil {
		return 0, 0, err
	}
	now := micros(clock)
	rows, err := db.sql.QueryContext(ctx, `SELECT `+buildColumns+buildFrom+`
		WHERE b.phase NOT IN ('waiting', `+terminalPhases+`) AND b.lease_until < $1`, now)
	if err != nil {
		return 0, 0, wharf.Wrap(err, "find lapsed builds")
	}
	var lapsed []*wharf.Build
	for rows.Next() {
		b, err := scanBuild(rows)
		if err != nil {
			rows.Close()
			return 0, 0, wharf.Wrap(err, "find lapsed builds")
		}
		lapsed = append(lapsed, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, wharf.Wrap(err, "find lapsed builds")
	}
	for _, b := range lapsed {
		retry := b.RetriesRemaining > 0
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			// A requeued build shows no error: the log says what happened.
			next, msg, stored := wharf.PhaseWaiting, "The build worker stopped responding; the build was queued again", ""
			var completed sql.NullInt64
			if !retry {
				next, msg = wharf.PhaseInternalError, "The build worker stopped responding and the build has no retries left"
				stored, completed = msg, sql.NullInt64{Int64: now, Valid: true}
			}
			res, err := tx.ExecContext(ctx, `UPDATE build SET phase = $1, phase_changed_at = $2, completed_at = $3,
				error = $4, worker = NULL, lease_until = NULL
				WHERE id = $5 AND worker = $6 AND lease_until < $2`, next, now, completed, nullString(stored), b.ID, b.Worker)
			if err != nil {
				return wharf.Wrap(err, "expire build lease")
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errLeaseLost // renewed or finished meanwhile
			}
			if err := db.appendBuildLogs(ctx, tx, b.ID, wharf.BuildLogEntry{Message: msg, Type: "error", Data: map[string]any{}}, phaseEntry(next)); err != nil {
				return err
			}
			if next == wharf.PhaseInternalError {
				return db.appendLogs(ctx, tx, []wharf.LogEntry{b.EndEntry(false, msg)})
			}
			return nil
		})
		switch {
		case wharf.IsCode(err, wharf.Conflict):
		case err != nil:
			return requeued, expired, err
		case retry:
			requeued++
		default:
			expired++
		}
	}
	return requeued, expired, nil
}

// AppendBuildLogs adds entries to build id's log, in order. A worker
// passes its name: once it no longer holds the build (cancelled, taken
// over) its lines are refused with Conflict, so they never land after the
// build's end or in a retry's log.
func (db *Builds) AppendBuildLogs(ctx context.Context, id int64, worker string, entries ...wharf.BuildLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.appendWorkerLogs(ctx, tx, id, worker, entries...) })
}

func (db *Builds) appendBuildLogs(ctx context.Context, tx *sql.Tx, id int64, entries ...wharf.BuildLogEntry) error {
	return db.appendWorkerLogs(ctx, tx, id, "", entries...)
}

// appendWorkerLogs appends entries to build id's log if worker ("" = any)
// holds the build.
func (db *Builds) appendWorkerLogs(ctx context.Context, tx *sql.Tx, id int64, worker string, entries ...wharf.BuildLogEntry) error {
	// The counter on the build row numbers entries; updating it first
	// locks the row, so concurrent appenders (a worker and a cancel) queue,
	// and the holder check sees the state the lock protects.
	var end int
	err := tx.QueryRowContext(ctx, `UPDATE build SET log_count = log_count + $1
		WHERE id = $2 AND ($3 = '' OR worker = $3) RETURNING log_count`, len(entries), id, worker).Scan(&end)
	if errors.Is(err, sql.ErrNoRows) && worker != "" {
		return errLeaseLost
	}
	if err != nil {
		return wharf.Wrap(err, "number build log entries")
	}
	first := end - len(entries)
	for i, e := range entries {
		seq := first + i
		if seq > wharf.MaxBuildLogEntries {
			break
		}
		if seq == wharf.MaxBuildLogEntries {
			e = wharf.BuildLogEntry{Message: fmt.Sprintf("The build log is longer than %d entries; later entries were dropped", wharf.MaxBuildLogEntries), Type: "error", Data: map[string]any{}}
		}
		body, err := json.Marshal(e)
		if err != nil {
			return wharf.Wrap(err, "encode build log entry")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO build_log (build_id, seq, entry) VALUES ($1, $2, $3)`, id, seq, string(body)); err != nil {
			return wharf.Wrap(err, "append build log")
		}
	}
	return nil
}

// BuildLogs returns the number of entries in build id's log and the
// entries from start on. Entries are numbered without gaps, so when any
// are returned the total is start plus their number: counted separately,
// a worker appending in between could make the total smaller than what
// the client was given.
func (db *Builds) BuildLogs(ctx context.Context, id int64, start int) (int, []wharf.BuildLogEntry, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT entry FROM build_log WHERE build_id = $1 AND seq >= $2 ORDER BY seq`, id, start)
	if err != nil {
		return 0, nil, wharf.Wrap(err, "read build log")
	}
	defer rows.Close()
	out := []wharf.BuildLogEntry{}
	for rows.Next() {
		var body string
		var e wharf.BuildLogEntry
		if err := rows.Scan(&body); err != nil {
			return 0, nil, wharf.Wrap(err, "read build log")
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			return 0, nil, wharf.Wrap(err, "decode build log entry")
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, wharf.Wrap(err, "read build log")
	}
	if len(out) > 0 {
		return start + len(out), out, nil
	}
	var total int
	err = db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM build_log WHERE build_id = $1`, id).Scan(&total)
	return total, out, wharf.Wrap(err, "count build log")
}

// UnusedUserFiles returns up to limit user files created before cutoff
// that no build uses: uploads abandoned before a build was requested.
func (db *Builds) UnusedUserFiles(ctx context.Context, cutoff time.Time, limit int) ([]wharf.UserFile, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT uuid, storage_key FROM user_file f WHERE created_at < $1
		AND NOT EXISTS (SELECT 1 FROM build b WHERE b.resource_key = f.uuid) ORDER BY created_at LIMIT $2`, micros(cutoff), limit)
	if err != nil {
		return nil, wharf.Wrap(err, "find unused user files")
	}
	defer rows.Close()
	var out []wharf.UserFile
	for rows.Next() {
		var f wharf.UserFile
		if err := rows.Scan(&f.UUID, &f.StorageKey); err != nil {
			return nil, wharf.Wrap(err, "find unused user files")
		}
		out = append(out, f)
	}
	return out, wharf.Wrap(rows.Err(), "find unused user files")
}

// DeleteUnusedUserFile removes user file uuid's row unless a build uses it
// by now, and reports whether it did.
func (db *Builds) DeleteUnusedUserFile(ctx context.Context, uuid string) (bool, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM user_file WHERE uuid = $1
		AND NOT EXISTS (SELECT 1 FROM build b WHERE b.resource_key = $1)`, uuid)
	if err != nil {
		return false, wharf.Wrap(err, "delete user file")
	}
	n, err := res.RowsAffected()
	return n == 1, wharf.Wrap(err, "delete user file")
}
