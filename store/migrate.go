package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

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

// Migrate applies every pending migration, each in its own transaction, and
// returns how many it applied.
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
	return len(res), nil
}

// MigrationStatuses lists every known migration and whether it is applied.
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
	out := make([]MigrationStatus, len(st))
	for i, s := range st {
		out[i] = MigrationStatus{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied}
	}
	return out, nil
}
