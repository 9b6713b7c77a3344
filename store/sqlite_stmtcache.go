package store

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
)

// SQLite statement cache.
//
// modernc's driver prepares (parses and plans) every statement again on each
// Query and Exec: at 300 sends/s that parsing was 29% of the server's CPU
// (issue 20). database/sql hands a driver connection to one goroutine at a
// time, so each connection keeps its own prepared statements keyed by SQL
// text, least recently used first out, and finalizes them when it closes.
// A statement whose rows are still open (a query run again while iterating
// its own earlier result) is not shared: that call prepares a one-off
// statement as before. PostgreSQL needs none of this: pgx caches prepared
// statements per connection by default.

// stmtCacheSize bounds the statements one connection keeps prepared. The
// store has a few hundred distinct SQL texts, but texts with an IN list of
// n placeholders differ by n, so the bound matters.
const stmtCacheSize = 256

// stmtCacheStats counts, across the connections of one handle, the
// statements prepared for the cache, the calls served by a cached one and
// the statements cached right now (tests and benchmarks read them).
type stmtCacheStats struct {
	prepared, hits, open atomic.Int64
}

// sqliteConnector opens connections of driver drv to dsn, each with its own
// statement cache.
type sqliteConnector struct {
	drv   driver.Driver
	dsn   string
	size  int
	stats *stmtCacheStats
}

// openCachedSQLite is sql.Open("sqlite", dsn) with a statement cache of
// size statements per connection (0: no cache).
func openCachedSQLite(dsn string, size int) (*sql.DB, *stmtCacheStats, error) {
	probe, err := sql.Open("sqlite", dsn) // the registered driver; connects nothing
	if err != nil {
		return nil, nil, err
	}
	drv := probe.Driver()
	probe.Close()
	stats := &stmtCacheStats{}
	return sql.OpenDB(sqliteConnector{drv: drv, dsn: dsn, size: size, stats: stats}), stats, nil
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(sqliteDriverConn)
	if !ok || c.size <= 0 {
		return conn, nil
	}
	return &cachingConn{sqliteDriverConn: inner, size: c.size, stats: c.stats,
		byQuery: map[string]*list.Element{}, lru: list.New()}, nil
}

func (c sqliteConnector) Driver() driver.Driver { return c.drv }

// sqliteDriverConn is what modernc's connection implements and
// cachingConn passes on unchanged.
type sqliteDriverConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is a modernc connection with its prepared statements.
type cachingConn struct {
	sqliteDriverConn
	size    int
	stats   *stmtCacheStats
	byQuery map[string]*list.Element // of *cachedStmt
	lru     *list.List               // front: most recently used
}

// cachedStmt is one prepared statement; busy while its rows are open.
type cachedStmt struct {
	query   string
	stmt    driver.Stmt
	busy    bool
	evicted bool
}

// QueryContext runs query on its cached statement; the statement is lent
// to the rows until they close.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil || cs == nil {
		if err != nil {
			return nil, err
		}
		return c.sqliteDriverConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.release(cs)
		return nil, err
	}
	return &cachedRows{Rows: rows, done: func() { c.release(cs) }}, nil
}

// ExecContext runs query on its cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil || cs == nil {
		if err != nil {
			return nil, err
		}
		return c.sqliteDriverConn.ExecContext(ctx, query, args)
	}
	defer c.release(cs)
	return cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

// acquire returns query's statement marked busy, preparing and caching it
// on first use, or nil when it is busy (the caller runs query uncached).
func (c *cachingConn) acquire(ctx context.Context, query string) (*cachedStmt, error) {
	if el, ok := c.byQuery[query]; ok {
		cs := el.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(el)
		cs.busy = true
		c.stats.hits.Add(1)
		return cs, nil
	}
	stmt, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, stmt: stmt, busy: true}
	c.byQuery[query] = c.lru.PushFront(cs)
	c.stats.prepared.Add(1)
	c.stats.open.Add(1)
	for c.lru.Len() > c.size {
		c.evict(c.lru.Back())
	}
	return cs, nil
}

// release returns cs to the cache, or finalizes it if it was evicted
// meanwhile.
func (c *cachingConn) release(cs *cachedStmt) {
	cs.busy = false
	if cs.evicted {
		cs.stmt.Close()
	}
}

// evict drops el from the cache; a busy statement is finalized when its
// rows close.
func (c *cachingConn) evict(el *list.Element) {
	cs := el.Value.(*cachedStmt)
	c.lru.Remove(el)
	delete(c.byQuery, cs.query)
	c.stats.open.Add(-1)
	cs.evicted = true
	if !cs.busy {
		cs.stmt.Close()
	}
}

// Close finalizes every cached statement, then closes the connection.
func (c *cachingConn) Close() error {
	for c.lru.Len() > 0 {
		c.evict(c.lru.Front())
	}
	if err := c.sqliteDriverConn.Close(); err != nil {
		return fmt.Errorf("close sqlite connection: %w", err)
	}
	return nil
}

// cachedRows hands its statement back to the cache when closed.
type cachedRows struct {
	driver.Rows
	done func()
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

// ColumnTypeDatabaseTypeName passes modernc's declared column type on.
func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
