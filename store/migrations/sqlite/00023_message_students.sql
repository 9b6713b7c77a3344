-- +goose Up
-- Issue 15: the students a message is about (at most 20 per message; a
-- reply carries those of the message it answers). The primary key loads a
-- page's student_ids; message_students_student serves a student's
-- communication log ("messages about X, newest first": message ids are
-- UUIDv7, so id order is creation order) and the disclosures accounting.
CREATE TABLE message_students (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    message_id TEXT NOT NULL REFERENCES messages(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    PRIMARY KEY (tenant_id, message_id, student_id)
);
CREATE INDEX message_students_student ON message_students(tenant_id, student_id, message_id DESC);

-- +goose Down
DROP INDEX message_students_student;
DROP TABLE message_students;
