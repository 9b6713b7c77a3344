-- +goose Up
-- The directory lists users by lower-cased name then id (keyset pagination).
CREATE INDEX users_tenant_lower_name ON users (tenant_id, LOWER(name), id);

-- +goose Down
DROP INDEX users_tenant_lower_name;
