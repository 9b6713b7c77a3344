-- +goose Up
-- Issue 13: broadcasts. audience is the audience as the sender gave it
-- (JSON, NULL for none), resolved into message_recipients when the message
-- is dispatched, in batches of users in id order: audience_after is the
-- last user id a committed batch covered (NULL before the first), and
-- audience_resolved_at is set when no user is left, so a crash resumes
-- where the last batch stopped.
ALTER TABLE messages ADD COLUMN audience TEXT;
ALTER TABLE messages ADD COLUMN audience_after TEXT;
ALTER TABLE messages ADD COLUMN audience_resolved_at TIMESTAMP;
-- Audiences by grade read students by grade within a tenant.
CREATE INDEX students_grade ON students(tenant_id, grade);
-- Resolution steps over a district's users in id order.
CREATE INDEX users_tenant_id ON users(tenant_id, id);
-- Dispatch reads the recipients not yet in their inbox, in user order, at
-- every batch: only those rows are indexed, so a batch does not read past
-- the ones already served.
CREATE INDEX message_recipients_undelivered ON message_recipients(message_id, user_id) WHERE delivered_at IS NULL;

-- +goose Down
DROP INDEX message_recipients_undelivered;
DROP INDEX users_tenant_id;
DROP INDEX students_grade;
ALTER TABLE messages DROP COLUMN audience_resolved_at;
ALTER TABLE messages DROP COLUMN audience_after;
ALTER TABLE messages DROP COLUMN audience;
