// Package store implements the domain services over SQL on two dialects:
// SQLite (embedded default, pure Go) and PostgreSQL (production). Both run
// the same SQL text with $N placeholders through the small Querier interface;
// dialect differences live in dialect.go.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"whitecross"
)

// Dialect names the SQL database behind a DB.
type Dialect string

// Dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Querier runs SQL with $N placeholders on either dialect.
type Querier interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is the common subset of *sql.Rows and pgx.Rows.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is the common subset of *sql.Row and pgx.Row.
type Row interface {
	Scan(dest ...any) error
}

// DB is an open database of either dialect.
type DB struct {
	Dialect Dialect
	// Now is the clock; tests replace it.
	Now whitecross.Clock

	pool  *pgxpool.Pool // PostgreSQL
	write *sql.DB       // SQLite: the one writer connection, shared with River
	read  *sql.DB       // SQLite: read-only pool so reads never queue behind writes
	path  string        // SQLite file

	writeStmts, readStmts *stmtCacheStats // SQLite statement caches
}

// readerPoolSize is how many read-only SQLite connections to keep: a read
// runs on the CPU (modernc is pure Go and the pages are in the OS cache),
// so two per core keep every core busy while a few readers wait on the
// disk or on Go's scheduler, and never fewer than the 4 we had.
func readerPoolSize() int { return max(4, 2*runtime.NumCPU()) }

// Open opens a database: a postgres:// or postgresql:// URL selects
// PostgreSQL, anything else is a SQLite file path.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return OpenPostgres(ctx, dsn)
	}
	return OpenSQLite(ctx, dsn)
}

// OpenSQLite opens (creating if needed) the SQLite file at path in WAL mode.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_time_format=sqlite"
	write, writeStmts, err := openCachedSQLite("file:"+path+"?"+pragmas+"&_txlock=immediate", stmtCacheSize)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read, readStmts, err := openCachedSQLite("file:"+path+"?mode=ro&"+pragmas, stmtCacheSize)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite reader: %w", err)
	}
	n := readerPoolSize()
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n) // idle readers stay open, with their prepared statements
	return &DB{Dialect: SQLite, Now: time.Now, write: write, read: read, path: path,
		writeStmts: writeStmts, readStmts: readStmts}, nil
}

// OpenPostgres connects a pgx pool to url.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns=") {
		cfg.MaxConns = DefaultPostgresConns
	}
	return OpenPostgresConfig(ctx, cfg)
}

// DefaultPostgresConns is the connection pool's size unless DATABASE_URL
// sets pool_max_conns. pgx's own default (the larger of 4 and the CPUs) is
// less than one instance holds at once: each running dispatch job keeps a
// connection for its whole run (4 urgent and 2 bulk workers by default),
// River's producers poll on theirs, and delivery workers record outcomes,
// so a one-recipient send waited for a connection behind a large message's
// dispatch batches. 20 leaves requests at least 12 of their own; five
// instances stay within PostgreSQL's default max_connections of 100.
const DefaultPostgresConns = 20

// OpenPostgresConfig connects a pgx pool with cfg (tests set search_path).
func OpenPostgresConfig(ctx context.Context, cfg *pgxpool.Config) (*DB, error) {
	// The JIT turns 10-20 ms directory searches into 250-450 ms ones; our
	// queries are short OLTP statements that never repay its compile time.
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	return &DB{Dialect: Postgres, Now: time.Now, pool: pool}, nil
}

// Close releases every connection.
func (db *DB) Close() error {
	if db.pool != nil {
		db.pool.Close()
		return nil
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping reports whether the database answers (for /readyz).
func (db *DB) Ping(ctx context.Context) error {
	if db.pool != nil {
		return db.pool.Ping(ctx)
	}
	var n int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// PgxPool returns the PostgreSQL pool (for River's riverpgxv5 driver and
// LISTEN/NOTIFY), or nil on SQLite.
func (db *DB) PgxPool() *pgxpool.Pool { return db.pool }

// SQLWriter returns SQLite's single writer handle (for River's riversqlite
// driver), or nil on PostgreSQL.
func (db *DB) SQLWriter() *sql.DB { return db.write }

// now returns the clock's time in UTC, truncated to microseconds so that
// values round-trip identically through both dialects.
func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }

// Reader returns a Querier for reads outside a transaction: the read-only
// pool on SQLite, the pool on PostgreSQL with each statement scoped to the
// tenant of its ctx (see tenant_scope.go).
func (db *DB) Reader() Querier {
	if db.pool != nil {
		return scopedPool{db.pool}
	}
	return sqlQuerier{db.read}
}

// Tx is a transaction of either dialect. It is a Querier, and it hands River
// its native transaction: PgxTx on PostgreSQL, SQLTx on SQLite.
type Tx struct {
	Querier
	pgx pgx.Tx
	sql *sql.Tx
	// committed run after a successful commit (see AfterCommit).
	committed []func()
}

// AfterCommit runs f once tx has committed, and never if it rolls back:
// for work that must follow the change (linking its audit events).
func (tx *Tx) AfterCommit(f func()) { tx.committed = append(tx.committed, f) }

// runCommitted runs the AfterCommit functions of a committed tx.
func (tx *Tx) runCommitted() {
	for _, f := range tx.committed {
		f()
	}
}

// PgxTx returns the pgx transaction (PostgreSQL), or nil.
func (tx *Tx) PgxTx() pgx.Tx { return tx.pgx }

// SQLTx returns the database/sql transaction (SQLite), or nil.
func (tx *Tx) SQLTx() *sql.Tx { return tx.sql }

// InTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise. On PostgreSQL the transaction is scoped to the tenant of
// ctx for row-level security (see tenant_scope.go).
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if db.pool != nil {
		ptx, err := db.pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: beginSQL(ctx)})
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer ptx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
		tx := &Tx{Querier: pgxQuerier{ptx}, pgx: ptx}
		if err := fn(tx); err != nil {
			return err
		}
		if err := ptx.Commit(ctx); err != nil {
			return err
		}
		tx.runCommitted()
		return nil
	}
	stx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer stx.Rollback() //nolint:errcheck // no-op after commit
	tx := &Tx{Querier: sqlQuerier{stx}, sql: stx}
	if err := fn(tx); err != nil {
		return err
	}
	if err := stx.Commit(); err != nil {
		return err
	}
	tx.runCommitted()
	return nil
}

// pgxQuerier adapts a pgx pool or transaction.
type pgxQuerier struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (p pgxQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), interpretError(err)
}

func (p pgxQuerier) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := p.q.Query(ctx, query, args...)
	if err != nil {
		return nil, interpretError(err)
	}
	return pgxRows{rows}, nil
}

func (p pgxQuerier) QueryRow(ctx context.Context, query string, args ...any) Row {
	return errRow{p.q.QueryRow(ctx, query, args...)}
}

type pgxRows struct{ pgx.Rows }

func (r pgxRows) Scan(dest ...any) error { return interpretError(r.Rows.Scan(dest...)) }
func (r pgxRows) Err() error             { return interpretError(r.Rows.Err()) }

// sqlQuerier adapts a database/sql handle or transaction.
type sqlQuerier struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

func (s sqlQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return 0, interpretError(err)
	}
	n, err := res.RowsAffected()
	return n, interpretError(err)
}

func (s sqlQuerier) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := s.q.QueryContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return nil, interpretError(err)
	}
	return sqlRows{rows}, nil
}

func (s sqlQuerier) QueryRow(ctx context.Context, query string, args ...any) Row {
	return errRow{s.q.QueryRowContext(ctx, query, sqliteArgs(args)...)}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Scan(dest ...any) error { return interpretError(r.Rows.Scan(dest...)) }
func (r sqlRows) Err() error             { return interpretError(r.Rows.Err()) }
func (r sqlRows) Close()                 { r.Rows.Close() }

// errRow turns a missing row into ENOTFOUND and constraint errors into codes.
type errRow struct{ Row }

func (r errRow) Scan(dest ...any) error { return interpretError(r.Row.Scan(dest...)) }
