-- Tenants, versioned environment configs, per-stack state and API tokens.
-- Timestamps are UTC, stored as ISO-8601 text by diesel's Timestamp type.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    aws_account_id TEXT NOT NULL,
    aws_region TEXT NOT NULL,
    role_name TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    -- AES-256-GCM (nonce || ciphertext || tag), bound to the tenant id; never plaintext.
    external_id_sealed BLOB NOT NULL,
    role_verified_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE environment_configs (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    environment TEXT NOT NULL,
    version INTEGER NOT NULL,
    config TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, environment, version)
);

CREATE TABLE stacks (
    stack_name TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    environment TEXT NOT NULL,
    status TEXT NOT NULL,
    outputs TEXT,
    error TEXT,
    last_operation_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, environment)
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    tenant_scope TEXT,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
