-- PostgreSQL twin of migrations/sqlite/2026-11-27-000003_lease_fencing.
ALTER TABLE operations ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;

-- At most one running operation per stack, enforced by the database itself: with workers on
-- several hosts this index, not any process, is what makes a second claim on a stack fail.
CREATE UNIQUE INDEX operations_one_running_per_stack ON operations (stack_name)
    WHERE status = 'running';
