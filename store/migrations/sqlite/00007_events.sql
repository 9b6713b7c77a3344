-- +goose Up
-- The durable realtime event log (realtime/, docs/realtime.md). Every user
-- has an ordered stream: each event takes the user's next sequence number
-- in the transaction of the change that causes it, so a client that
-- reconnects receives exactly what it missed. Rows hold ids only, never
-- message content: the gateway loads (and decrypts) what it sends.

-- The last sequence number given to each user. Its row lock orders the
-- user's events: a later transaction waits for an earlier one to commit, so
-- seq N is visible before N+1. It outlives pruned events.
CREATE TABLE user_event_seqs (
    user_id   TEXT PRIMARY KEY REFERENCES users(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    last_seq  INTEGER NOT NULL
);

-- type is message.created, delivery.updated or receipt.read; delivery_id
-- is set for delivery.updated, actor_id (the reader) for receipt.read.
CREATE TABLE user_events (
    user_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    tenant_id   TEXT NOT NULL,
    type        TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    delivery_id TEXT,
    actor_id    TEXT,
    at          TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, seq)
) WITHOUT ROWID;
-- For the age-based prune (PruneEvents).
CREATE INDEX user_events_at ON user_events(at);

-- +goose Down
DROP TABLE user_events;
DROP TABLE user_event_seqs;
