-- +goose Up
-- Issue 15, part 3: the audit viewer filters a district's events by actor,
-- action or target and pages newest first (seq descending); since/until
-- select by time. Each filter is one index range in seq order.
CREATE INDEX audit_events_actor ON audit_events(tenant_id, actor_id, seq);
CREATE INDEX audit_events_action ON audit_events(tenant_id, action, seq);
CREATE INDEX audit_events_target ON audit_events(tenant_id, target_id, seq);
CREATE INDEX audit_events_at ON audit_events(tenant_id, at);

-- A message.read event of a list page or live frames names several
-- messages in its detail; the linker also writes one row per message
-- here, so the viewer's target_id filter finds every read of a message by
-- index. Not part of the chain (the events are): an index, not a record.
CREATE TABLE audit_read_messages (
    tenant_id  UUID NOT NULL,
    message_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, message_id, seq)
);

-- +goose Down
DROP TABLE audit_read_messages;
DROP INDEX audit_events_at;
DROP INDEX audit_events_target;
DROP INDEX audit_events_action;
DROP INDEX audit_events_actor;
