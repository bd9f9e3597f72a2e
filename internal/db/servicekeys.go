package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// ServiceKeys stores service keys with their approvals, and the sealed
// private halves of wharf's own instance keys (see servicekeys.go,
// servicekeys_caps.go).
type ServiceKeys struct{ *base }

const serviceKeyColumns = `kid, service, name, jwk, metadata, created_at, expiration_at, rotation_duration,
	approval_type, approver_id, approved_at, notes`

func scanServiceKey(row rowScanner) (*wharf.ServiceKey, error) {
	var k wharf.ServiceKey
	var jwk, meta string
	var created int64
	var expires, rotation, approverID, approvedAt sql.NullInt64
	var approvalType sql.NullString
	var notes string
	if err := row.Scan(&k.Kid, &k.Service, &k.Name, &jwk, &meta, &created, &expires, &rotation,
		&approvalType, &approverID, &approvedAt, &notes); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(jwk), &k.JWK); err != nil {
		return nil, wharf.Wrap(err, "decode service key jwk")
	}
	if err := json.Unmarshal([]byte(meta), &k.Metadata); err != nil {
		return nil, wharf.Wrap(err, "decode service key metadata")
	}
	if k.Metadata == nil {
		k.Metadata = map[string]any{}
	}
	k.CreatedAt = fromMicros(created)
	if expires.Valid {
		t := fromMicros(expires.Int64)
		k.ExpiresAt = &t
	}
	if rotation.Valid {
		v := rotation.Int64
		k.RotationDuration = &v
	}
	if approvalType.Valid {
		k.Approval = &wharf.ServiceKeyApproval{Type: wharf.ApprovalType(approvalType.String), ApproverID: approverID.Int64,
			ApprovedAt: fromMicros(approvedAt.Int64), Notes: notes}
	}
	return &k, nil
}

// loadApprovers fills in the approver account of every approved key with
// one query per 500 distinct approvers (in practice one: approvers are
// superusers), never one per key.
func loadApprovers(ctx context.Context, q querier, keys []*wharf.ServiceKey) error {
	byID := map[int64]*wharf.Account{}
	var ids []any
	for _, k := range keys {
		if a := k.Approval; a != nil && a.ApproverID != 0 {
			if _, ok := byID[a.ApproverID]; !ok {
				byID[a.ApproverID] = nil // a deleted approver stays nil
				ids = append(ids, a.ApproverID)
			}
		}
	}
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		if err := loadAccountsInto(ctx, q, byID, batch); err != nil {
			return wharf.Wrap(err, "load service key approvers")
		}
	}
	for _, k := range keys {
		if k.Approval != nil {
			k.Approval.Approver = byID[k.Approval.ApproverID]
		}
	}
	return nil
}

func loadAccountsInto(ctx context.Context, q querier, byID map[int64]*wharf.Account, ids []any) error {
	rows, err := q.QueryContext(ctx, `SELECT `+accountColumns+` FROM account WHERE id IN (`+placeholderList(len(ids))+`)`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return err
		}
		byID[a.ID] = a
	}
	return rows.Err()
}

func serviceKeyBy(ctx context.Context, q querier, kid, lock string) (*wharf.ServiceKey, error) {
	k, err := scanServiceKey(q.QueryRowContext(ctx, `SELECT `+serviceKeyColumns+` FROM service_key WHERE kid = $1`+lock, kid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	if err != nil {
		return nil, wharf.Wrap(err, "load service key")
	}
	if err := loadApprovers(ctx, q, []*wharf.ServiceKey{k}); err != nil {
		return nil, err
	}
	return k, nil
}

// ServiceKey returns the key with that kid, whatever its state. NotFound if none.
func (db *ServiceKeys) ServiceKey(ctx context.Context, kid string) (*wharf.ServiceKey, error) {
	return serviceKeyBy(ctx, db.sql, kid, "")
}

// ListServiceKeys returns the keys of service ("" = every service), oldest
// first, leaving out those that expired at or before expiredBefore: one
// query for the keys and one for their approvers, however many there are.
func (db *ServiceKeys) ListServiceKeys(ctx context.Context, service string, expiredBefore time.Time) ([]*wharf.ServiceKey, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+serviceKeyColumns+` FROM service_key
		WHERE ($1 = '' OR service = $1) AND (expiration_at IS NULL OR expiration_at > $2)
		ORDER BY created_at, kid`, service, micros(expiredBefore))
	if err != nil {
		return nil, wharf.Wrap(err, "list service keys")
	}
	defer rows.Close()
	var out []*wharf.ServiceKey
	for rows.Next() {
		k, err := scanServiceKey(rows)
		if err != nil {
			return nil, wharf.Wrap(err, "scan service key")
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, wharf.Wrap(err, "list service keys")
	}
	rows.Close()
	return out, loadApprovers(ctx, db.sql, out)
}

// CreateServiceKey removes the stale keys gc names, then stores k (with
// its approval, if any) and entries, in one transaction. Conflict when a
// key with k's kid exists.
func (db *ServiceKeys) CreateServiceKey(ctx context.Context, k *wharf.ServiceKey, gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		return db.createServiceKey(ctx, tx, k, gc, entries)
	})
}

// CreateInstanceKey is CreateServiceKey for a key of wharf's own, whose
// sealed private half is stored beside it.
func (db *ServiceKeys) CreateInstanceKey(ctx context.Context, k *wharf.ServiceKey, sealed []byte, gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.createServiceKey(ctx, tx, k, gc, entries); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO instance_key (kid, sealed, created_at) VALUES ($1, $2, $3)`,
			k.Kid, sealed, micros(k.CreatedAt))
		return wharf.Wrap(err, "store instance key")
	})
}

// InstanceKey returns the sealed private half of the instance key kid.
// NotFound if kid is not a key of wharf's own (or is gone).
func (db *ServiceKeys) InstanceKey(ctx context.Context, kid string) ([]byte, error) {
	var sealed []byte
	err := db.sql.QueryRowContext(ctx, `SELECT sealed FROM instance_key WHERE kid = $1`, kid).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return sealed, wharf.Wrap(err, "load instance key")
}

func (db *ServiceKeys) createServiceKey(ctx context.Context, tx *sql.Tx, k *wharf.ServiceKey, gc wharf.ServiceKeyGC, entries []wharf.LogEntry) error {
	if _, err := deleteStaleServiceKeys(ctx, tx, gc); err != nil {
		return err
	}
	return db.insertServiceKeyLogged(ctx, tx, k, "", entries)
}

func (db *ServiceKeys) insertServiceKeyLogged(ctx context.Context, tx *sql.Tx, k *wharf.ServiceKey, clientAddr string, entries []wharf.LogEntry) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now().UTC()
	}
	if err := insertServiceKey(ctx, tx, k, clientAddr); err != nil {
		return err
	}
	return db.appendLogs(ctx, tx, entries)
}

// insertServiceKey stores k; clientAddr is what the key server's cap counts
// it against ("" for keys that did not come through the key server).
func insertServiceKey(ctx context.Context, tx *sql.Tx, k *wharf.ServiceKey, clientAddr string) error {
	jwk, meta, err := encodeKeyJSON(k)
	if err != nil {
		return err
	}
	ap := approvalColumns(k.Approval)
	_, err = tx.ExecContext(ctx, `INSERT INTO service_key (`+serviceKeyColumns+`, client_addr)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		k.Kid, k.Service, k.Name, jwk, meta, micros(k.CreatedAt), nullTime(k.ExpiresAt), nullInt(k.RotationDuration),
		ap.kind, ap.approver, ap.at, ap.notes, clientAddr)
	if isUniqueViolation(err) {
		return wharf.Errorf(wharf.Conflict, "A service key with kid %s already exists", k.Kid)
	}
	return wharf.Wrap(err, "create service key")
}

func encodeKeyJSON(k *wharf.ServiceKey) (jwk, meta string, err error) {
	rawJWK, err := json.Marshal(k.JWK)
	if err != nil {
		return "", "", wharf.Wrap(err, "encode service key jwk")
	}
	m := k.Metadata
	if m == nil {
		m = map[string]any{}
	}
	rawMeta, err := json.Marshal(m)
	if err != nil {
		return "", "", wharf.Wrap(err, "encode service key metadata")
	}
	return string(rawJWK), string(rawMeta), nil
}

type approvalRow struct {
	kind     sql.NullString
	approver sql.NullInt64
	at       sql.NullInt64
	notes    string
}

func approvalColumns(a *wharf.ServiceKeyApproval) approvalRow {
	if a == nil {
		return approvalRow{}
	}
	return approvalRow{kind: sql.NullString{String: string(a.Type), Valid: true}, approver: nullID(a.ApproverID),
		at: sql.NullInt64{Int64: micros(a.ApprovedAt), Valid: true}, notes: a.Notes}
}

func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func nullInt(v *int64) sql.NullInt64 {
	if v == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *v, Valid: true}
}

// UpdateServiceKey stores after, the key before as the caller changed its
// name, metadata, expiration or approval, with entries, provided the key is
// still as the caller read it (before). Conflict (wharf.ErrChanged) when it
// changed since; NotFound when it is gone. after's approver is loaded.
func (db *ServiceKeys) UpdateServiceKey(ctx context.Context, before, after *wharf.ServiceKey, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockAsRead(ctx, tx, before); err != nil {
			return err
		}
		_, meta, err := encodeKeyJSON(after)
		if err != nil {
			return err
		}
		ap := approvalColumns(after.Approval)
		_, err = tx.ExecContext(ctx, `UPDATE service_key SET name = $1, metadata = $2, expiration_at = $3,
			approval_type = $4, approver_id = $5, approved_at = $6, notes = $7 WHERE kid = $8`,
			after.Name, meta, nullTime(after.ExpiresAt), ap.kind, ap.approver, ap.at, ap.notes, before.Kid)
		if err != nil {
			return wharf.Wrap(err, "update service key")
		}
		if err := loadApprovers(ctx, tx, []*wharf.ServiceKey{after}); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeleteServiceKey deletes key k, provided it is still as the caller read
// it, then removes the stale keys gc names, with entries, in one
// transaction. Conflict (wharf.ErrChanged) when it changed since; NotFound
// when it is gone.
func (db *ServiceKeys) DeleteServiceKey(ctx context.Context, k *wharf.ServiceKey, gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockAsRead(ctx, tx, k); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM service_key WHERE kid = $1`, k.Kid); err != nil {
			return wharf.Wrap(err, "delete service key")
		}
		if _, err := deleteStaleServiceKeys(ctx, tx, gc); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// ReplaceServiceKey is a key rotation: it stores next in place of old,
// provided old is still as the caller read it (next may carry over its
// name, approval, …), and removes the stale keys gc names, with entries, in
// one transaction. Conflict (wharf.ErrChanged) when old changed since;
// NotFound when it is gone; Conflict when next's kid exists.
func (db *ServiceKeys) ReplaceServiceKey(ctx context.Context, old, next *wharf.ServiceKey, gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockAsRead(ctx, tx, old); err != nil {
			return err
		}
		if next.CreatedAt.IsZero() {
			next.CreatedAt = db.now().UTC()
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM service_key WHERE kid = $1`, old.Kid); err != nil {
			return wharf.Wrap(err, "delete rotated service key")
		}
		if err := insertServiceKey(ctx, tx, next, ""); err != nil {
			return err
		}
		if _, err := deleteStaleServiceKeys(ctx, tx, gc); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// lockAsRead locks key read.Kid for the rest of tx and checks that it is
// still read, the key as the caller read it, in every column a change
// rewrites or carries over (an approver's deletion included, which clears
// approver_id): NotFound when it is gone, Conflict (wharf.ErrChanged) when
// it differs.
func (db *ServiceKeys) lockAsRead(ctx context.Context, tx *sql.Tx, read *wharf.ServiceKey) error {
	stored, err := serviceKeyBy(ctx, tx, read.Kid, db.forUpdate())
	if err != nil {
		return err
	}
	if read.Name != stored.Name || !reflect.DeepEqual(read.Metadata, stored.Metadata) ||
		nullTime(read.ExpiresAt) != nullTime(stored.ExpiresAt) || nullInt(read.RotationDuration) != nullInt(stored.RotationDuration) ||
		approvalColumns(read.Approval) != approvalColumns(stored.Approval) {
		return wharf.Changed("The service key")
	}
	return nil
}

// DeleteStaleServiceKeys removes the stale keys gc names and reports how many.
func (db *ServiceKeys) DeleteStaleServiceKeys(ctx context.Context, gc wharf.ServiceKeyGC) (int64, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = deleteStaleServiceKeys(ctx, tx, gc)
		return err
	})
	return n, err
}

func deleteStaleServiceKeys(ctx context.Context, tx *sql.Tx, gc wharf.ServiceKeyGC) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM service_key WHERE ($1 = '' OR service = $1)
		AND ((expiration_at IS NOT NULL AND expiration_at <= $2) OR (approval_type IS NULL AND created_at <= $3))`,
		gc.Service, micros(gc.ExpiredBefore), micros(gc.UnapprovedBefore))
	if err != nil {
		return 0, wharf.Wrap(err, "remove stale service keys")
	}
	n, err := res.RowsAffected()
	return n, wharf.Wrap(err, "remove stale service keys")
}
