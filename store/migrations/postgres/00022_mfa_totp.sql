-- +goose Up
-- Issue 14: two-step sign-in (TOTP, RFC 6238). The secret is sealed with
-- the tenant's data key (key_id names it, as for message content); a code
-- of a step up to last_step is refused, so a code works once.
CREATE TABLE mfa_totp (
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    user_id      UUID NOT NULL REFERENCES users(id),
    key_id       UUID NOT NULL REFERENCES tenant_keys(id),
    secret       BYTEA NOT NULL,
    confirmed_at TIMESTAMPTZ,
    last_step    BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
-- Recovery codes (80 random bits each) are stored as SHA-256 hashes.
CREATE TABLE mfa_recovery_codes (
    tenant_id UUID NOT NULL REFERENCES tenants(id),
    user_id   UUID NOT NULL REFERENCES users(id),
    hash      BYTEA NOT NULL,
    used_at   TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, user_id, hash)
);
-- An mfa_token (32 random bytes) is found by its hash: 5 minutes, single
-- use, a few wrong codes. A user's spent and expired ones are deleted when
-- the next is issued.
CREATE TABLE mfa_challenges (
    hash         BYTEA PRIMARY KEY,
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    user_id      UUID NOT NULL REFERENCES users(id),
    first_factor TEXT NOT NULL,
    tries        INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    spent_at     TIMESTAMPTZ
);
CREATE INDEX mfa_challenges_user ON mfa_challenges(tenant_id, user_id);

-- +goose Down
DROP INDEX mfa_challenges_user;
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
