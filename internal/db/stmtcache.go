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
	// shared by the connections of one store: the writers' queue
	// (writegate.go) and the checkpointer they tell of their commits
	// (walcheckpoint.go).
	gate *writeGate
	wal  *walCheckpointer
}

func (c *sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := (&sqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	// The checkpointer copies the WAL back, not the commit that fills it.
	if _, err := conn.(driver.ExecerContext).ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`, nil); err != nil {
		conn.Close()
		return nil, err
	}
	return &cachingConn{conn: conn, stmts: map[string]*cachedStmt{}, gate: c.gate, wal: c.wal}, nil
}

func (c *sqliteConnector) Driver() driver.Driver { return &sqlite.Driver{} }

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
	gate  *writeGate
	wal   *walCheckpointer
	// inTx is set from BeginTx to the transaction's end; gated while this
	// connection holds the gate.
	inTx, gated bool
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
	if !c.inTx && writes(query) {
		c.enterGate(ctx)
		defer c.leaveGate()
	}
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
	// A writing query outside a transaction (… RETURNING) holds the gate
	// until its rows close.
	gated := !c.inTx && writes(query)
	if gated {
		c.enterGate(ctx)
	}
	s, cached, err := c.stmt(ctx, query)
	if err != nil {
		if gated {
			c.leaveGate()
		}
		return nil, err
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		if !cached {
			s.stmt.Close()
		}
		if gated {
			c.leaveGate()
		}
		return nil, err
	}
	s.busy = true
	r := &stmtRows{Rows: rows, s: s, cached: cached}
	if gated {
		r.done = c.leaveGate
	}
	return r, nil
}

// stmtRows frees its statement when closed: the cached one for the next
// query, a one-use one for good.
type stmtRows struct {
	driver.Rows
	s      *cachedStmt
	cached bool
	done   func() // leaves the write gate, for a writing query
}

func (r *stmtRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
	}
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
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins an IMMEDIATE transaction (it takes the write lock) once
// the connection holds the write gate.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.enterGate(ctx)
	tx, err := c.sqlite().BeginTx(ctx, opts)
	if err != nil {
		c.leaveGate()
		return nil, err
	}
	c.inTx = true
	return &gatedTx{Tx: tx, c: c}, nil
}

// enterGate waits for the store's write gate (writegate.go).
func (c *cachingConn) enterGate(ctx context.Context) {
	if c.gate != nil && !c.gated {
		c.gated = c.gate.enter(ctx)
	}
}

// leaveGate ends the connection's transaction, if any, and lets the next
// writer in.
func (c *cachingConn) leaveGate() {
	c.inTx = false
	if c.gated {
		c.gated = false
		c.gate.leave()
		c.wal.committed()
	}
}

func (c *cachingConn) Ping(ctx context.Context) error         { return c.sqlite().Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.sqlite().ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.sqlite().IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	c.leaveGate()
	for q, s := range c.stmts {
		s.stmt.Close()
		delete(c.stmts, q)
	}
	return c.conn.Close()
}
