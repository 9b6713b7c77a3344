-- +goose Up
-- Issue 15 part 8: row-level security, a second wall behind the store's own
-- tenant filters. Every table with a tenant_id gets one policy: a row is
-- visible to, and may be written by, a transaction whose
-- whitecross.tenant_id setting is the row's tenant, or whose
-- whitecross.system setting is 'on' (work that spans tenants; the store
-- sets it only in functions that call store.AllTenants). With neither set,
-- nothing is visible. FORCE applies the policy to the tables' owner too;
-- superusers and roles with BYPASSRLS still bypass it (docs/operations.md).
-- The settings are read in scalar subqueries, so PostgreSQL evaluates them
-- once per statement rather than once per row. A table added later with a
-- tenant_id needs the same (TestRowLevelSecurityCoversTenantTables).
-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOR t IN
        SELECT c.relname FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_wall ON %I
            USING (tenant_id = (SELECT NULLIF(current_setting('whitecross.tenant_id', true), '')::uuid)
                OR (SELECT current_setting('whitecross.system', true)) = 'on')$p$, t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOR t IN
        SELECT c.relname FROM pg_class c
        JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = 'tenant_wall'
        WHERE c.relnamespace = current_schema()::regnamespace
    LOOP
        EXECUTE format('DROP POLICY tenant_wall ON %I', t);
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
