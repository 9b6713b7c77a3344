-- +goose Up
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE locations (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    parent_id   TEXT REFERENCES locations(id),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX locations_tenant ON locations(tenant_id, parent_id);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    email          TEXT NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    phone          TEXT NOT NULL DEFAULT '',
    locale         TEXT NOT NULL DEFAULT '',
    timezone       TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL DEFAULT '',
    deactivated_at TIMESTAMP,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_tenant_email ON users(tenant_id, email);
CREATE INDEX users_tenant_role ON users(tenant_id, role);

CREATE TABLE user_locations (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    PRIMARY KEY (user_id, location_id)
);
CREATE INDEX user_locations_location ON user_locations(location_id);

CREATE TABLE contact_points (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    kind         TEXT NOT NULL,
    address      TEXT NOT NULL,
    verified_at  TIMESTAMP,
    opted_out_at TIMESTAMP,
    created_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX contact_points_user_kind_address ON contact_points(user_id, kind, address);
CREATE INDEX contact_points_address ON contact_points(tenant_id, kind, address);

CREATE TABLE students (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    location_id TEXT NOT NULL REFERENCES locations(id),
    grade       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX students_location ON students(tenant_id, location_id);

CREATE TABLE guardianships (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    custody    BOOLEAN NOT NULL,
    PRIMARY KEY (student_id, user_id)
);
CREATE INDEX guardianships_user ON guardianships(user_id);

CREATE TABLE user_groups (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users(id),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX user_groups_tenant ON user_groups(tenant_id);

CREATE TABLE group_members (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    group_id  TEXT NOT NULL REFERENCES user_groups(id),
    user_id   TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    client_ip   TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE refresh_tokens (
    hash        BYTEA PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    spent_at    TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start TIMESTAMP NOT NULL,
    lockouts     INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP
);

CREATE TABLE audit_events (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    seq         INTEGER NOT NULL,
    at          TIMESTAMP NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL,
    client_ip   TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}',
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE audit_heads (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    seq       INTEGER NOT NULL,
    hash      BYTEA NOT NULL
);

-- Ed25519 keys that sign access tokens, sealed with the master key
-- (AES-256-GCM, key id as associated data) so a database dump alone cannot mint tokens.
CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    sealed_key  BYTEA NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    retired_at  TIMESTAMP
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE audit_heads;
DROP TABLE audit_events;
DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE group_members;
DROP TABLE user_groups;
DROP TABLE guardianships;
DROP TABLE students;
DROP TABLE contact_points;
DROP TABLE user_locations;
DROP TABLE users;
DROP TABLE locations;
DROP TABLE tenants;
