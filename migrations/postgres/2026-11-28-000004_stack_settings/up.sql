-- PostgreSQL twin of migrations/sqlite/2026-11-28-000004_stack_settings.
CREATE TABLE stack_settings (
    stack_name TEXT PRIMARY KEY NOT NULL REFERENCES stacks (stack_name) ON DELETE CASCADE,
    settings_sealed BYTEA,
    check_pending BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMP NOT NULL
);
