package db

import (
	"context"
	"database/sql/driver"

	"modernc.org/sqlite"
)

// SQLite parses every statement it runs: database/sql hands each query to
// the driver's QueryerContext, which prepares it anew each time, and the
// parse cost a fifth of a manifest GET. sqliteConnector gives every
// connection a cache of prepared statements by query text, so a statement
// is parsed once per connection. (pgx caches prepared statements per
// connection by itself.)
type sqliteConnector struct {
	dsn string
}

func (c sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := (&sqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c sqliteConnector) Driver() driver.Driver { return &sqlite.Driver{} }

// stmtCacheMax bounds one connection's cache: wharf's SQL is a fixed set
// of texts, save IN lists whose length varies; past the bound a statement
// is prepared for one use, as without the cache.
const stmtCacheMax = 256

// sqliteConn is what cachingConn needs of the driver's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is a SQLite connection whose statements are prepared once.
// database/sql uses a connection from one goroutine at a time, but a
// statement whose rows are still open cannot run again until they close:
// such a statement is busy, and a query of the same text meanwhile gets a
// statement of its own.
type cachingConn struct {
	conn  driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt driver.Stmt
	busy bool
}

func (c *cachingConn) sqlite() sqliteConn { return c.conn.(sqliteConn) }

// stmt returns query's statement and whether it is the cached one (a
// one-use statement the caller must close otherwise).
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, bool, error) {
	if s, ok := c.stmts[query]; ok && !s.busy {
		return s, true, nil
	}
	st, err := c.sqlite().PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	s := &cachedStmt{stmt: st}
	if _, ok := c.stmts[query]; ok || len(c.stmts) >= stmtCacheMax {
		return s, false, nil
	}
	c.stmts[query] = s
	return s, true, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, cached, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if !cached {
		defer s.stmt.Close()
	}
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, cached, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		if !cached {
			s.stmt.Close()
		}
		return nil, err
	}
	s.busy = true
	return &stmtRows{Rows: rows, s: s, cached: cached}, nil
}

// stmtRows frees its statement when closed: the cached one for the next
// query, a one-use one for good.
type stmtRows struct {
	driver.Rows
	s      *cachedStmt
	cached bool
}

func (r *stmtRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	if !r.cached {
		if cerr := r.s.stmt.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.sqlite().PrepareContext(ctx, query)
}

func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.sqlite().BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.sqlite().BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error         { return c.sqlite().Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.sqlite().ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.sqlite().IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	for q, s := range c.stmts {
		s.stmt.Close()
		delete(c.stmts, q)
	}
	return c.conn.Close()
}
