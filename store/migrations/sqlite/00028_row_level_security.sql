-- +goose Up
-- Issue 15 part 8: row-level security is PostgreSQL's (see the postgres
-- migration of the same number). SQLite has none; a SQLite database is one
-- process's file, not a server that several districts' sessions share.
SELECT 1;

-- +goose Down
SELECT 1;
