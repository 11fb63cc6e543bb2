-- PostgreSQL twin of migrations/sqlite/2026-11-28-300001_fleet_labels.
ALTER TABLE tenants ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
CREATE TABLE environment_labels (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    environment TEXT NOT NULL,
    labels TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, environment)
);
