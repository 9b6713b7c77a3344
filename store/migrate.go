package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// migrationFS holds both dialects' numbered migrations. The numbers are
// what goose records as applied, so they are never changed, reused or
// filled in: 00004 and 00008 were never used and stay so (see
// migrations/README.md).
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	// Set is "whitecross" for our own migrations and "river" for the job
	// queue's tables (River's bundled migrations, numbered separately).
	Set     string
	Version int64
	Name    string
	Applied bool
}

// Migration sets.
const (
	MigrationSetWhitecross = "whitecross"
	MigrationSetRiver      = "river"
)

func (db *DB) migrator() (*goose.Provider, func() error, error) {
	sub, err := fs.Sub(migrationFS, "migrations/"+string(db.Dialect))
	if err != nil {
		return nil, nil, err
	}
	if db.pool != nil {
		sqlDB := stdlib.OpenDBFromPool(db.pool)
		p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub)
		return p, sqlDB.Close, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.write, sub)
	return p, func() error { return nil }, err
}

// riverMigrator is River's migrator for one dialect. Its methods are the
// two the store uses, so that both drivers' generic migrators fit.
type riverMigrator interface {
	Migrate(ctx context.Context, direction rivermigrate.Direction, opts *rivermigrate.MigrateOpts) (*rivermigrate.MigrateResult, error)
	ExistingVersions(ctx context.Context) ([]rivermigrate.Migration, error)
	AllVersions() []rivermigrate.Migration
}

// riverMigrator migrates River's tables next to ours: in the search_path
// schema on PostgreSQL, through the single writer on SQLite. River logs
// nothing here; Migrate reports what it applied.
func (db *DB) riverMigrator() (riverMigrator, error) {
	cfg := &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)}
	if db.pool != nil {
		return rivermigrate.New(riverpgxv5.New(db.pool), cfg)
	}
	return rivermigrate.New(riversqlite.New(db.write), cfg)
}

// Migrate applies every pending migration, ours (each in its own
// transaction) then the job queue's, and returns how many it applied.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	p, closeDB, err := db.migrator()
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	defer closeDB()
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("apply migrations: %w", err)
	}
	rm, err := db.riverMigrator()
	if err != nil {
		return len(res), fmt.Errorf("job queue migrations: %w", err)
	}
	rres, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return len(res), fmt.Errorf("apply job queue migrations: %w", err)
	}
	return len(res) + len(rres.Versions), nil
}

// MigrationStatuses lists every known migration and whether it is applied:
// ours by version, then the job queue's.
func (db *DB) MigrationStatuses(ctx context.Context) ([]MigrationStatus, error) {
	p, closeDB, err := db.migrator()
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	defer closeDB()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st)+8)
	for _, s := range st {
		out = append(out, MigrationStatus{Set: MigrationSetWhitecross, Version: s.Source.Version,
			Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	rm, err := db.riverMigrator()
	if err != nil {
		return nil, fmt.Errorf("job queue migrations: %w", err)
	}
	existing, err := rm.ExistingVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("job queue migration status: %w", err)
	}
	applied := make(map[int]bool, len(existing))
	for _, m := range existing {
		applied[m.Version] = true
	}
	for _, m := range rm.AllVersions() {
		out = append(out, MigrationStatus{Set: MigrationSetRiver, Version: int64(m.Version),
			Name: fmt.Sprintf("river/%03d", m.Version), Applied: applied[m.Version]})
	}
	return out, nil
}
