// Package storetest opens throwaway databases of both dialects for tests and
// holds the conformance suite that every dialect of the store must pass.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"whitecross/store"
)

// PostgresURLEnv names the variable that points tests at a PostgreSQL server.
const PostgresURLEnv = "WHITECROSS_TEST_POSTGRES_URL"

// Dialects lists the dialects every storage test runs on.
var Dialects = []store.Dialect{store.SQLite, store.Postgres}

// ForEachDialect runs fn as a parallel subtest per dialect, each with a new,
// migrated database.
func ForEachDialect(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, d))
		})
	}
}

// Open returns a new, migrated database of dialect d that lives as long as
// the test: a SQLite file in a temporary directory, or a PostgreSQL schema of
// its own. Without WHITECROSS_TEST_POSTGRES_URL a PostgreSQL test is skipped
// on a developer machine and fails under CI, so CI never silently skips it.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	db := OpenUnmigrated(t, d)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

// OpenUnmigrated is Open without applying migrations.
func OpenUnmigrated(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	ctx := context.Background()
	if d == store.SQLite {
		db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "whitecross.db"))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	url := PostgresURL(t)
	schema := NewPostgresSchema(t, url)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresURLEnv, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = 8
	db, err := store.OpenPostgresConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL returns the test server URL, skipping or failing as Open says.
func PostgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(PostgresURLEnv)
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests", PostgresURLEnv)
		}
		t.Skipf("%s is not set; set it to run the PostgreSQL tests (make test does)", PostgresURLEnv)
	}
	return url
}

// NewPostgresSchema creates an empty schema that is dropped when the test
// ends, and returns its name. A URL whose search_path is that schema sees
// only this test's tables.
func NewPostgresSchema(t testing.TB, url string) string {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "wct_" + hex.EncodeToString(b[:])
	admin, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	return schema
}

// PostgresSchemaURL returns url with its search_path set to schema, for
// tests that run the real binary against PostgreSQL.
func PostgresSchemaURL(url, schema string) string {
	sep := "?"
	for _, c := range url {
		if c == '?' {
			sep = "&"
		}
	}
	return url + sep + "search_path=" + schema
}
