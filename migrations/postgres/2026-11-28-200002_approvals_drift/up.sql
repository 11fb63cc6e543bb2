-- PostgreSQL twin of migrations/sqlite/2026-11-28-200002_approvals_drift.
CREATE TABLE drift_checks (
    stack_name TEXT PRIMARY KEY NOT NULL REFERENCES stacks (stack_name) ON DELETE CASCADE,
    next_at TIMESTAMP NOT NULL,
    running_until TIMESTAMP,
    started_at TIMESTAMP,
    checked_at TIMESTAMP,
    error TEXT
);
CREATE INDEX drift_checks_due ON drift_checks (next_at);

CREATE TABLE drift_resources (
    stack_name TEXT NOT NULL REFERENCES stacks (stack_name) ON DELETE CASCADE,
    urn TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    name TEXT NOT NULL,
    op TEXT NOT NULL,
    paths TEXT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    PRIMARY KEY (stack_name, urn)
);
