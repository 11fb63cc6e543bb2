-- Fencing: every claim and every take-over of a lease draws a new token, and every write a
-- running attempt makes names the token it holds. An attempt whose lease was taken over
-- (its worker hung, recovery ran) can then no longer store events or a result.
ALTER TABLE operations ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;

-- At most one running operation per stack, enforced by the database itself (the claim's
-- query already guarantees it; this makes a bug there fail loudly instead of racing).
CREATE UNIQUE INDEX operations_one_running_per_stack ON operations (stack_name)
    WHERE status = 'running';
