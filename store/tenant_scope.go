package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whitecross"
)

// Row-level security (PostgreSQL, migration 00028) is the second wall
// behind the store's own tenant filters: every table with a tenant_id shows
// a transaction only the rows of the tenant named by its
// whitecross.tenant_id setting, or every row when whitecross.system is 'on'.
// The store sets one of them, local to the transaction, from ctx: the
// caller's tenant, or the system setting where a store function has called
// AllTenants. With neither a query sees nothing, so a query that forgot its
// tenant filter returns no other district's rows, and work that forgot to
// say it spans tenants fails loudly instead of quietly reading everything.
// SQLite has no such wall; nothing here applies to it.

type allTenantsKey struct{}

// AllTenants marks ctx for work that spans tenants — finding a session by
// its token, a delivery by its provider's id, listing the audit chains to
// link, a batch of deliveries of several tenants — so that its
// transactions see every tenant's rows.
// Every use is a place where the store's own filters are the only wall:
// grep for it.
func AllTenants(ctx context.Context) context.Context {
	return context.WithValue(ctx, allTenantsKey{}, true)
}

type tenantScopeKey struct{}

// inTenant scopes ctx's transactions to tenantID, for system work on one
// tenant that a store function is given by argument rather than by its
// caller (linking a tenant's audit chain, say). It takes precedence over
// the caller's tenant and over an AllTenants ctx.
func inTenant(ctx context.Context, tenantID string) context.Context {
	return context.WithValue(context.WithValue(ctx, allTenantsKey{}, false), tenantScopeKey{}, tenantID)
}

// scopeSetting returns the setting and value that scope ctx's transactions,
// or "" when ctx names no tenant and is not AllTenants.
func scopeSetting(ctx context.Context) (name, value string) {
	if all, _ := ctx.Value(allTenantsKey{}).(bool); all {
		return "whitecross.system", "on"
	}
	if tenantID, ok := ctx.Value(tenantScopeKey{}).(string); ok {
		if id, ok := parseID(tenantID); ok {
			return "whitecross.tenant_id", id
		}
		return "", ""
	}
	if a := whitecross.ActorFromContext(ctx); a != nil {
		if id, ok := parseID(a.TenantID); ok {
			return "whitecross.tenant_id", id
		}
	}
	return "", ""
}

// beginSQL is the BEGIN of a PostgreSQL transaction for ctx with its scope
// set in the same round trip (pgx sends a statement without arguments over
// the simple protocol, which takes several). value is a canonical UUID or
// "on", so it is safe to write into the text.
func beginSQL(ctx context.Context) string {
	name, value := scopeSetting(ctx)
	if name == "" {
		return "BEGIN"
	}
	return "BEGIN; SELECT set_config('" + name + "', '" + value + "', true)"
}

// scopedPool runs a read outside a transaction with ctx's scope: the
// set_config and the statement go in one batch, which PostgreSQL runs as
// one implicit transaction (they share a Sync) and pgx sends in one round
// trip.
type scopedPool struct{ pool *pgxpool.Pool }

const setScopeSQL = "SELECT set_config($1, $2, true)"

// send starts the batch of ctx's scope and the statement; ok is false when
// ctx has no scope (the statement then runs alone and sees no tenant rows).
func (p scopedPool) send(ctx context.Context, query string, args []any) (pgx.BatchResults, bool, error) {
	name, value := scopeSetting(ctx)
	if name == "" {
		return nil, false, nil
	}
	b := &pgx.Batch{}
	b.Queue(setScopeSQL, name, value)
	b.Queue(query, args...)
	br := p.pool.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, true, interpretError(err)
	}
	return br, true, nil
}

func (p scopedPool) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	br, scoped, err := p.send(ctx, query, args)
	if !scoped || err != nil {
		if err != nil {
			return 0, err
		}
		return pgxQuerier{p.pool}.Exec(ctx, query, args...)
	}
	defer br.Close()
	tag, err := br.Exec()
	return tag.RowsAffected(), interpretError(err)
}

func (p scopedPool) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	br, scoped, err := p.send(ctx, query, args)
	if !scoped || err != nil {
		if err != nil {
			return nil, err
		}
		return pgxQuerier{p.pool}.Query(ctx, query, args...)
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, interpretError(err)
	}
	return batchRows{pgxRows{rows}, br}, nil
}

func (p scopedPool) QueryRow(ctx context.Context, query string, args ...any) Row {
	br, scoped, err := p.send(ctx, query, args)
	if !scoped || err != nil {
		if err != nil {
			return failedRow{err}
		}
		return pgxQuerier{p.pool}.QueryRow(ctx, query, args...)
	}
	return errRow{batchRow{br.QueryRow(), br}}
}

// batchRows are a batch's rows; closing them ends the batch and returns
// its connection to the pool.
type batchRows struct {
	pgxRows
	br pgx.BatchResults
}

func (r batchRows) Close() {
	r.pgxRows.Close()
	r.br.Close()
}

// batchRow is a batch's single row; scanning it ends the batch.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// failedRow is a Row whose query could not be sent.
type failedRow struct{ err error }

func (r failedRow) Scan(...any) error { return r.err }
