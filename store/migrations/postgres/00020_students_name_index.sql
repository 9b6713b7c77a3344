-- +goose Up
-- Issue 14: the admin Students page lists a district's students by name,
-- 50 at a time; without this index every page sorted the whole district
-- (docs/performance.md, "Students page").
CREATE INDEX students_tenant_lower_name ON students (tenant_id, LOWER(name), id);

-- +goose Down
DROP INDEX students_tenant_lower_name;
