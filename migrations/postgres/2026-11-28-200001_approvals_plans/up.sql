-- PostgreSQL twin of migrations/sqlite/2026-11-28-200001_approvals_plans.
CREATE TABLE operation_plans (
    operation_id TEXT PRIMARY KEY NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    plan_sealed BYTEA NOT NULL,
    changes TEXT NOT NULL,
    hold_reason TEXT,
    config_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    decision TEXT,
    decided_by TEXT,
    decided_at TIMESTAMP
);
