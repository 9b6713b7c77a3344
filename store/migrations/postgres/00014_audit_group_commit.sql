-- +goose Up
-- Issue 20, part 6: the audit chain is no longer one hot row per tenant.
-- A change writes its audit event here, inside its own transaction, so the
-- event is durable exactly when the change is (and gone when it rolls
-- back); the store's linker then moves events in batches into
-- audit_events, assigning each its place in the tenant's hash chain under
-- the audit_heads row. Only the linker touches that row, so requests of one
-- tenant no longer wait for each other's commits. id orders a tenant's
-- pending events; no foreign key, so that inserts take no lock on the
-- tenant row (audit_events keeps its own).
CREATE TABLE audit_pending (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   UUID NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL,
    client_ip   TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL
);
CREATE INDEX audit_pending_tenant ON audit_pending(tenant_id, id);

-- +goose Down
DROP TABLE audit_pending;
