-- +goose Up
-- Which provider accepted a delivery; callbacks find it by (provider, provider_id).
ALTER TABLE deliveries ADD COLUMN provider TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_provider_id ON deliveries(provider, provider_id) WHERE provider_id IS NOT NULL;
-- The dead-letter view: a tenant's failed deliveries, newest change first.
CREATE INDEX deliveries_dead ON deliveries(tenant_id, status, updated_at, id);

-- Numbers that texted STOP (or that Twilio reported as opted out). The
-- opt-out belongs to the number, whoever's it is, in every district: it is
-- Twilio's sender that the number refused. START removes the row.
CREATE TABLE phone_opt_outs (
    phone        TEXT PRIMARY KEY,
    opted_out_at TIMESTAMPTZ NOT NULL,
    source       TEXT NOT NULL
);

-- Addresses that hard-bounced or complained: never emailed again until an
-- operator removes the row.
CREATE TABLE email_suppressions (
    email      TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Web Push subscriptions, one per browser profile (its endpoint); a browser
-- that another user registers moves to that user.
CREATE TABLE push_subscriptions (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    user_id      UUID NOT NULL REFERENCES users(id),
    endpoint     TEXT NOT NULL UNIQUE,
    p256dh       TEXT NOT NULL,
    auth         TEXT NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX push_subscriptions_user ON push_subscriptions(tenant_id, user_id);

-- +goose Down
DROP TABLE push_subscriptions;
DROP TABLE email_suppressions;
DROP TABLE phone_opt_outs;
DROP INDEX deliveries_dead;
DROP INDEX deliveries_provider_id;
ALTER TABLE deliveries DROP COLUMN provider;
