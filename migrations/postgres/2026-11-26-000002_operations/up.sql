-- PostgreSQL twin of migrations/sqlite/2026-11-26-000002_operations.

CREATE TABLE operations (
    -- Monotonic queue position: operations on one stack run in this order.
    seq SERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    stack_name TEXT NOT NULL REFERENCES stacks (stack_name) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    config_version INTEGER,
    executor TEXT NOT NULL,
    external_ref TEXT,
    worker_id TEXT,
    lease_expires_at TIMESTAMP,
    attempt INTEGER NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    stack_status_before TEXT,
    requested_by TEXT,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    error TEXT,
    summary TEXT
);

CREATE INDEX operations_by_status ON operations (status, seq);
CREATE INDEX operations_by_stack ON operations (stack_name, seq);

CREATE TABLE operation_events (
    operation_id TEXT NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (operation_id, seq)
);

ALTER TABLE stacks ADD COLUMN current_operation_id TEXT;
