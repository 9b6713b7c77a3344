-- +goose Up
-- Issue 14: signing in with a code, and password resets. Only keyed hashes
-- (HMAC-SHA256 under a key derived from the master key) are stored: a copy
-- of the database alone cannot turn a 6-digit hash back into its code.
-- One live code per user: a new request replaces the row (supersedes).
CREATE TABLE signin_codes (
    tenant_id  UUID NOT NULL REFERENCES tenants(id),
    user_id    UUID NOT NULL REFERENCES users(id),
    hash       BYTEA NOT NULL,
    tries      INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    spent_at   TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, user_id)
);
-- A reset link's token (32 random bytes) is found by its hash.
CREATE TABLE password_resets (
    hash       BYTEA PRIMARY KEY,
    tenant_id  UUID NOT NULL REFERENCES tenants(id),
    user_id    UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    spent_at   TIMESTAMPTZ
);
CREATE INDEX password_resets_user ON password_resets(tenant_id, user_id);
-- Sign-in by a text message finds the user by phone.
CREATE INDEX users_tenant_phone ON users(tenant_id, phone) WHERE phone <> '';

-- +goose Down
DROP INDEX users_tenant_phone;
DROP TABLE password_resets;
DROP TABLE signin_codes;
