-- +goose Up
-- Issue 14: automatic logoff. last_used_at is when the session was last
-- used by a request (NULL: not since it was created), recorded at most once
-- a minute per session; a staff session unused for the district's
-- idle_timeout_minutes ends.
ALTER TABLE sessions ADD COLUMN last_used_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE sessions DROP COLUMN last_used_at;
