-- +goose Up
-- Issue 13: broadcasts. audience is the audience as the sender gave it
-- (JSON, NULL for none), resolved into message_recipients when the message
-- is dispatched, in batches of users in id order: audience_after is the
-- last user id a committed batch covered (NULL before the first), and
-- audience_resolved_at is set when no user is left, so a crash resumes
-- where the last batch stopped.
ALTER TABLE messages ADD COLUMN audience TEXT;
ALTER TABLE messages ADD COLUMN audience_after TEXT;
ALTER TABLE messages ADD COLUMN audience_resolved_at TIMESTAMPTZ;
-- Audiences by grade read students by grade within a tenant.
CREATE INDEX students_grade ON students(tenant_id, grade);

-- +goose Down
DROP INDEX students_grade;
ALTER TABLE messages DROP COLUMN audience_resolved_at;
ALTER TABLE messages DROP COLUMN audience_after;
ALTER TABLE messages DROP COLUMN audience;
