-- +goose Up
-- Issue 14: OneRoster import. external_id is the roster's sourcedId of an
-- imported location, user or student ('' for those made by hand, which an
-- import never touches); unique within a tenant.
ALTER TABLE locations ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX locations_tenant_external ON locations(tenant_id, external_id) WHERE external_id <> '';
ALTER TABLE users ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_tenant_external ON users(tenant_id, external_id) WHERE external_id <> '';
-- An imported guardian may have a phone and no email: emails are unique
-- only where there is one. Sign-in still finds a user by email through an
-- index that needs no such condition.
DROP INDEX users_tenant_email;
CREATE UNIQUE INDEX users_tenant_email ON users(tenant_id, email) WHERE email <> '';
CREATE INDEX users_tenant_email_lookup ON users(tenant_id, email);
ALTER TABLE students ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN deactivated_at TIMESTAMP;
CREATE UNIQUE INDEX students_tenant_external ON students(tenant_id, external_id) WHERE external_id <> '';
-- A link the roster made; an import replaces only those.
ALTER TABLE guardianships ADD COLUMN imported BOOLEAN NOT NULL DEFAULT FALSE;

-- One import: its report (counts and row errors as JSON) and state.
CREATE TABLE roster_imports (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    created_by  TEXT NOT NULL DEFAULT '',
    dry_run     BOOLEAN NOT NULL,
    status      TEXT NOT NULL,
    counts      TEXT NOT NULL DEFAULT '{}',
    errors      TEXT NOT NULL DEFAULT '[]',
    error_count INTEGER NOT NULL DEFAULT 0,
    failure     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    heartbeat_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX roster_imports_tenant ON roster_imports(tenant_id, created_at);
-- One import of a district runs at a time; heartbeat_at, moved by every
-- step, tells one whose server stopped (it is then marked FAILED).
CREATE UNIQUE INDEX roster_imports_running ON roster_imports(tenant_id) WHERE status = 'RUNNING';

-- The rows of an import while it runs (deleted when it ends): kind 'org'
-- (orgs.csv) or 'user' (users.csv; student tells a student). new_id and
-- the point ids are the ids a created row and its contact points get
-- (made by the server: UUIDv7 as everywhere). skipped marks a row reported
-- as bad: it changes nothing, and what it stands for is not deactivated.
-- match_id is the existing record it is (by external_id; the district's
-- own root location for its district), NULL for a new one. action is what
-- the import does with it: 'create', 'update', 'deactivate' or ''.
CREATE TABLE roster_rows (
    import_id         TEXT NOT NULL REFERENCES roster_imports(id),
    kind              TEXT NOT NULL,
    sourced_id        TEXT NOT NULL,
    line              INTEGER NOT NULL,
    new_id            TEXT NOT NULL,
    match_id          TEXT,
    email_point_id    TEXT NOT NULL,
    phone_point_id    TEXT NOT NULL,
    student           BOOLEAN NOT NULL DEFAULT FALSE,
    name              TEXT NOT NULL DEFAULT '',
    role              TEXT NOT NULL DEFAULT '',
    location_kind     TEXT NOT NULL DEFAULT '',
    parent_sourced_id TEXT NOT NULL DEFAULT '', -- an org's parent; a student's school
    custody           BOOLEAN NOT NULL DEFAULT FALSE,
    email             TEXT NOT NULL DEFAULT '',
    phone             TEXT NOT NULL DEFAULT '',
    grade             TEXT NOT NULL DEFAULT '',
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    deleted           BOOLEAN NOT NULL DEFAULT FALSE,
    skipped           BOOLEAN NOT NULL DEFAULT FALSE,
    action            TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (import_id, kind, sourced_id)
);
-- The checks look up staged rows by email, and bad rows by the record
-- they stand for.
CREATE INDEX roster_rows_email ON roster_rows(import_id, email);
CREATE INDEX roster_rows_match ON roster_rows(import_id, match_id);
-- Its links: kind 'org' (a person's or student's orgs) or 'agent' (a
-- student's guardians, or a guardian's students).
CREATE TABLE roster_links (
    import_id  TEXT NOT NULL REFERENCES roster_imports(id),
    kind       TEXT NOT NULL,
    sourced_id TEXT NOT NULL,
    target_id  TEXT NOT NULL,
    PRIMARY KEY (import_id, kind, sourced_id, target_id)
);
-- What the import wants, by record id (existing or new): kind 'guardian'
-- (left a student, right a guardian, with custody) or 'location' (left a
-- staff member, right a location).
CREATE TABLE roster_pairs (
    import_id TEXT NOT NULL REFERENCES roster_imports(id),
    kind      TEXT NOT NULL,
    left_id   TEXT NOT NULL,
    right_id  TEXT NOT NULL,
    custody   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (import_id, kind, left_id, right_id)
);

-- +goose Down
DROP TABLE roster_pairs;
DROP TABLE roster_links;
DROP TABLE roster_rows;
DROP TABLE roster_imports;
ALTER TABLE guardianships DROP COLUMN imported;
DROP INDEX students_tenant_external;
ALTER TABLE students DROP COLUMN deactivated_at;
ALTER TABLE students DROP COLUMN external_id;
DROP INDEX users_tenant_email_lookup;
DROP INDEX users_tenant_email;
CREATE UNIQUE INDEX users_tenant_email ON users(tenant_id, email);
DROP INDEX users_tenant_external;
ALTER TABLE users DROP COLUMN external_id;
DROP INDEX locations_tenant_external;
ALTER TABLE locations DROP COLUMN external_id;
