-- +goose Up
-- Issue 15 part 7: data key rotation. Each tenant's data keys are numbered
-- 1, 2, 3… in the order they were made; the highest unretired one seals new
-- content, and every key keeps opening what it sealed (rows name theirs in
-- key_id). The indexes let the re-encryption job and `keys status` find and
-- count a tenant's rows by key without scanning its other rows.
ALTER TABLE tenant_keys ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE tenant_keys SET version = (
    SELECT COUNT(*) FROM tenant_keys k
    WHERE k.tenant_id = tenant_keys.tenant_id
      AND (k.created_at < tenant_keys.created_at OR (k.created_at = tenant_keys.created_at AND k.id <= tenant_keys.id)));
CREATE UNIQUE INDEX tenant_keys_version ON tenant_keys(tenant_id, version);
CREATE INDEX messages_key ON messages(tenant_id, key_id, id);
CREATE INDEX mfa_totp_key ON mfa_totp(tenant_id, key_id);

-- +goose Down
DROP INDEX mfa_totp_key;
DROP INDEX messages_key;
DROP INDEX tenant_keys_version;
ALTER TABLE tenant_keys DROP COLUMN version;
