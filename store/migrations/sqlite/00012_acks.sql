-- +goose Up
-- Issue 13, part 5: acknowledgement and escalation.
-- A message may ask its recipients to acknowledge it; escalation holds its
-- settings as JSON ({"after_minutes","channels","repeat","other_guardians"}),
-- NULL when it does not escalate.
ALTER TABLE messages ADD COLUMN ack_requested BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE messages ADD COLUMN escalation TEXT;
-- acked_at: the recipient's acknowledgement, set once and never cleared.
-- added_round: the escalation round that made a guardian a recipient (the
-- other custodial guardians of a student); NULL for the message's own
-- recipients, who alone bring others in.
ALTER TABLE message_recipients ADD COLUMN acked_at TIMESTAMP;
ALTER TABLE message_recipients ADD COLUMN added_round INTEGER;
-- Counting a message's acknowledgements reads only those.
CREATE INDEX message_recipients_acks ON message_recipients(message_id) WHERE acked_at IS NOT NULL;
-- A delivery is INITIAL (round 0) or an escalation's (round 1, 2, ...): one
-- per message, recipient, channel and round.
ALTER TABLE deliveries ADD COLUMN attempt_kind TEXT NOT NULL DEFAULT 'INITIAL';
ALTER TABLE deliveries ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
DROP INDEX deliveries_unique;
CREATE UNIQUE INDEX deliveries_unique ON deliveries(message_id, recipient_id, channel, round);

-- +goose Down
-- Escalation deliveries cannot fit the old key: they go, with their timelines.
DELETE FROM delivery_events WHERE delivery_id IN (SELECT id FROM deliveries WHERE round > 0);
DELETE FROM deliveries WHERE round > 0;
DROP INDEX deliveries_unique;
CREATE UNIQUE INDEX deliveries_unique ON deliveries(message_id, recipient_id, channel);
ALTER TABLE deliveries DROP COLUMN round;
ALTER TABLE deliveries DROP COLUMN attempt_kind;
DROP INDEX message_recipients_acks;
ALTER TABLE message_recipients DROP COLUMN added_round;
ALTER TABLE message_recipients DROP COLUMN acked_at;
ALTER TABLE messages DROP COLUMN escalation;
ALTER TABLE messages DROP COLUMN ack_requested;
