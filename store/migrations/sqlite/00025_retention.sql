-- +goose Up
-- Issue 15 part 4: retention and legal holds. A hold names one person
-- (user_id) or one student (student_id), never both; while released_at is
-- null the purge keeps every message the person sent or received, or that
-- is about the student. A released hold stays, as the record of the hold.
CREATE TABLE legal_holds (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    user_id     TEXT REFERENCES users(id),
    student_id  TEXT REFERENCES students(id),
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users(id),
    created_at  TIMESTAMP NOT NULL,
    released_at TIMESTAMP,
    released_by TEXT REFERENCES users(id),
    CHECK ((user_id IS NULL) <> (student_id IS NULL))
);
CREATE INDEX legal_holds_tenant ON legal_holds(tenant_id, created_at);

-- The purge walks a district's messages oldest first, and deletes the rows
-- keyed to them by message id: without these it would scan whole tables.
CREATE INDEX messages_created ON messages(tenant_id, created_at, id);
CREATE INDEX idempotency_keys_message ON idempotency_keys(message_id);
CREATE INDEX user_events_message ON user_events(message_id);
-- Deleting a message checks that no reply still names it (the foreign key
-- of reply_to_id): without an index that is a scan of every message, per
-- message deleted. Few messages are replies, so the index is partial.
CREATE INDEX messages_reply_to ON messages(reply_to_id) WHERE reply_to_id IS NOT NULL;
-- The same check for the students a message is about (message_students'
-- keys lead with the tenant), and the purge's delete of those rows.
CREATE INDEX message_students_message ON message_students(message_id);

-- +goose Down
DROP INDEX message_students_message;
DROP INDEX messages_reply_to;
DROP INDEX user_events_message;
DROP INDEX idempotency_keys_message;
DROP INDEX messages_created;
DROP INDEX legal_holds_tenant;
DROP TABLE legal_holds;
