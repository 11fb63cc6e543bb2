-- Labels (`tier=gold`, `ring=canary`) on tenants and environments, a JSON object of
-- validated keys and values (domain::labels); list endpoints filter on them with selectors.
ALTER TABLE tenants ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
-- An environment is not a row of its own (it is its configs and its stack): its labels are.
CREATE TABLE environment_labels (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    environment TEXT NOT NULL,
    labels TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, environment)
);
