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

	"github.com/jackc/pgx/v5"
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
//
// On PostgreSQL the schema is migrated by the test server's user (a
// superuser, the tables' owner) and the store then runs as AppRole, an
// ordinary role with rights on the tables, as operators are told to run
// it: row-level security applies to every test, so a store function that
// spans tenants without saying so (store.AllTenants) fails its tests.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	if d == store.SQLite {
		return migrated(t, OpenUnmigrated(t, d))
	}
	url := PostgresURL(t)
	schema := NewPostgresSchema(t, url)
	migrated(t, openPostgres(t, url, schema, ""))
	grantAppRole(t, url, schema)
	return openPostgres(t, url, schema, AppRole)
}

func migrated(t testing.TB, db *store.DB) *store.DB {
	t.Helper()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", db.Dialect, err)
	}
	return db
}

// OpenUnmigrated is Open without applying migrations; on PostgreSQL it
// connects as the test server's user.
func OpenUnmigrated(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	if d == store.SQLite {
		db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "whitecross.db"))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	url := PostgresURL(t)
	return openPostgres(t, url, NewPostgresSchema(t, url), "")
}

// openPostgres opens the store on schema as user ("" for the URL's own).
func openPostgres(t testing.TB, url, schema, user string) *store.DB {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresURLEnv, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	if user != "" {
		cfg.ConnConfig.User = user
	}
	cfg.MaxConns = 8
	db, err := store.OpenPostgresConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open postgres as %q: %v", user, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// AppRole is the PostgreSQL role the store runs as in tests: not a
// superuser, without BYPASSRLS, owning no table.
const AppRole = "whitecross_test_app"

// grantAppRole creates AppRole if the server lacks it (tests race to, so a
// duplicate is fine) and gives it use of schema's tables and sequences.
func grantAppRole(t testing.TB, url, schema string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		`DO $$ BEGIN CREATE ROLE ` + AppRole + ` LOGIN NOSUPERUSER NOBYPASSRLS;
		 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
		`GRANT USAGE ON SCHEMA ` + schema + ` TO ` + AppRole,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ` + schema + ` TO ` + AppRole,
		`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ` + schema + ` TO ` + AppRole,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("grant %s: %v", AppRole, err)
		}
	}
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
