-- +goose Up
-- Indexes of the read side of messaging (boxes, counts, read counts).

-- A recipient's boxes and counts: keyset by inbox_key with every column the
-- inbox, archived box and CountMessages filter on, so a page or a count of
-- a user with thousands of messages reads only this index (PostgreSQL
-- index-only scan, SQLite covering index) instead of one table page per
-- message. It supersedes message_recipients_box (same leading columns).
CREATE INDEX message_recipients_inbox ON message_recipients(tenant_id, user_id, inbox_key, message_id, delivered_at, archived_at, read_at);
DROP INDEX message_recipients_box;

-- The sent box lists a sender's SENDING and SENT messages newest first;
-- messages_sender puts status before id, which would sort every sent
-- message of the sender for each page.
CREATE INDEX messages_sent ON messages(tenant_id, sender_id, id);

-- Read counts of a page of messages touch only the rows that were read.
CREATE INDEX message_recipients_read ON message_recipients(message_id) WHERE read_at IS NOT NULL;

-- +goose Down
DROP INDEX message_recipients_read;
DROP INDEX messages_sent;
CREATE INDEX message_recipients_box ON message_recipients(tenant_id, user_id, inbox_key);
DROP INDEX message_recipients_inbox;
