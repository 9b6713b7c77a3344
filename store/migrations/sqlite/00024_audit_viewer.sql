-- +goose Up
-- Issue 15, part 3: the audit viewer filters a district's events by actor,
-- action or target and pages newest first (seq descending); since/until
-- select by time. Each filter is one index range in seq order.
CREATE INDEX audit_events_actor ON audit_events(tenant_id, actor_id, seq);
CREATE INDEX audit_events_action ON audit_events(tenant_id, action, seq);
CREATE INDEX audit_events_target ON audit_events(tenant_id, target_id, seq);
CREATE INDEX audit_events_at ON audit_events(tenant_id, at);

-- +goose Down
DROP INDEX audit_events_at;
DROP INDEX audit_events_target;
DROP INDEX audit_events_action;
DROP INDEX audit_events_actor;
