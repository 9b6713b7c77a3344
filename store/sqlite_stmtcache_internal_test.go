package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// stmtCacheFixture is a SQLite file with a table of ten rows, opened twice:
// with a statement cache of size statements and without one.
func stmtCacheFixture(t *testing.T, size int) (cached, plain *sql.DB, stats *stmtCacheStats) {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "cache.db") + "?_pragma=journal_mode(WAL)"
	cached, stats, err := openCachedSQLite(dsn, size)
	require.NoError(t, err)
	plain, _, err = openCachedSQLite(dsn, 0)
	require.NoError(t, err)
	t.Cleanup(func() { plain.Close(); cached.Close() })
	_, err = plain.Exec(`CREATE TABLE t (n INTEGER PRIMARY KEY, s TEXT NOT NULL)`)
	require.NoError(t, err)
	for i := range 10 {
		_, err = cached.Exec(`INSERT INTO t (n, s) VALUES ($1, $2)`, i, fmt.Sprint("row ", i))
		require.NoError(t, err)
	}
	return cached, plain, stats
}

// readAll returns the rows of query as text.
func readAll(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n int
		var s string
		require.NoError(t, rows.Scan(&n, &s))
		out = append(out, fmt.Sprint(n, s))
	}
	require.NoError(t, rows.Err())
	return out
}

func TestStmtCacheSameResults(t *testing.T) {
	t.Parallel()
	cached, plain, stats := stmtCacheFixture(t, 4)
	queries := []string{
		`SELECT n, s FROM t WHERE n >= $1 ORDER BY n`,
		`SELECT n, s FROM t WHERE n < $1 ORDER BY n DESC`,
		`SELECT n, s FROM t WHERE n = $1`,
	}
	for round := range 3 {
		for i, q := range queries {
			arg := round*3 + i
			require.Equal(t, readAll(t, plain, q, arg), readAll(t, cached, q, arg), "%s with %d", q, arg)
		}
	}
	require.Equal(t, int64(len(queries)+1), stats.prepared.Load(), "each text prepared once (and the INSERT)")
	require.Positive(t, stats.hits.Load())

	// A failing statement leaves its cached statement usable.
	_, err := cached.Exec(`INSERT INTO t (n, s) VALUES ($1, $2)`, 1, "duplicate")
	require.Error(t, err)
	_, err = cached.Exec(`INSERT INTO t (n, s) VALUES ($1, $2)`, 10, "row 10")
	require.NoError(t, err)
	require.Equal(t, readAll(t, plain, queries[0], 0), readAll(t, cached, queries[0], 0))
}

func TestStmtCacheNestedQuerySameText(t *testing.T) {
	t.Parallel()
	cached, _, _ := stmtCacheFixture(t, 4)
	ctx := context.Background()
	conn, err := cached.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	q := `SELECT n, s FROM t WHERE n >= $1 ORDER BY n`
	outer, err := conn.QueryContext(ctx, q, 5)
	require.NoError(t, err)
	var got []int
	for outer.Next() {
		var n int
		var s string
		require.NoError(t, outer.Scan(&n, &s))
		// The same text while its cached statement is still stepping.
		var inner int
		require.NoError(t, conn.QueryRowContext(ctx, `SELECT n, s FROM t WHERE n >= $1 ORDER BY n`, 0).Scan(&inner, &s))
		require.Equal(t, 0, inner)
		got = append(got, n)
	}
	require.NoError(t, outer.Err())
	require.NoError(t, outer.Close())
	require.Equal(t, []int{5, 6, 7, 8, 9}, got)
}

func TestStmtCacheBoundedAndClosedWithConn(t *testing.T) {
	t.Parallel()
	cached, plain, stats := stmtCacheFixture(t, 3)
	cached.SetMaxOpenConns(1)
	for i := range 10 {
		q := fmt.Sprintf(`SELECT n, s FROM t WHERE n = $1 AND %d = %d`, i, i)
		require.Equal(t, readAll(t, plain, q, i), readAll(t, cached, q, i))
	}
	require.Equal(t, int64(3), stats.open.Load(), "at most the bound stays prepared")

	// A connection that closes takes its statements with it.
	cached.SetMaxIdleConns(0)
	require.Equal(t, int64(0), stats.open.Load())
	require.Equal(t, readAll(t, plain, `SELECT n, s FROM t ORDER BY n`), readAll(t, cached, `SELECT n, s FROM t ORDER BY n`))
	require.NoError(t, cached.Close())
	require.Equal(t, int64(0), stats.open.Load())
}
