package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// A PostgreSQL server that is down, restarting or out of reach is not a
// fault of wharf's: callers get 503 (wharf.Unavailable) and may retry,
// rather than 500. Every public method wraps its errors with wharf.Wrap,
// which keeps an error that is already a *wharf.Error, so translating at
// the driver — the one place every database error passes — covers them
// all. The pool then recovers by itself: database/sql discards the broken
// connections and dials new ones once the server answers again.

// pgConnectTimeout bounds dialling PostgreSQL when the DSN sets no
// connect_timeout, so that a server that does not answer at all (a
// dropped route, not a refused port) turns into 503s in seconds too.
const pgConnectTimeout = 5 * time.Second

// errUnreachable is what clients are told while the database is out of reach.
const errUnreachable = "The database cannot be reached; try again shortly."

// openPostgres returns a pool over dsn whose connections report the
// database being out of reach as Unavailable.
func openPostgres(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	return sql.OpenDB(connector{stdlib.GetConnector(*cfg)}), nil
}

// unreachable reports whether err says the database cannot be reached, by
// error type and SQLSTATE, never by message: a failed dial or handshake, a
// connection broken mid-call (a network error, or the socket closing), or
// the server refusing work as it shuts down or starts (class 08, 57P01-03,
// and 53300, too many connections). A caller's own cancellation or
// deadline is not the database's fault and stays as it is.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "53300":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed)
}

// asUnavailable turns an unreachable database's error into Unavailable.
// driver.ErrBadConn passes unchanged: it tells database/sql to retry on
// another connection, which is how the pool recovers.
func asUnavailable(err error) error {
	if err == nil || errors.Is(err, driver.ErrBadConn) || !unreachable(err) {
		return err
	}
	return &wharf.Error{Code: wharf.Unavailable, Message: errUnreachable, Err: err}
}

// connector dials connections whose errors go through asUnavailable.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, asUnavailable(err)
	}
	if pc, ok := conn.(pgConn); ok {
		return reachConn{pc}, nil
	}
	return conn, nil
}

// pgConn is what database/sql uses of a pgx connection; reachConn must
// offer all of it, or database/sql would fall back to slower paths (and
// convert arguments pgx takes as they are).
type pgConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.NamedValueChecker
	driver.SessionResetter
}

// reachConn is a pgx connection whose calls report an unreachable
// database as Unavailable.
type reachConn struct{ pgConn }

func (c reachConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.pgConn.PrepareContext(ctx, query)
	return s, asUnavailable(err)
}

func (c reachConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.pgConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, asUnavailable(err)
	}
	return reachTx{tx}, nil
}

func (c reachConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.pgConn.ExecContext(ctx, query, args)
	return r, asUnavailable(err)
}

func (c reachConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.pgConn.QueryContext(ctx, query, args)
	return r, asUnavailable(err)
}

// reachTx is a transaction whose end reports an unreachable database as
// Unavailable: a commit the connection lost is not known to have happened.
type reachTx struct{ driver.Tx }

func (t reachTx) Commit() error   { return asUnavailable(t.Tx.Commit()) }
func (t reachTx) Rollback() error { return asUnavailable(t.Tx.Rollback()) }
