-- +goose Up
-- Issue 11: a push subscription whose endpoint keeps failing stops being
-- tried. failures counts sends that failed in a row (a send that works
-- resets it), failing_since is when the first of them failed, last_error
-- the latest reason (safe to show: no endpoint). disabled_at is set when
-- it has failed long enough (see store.PushFailuresToDisable): deliveries
-- skip it, the owner still sees it and registering the browser again
-- enables it.
ALTER TABLE push_subscriptions ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE push_subscriptions ADD COLUMN failing_since TIMESTAMPTZ;
ALTER TABLE push_subscriptions ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE push_subscriptions ADD COLUMN disabled_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE push_subscriptions DROP COLUMN disabled_at;
ALTER TABLE push_subscriptions DROP COLUMN last_error;
ALTER TABLE push_subscriptions DROP COLUMN failing_since;
ALTER TABLE push_subscriptions DROP COLUMN failures;
