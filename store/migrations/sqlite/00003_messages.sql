-- +goose Up
-- Per-tenant data keys that encrypt message content, each wrapped (sealed)
-- by the master key. The newest unretired key seals; every key opens.
CREATE TABLE tenant_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    wrapped_key BYTEA NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    retired_at  TIMESTAMP
);
CREATE INDEX tenant_keys_tenant ON tenant_keys(tenant_id, created_at);

-- Subject, body and attachments are sealed (AES-256-GCM) under a tenant
-- data key; associated data binds tenant, message id and field.
CREATE TABLE messages (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    thread_id          TEXT NOT NULL,
    reply_to_id        TEXT REFERENCES messages(id),
    sender_id          TEXT NOT NULL REFERENCES users(id),
    subject_sealed     BYTEA NOT NULL,
    body_sealed        BYTEA NOT NULL,
    attachments_sealed BYTEA NOT NULL,
    key_id             TEXT NOT NULL REFERENCES tenant_keys(id),
    body_format        TEXT NOT NULL,
    category           TEXT NOT NULL,
    priority           TEXT NOT NULL,
    channels           TEXT NOT NULL,
    sensitive          BOOLEAN NOT NULL,
    status             TEXT NOT NULL,
    recipient_count    INTEGER NOT NULL,
    scheduled_at       TIMESTAMP,
    sent_at            TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX messages_sender ON messages(tenant_id, sender_id, status, id);
CREATE INDEX messages_thread ON messages(tenant_id, thread_id, id);
CREATE INDEX messages_due ON messages(status, scheduled_at);

-- One row per recipient. inbox_key is a UUIDv7 taken when the message lands
-- in the inbox, so inbox order is arrival order and a stable keyset cursor.
CREATE TABLE message_recipients (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    message_id   TEXT NOT NULL REFERENCES messages(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    inbox_key    TEXT,
    delivered_at TIMESTAMP,
    read_at      TIMESTAMP,
    archived_at  TIMESTAMP,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX message_recipients_box ON message_recipients(tenant_id, user_id, inbox_key);
CREATE INDEX message_recipients_pending ON message_recipients(message_id, delivered_at);

-- One row per message x recipient x channel.
CREATE TABLE deliveries (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    message_id   TEXT NOT NULL REFERENCES messages(id),
    recipient_id TEXT NOT NULL REFERENCES users(id),
    channel      TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    provider_id  TEXT,
    queued_at    TIMESTAMP NOT NULL,
    sent_at      TIMESTAMP,
    delivered_at TIMESTAMP,
    failed_at    TIMESTAMP,
    bounced_at   TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX deliveries_unique ON deliveries(message_id, recipient_id, channel);
CREATE INDEX deliveries_status ON deliveries(tenant_id, status);

-- Every state change of a delivery, for its timeline.
CREATE TABLE delivery_events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    status      TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX delivery_events_delivery ON delivery_events(delivery_id, at);

-- Idempotency-Key of POST /messages and replies, per user.
CREATE TABLE idempotency_keys (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    key          TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    message_id   TEXT NOT NULL REFERENCES messages(id),
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, user_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE delivery_events;
DROP TABLE deliveries;
DROP TABLE message_recipients;
DROP TABLE messages;
DROP TABLE tenant_keys;
