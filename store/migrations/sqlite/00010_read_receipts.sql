-- +goose Up
-- Issue 12: a read receipt records that the person read the message and
-- never goes back. read_at stays the recipient's own box state (marking a
-- message unread clears it); first_read_at is the receipt the sender sees:
-- set by the first read or the first reply, never cleared. Read counts
-- count it.
ALTER TABLE message_recipients ADD COLUMN first_read_at TIMESTAMP;
UPDATE message_recipients SET first_read_at = read_at WHERE read_at IS NOT NULL;
-- A recipient who replied has read what they answered (one pass over the
-- replies, each finding its recipient row by primary key).
UPDATE message_recipients SET first_read_at = r.first_reply
    FROM (SELECT reply_to_id, sender_id, MIN(created_at) AS first_reply FROM messages
          WHERE reply_to_id IS NOT NULL GROUP BY reply_to_id, sender_id) r
    WHERE message_recipients.message_id = r.reply_to_id AND message_recipients.user_id = r.sender_id
    AND message_recipients.first_read_at IS NULL;
CREATE INDEX message_recipients_receipts ON message_recipients(message_id) WHERE first_read_at IS NOT NULL;
DROP INDEX message_recipients_read;

-- +goose Down
CREATE INDEX message_recipients_read ON message_recipients(message_id) WHERE read_at IS NOT NULL;
DROP INDEX message_recipients_receipts;
ALTER TABLE message_recipients DROP COLUMN first_read_at;
