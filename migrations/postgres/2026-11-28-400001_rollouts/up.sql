-- Rollouts (issue 19): one change (a JSON merge patch of the config, or a redeploy) rolled
-- across many environments in waves. Progress lives here so that any process running workers
-- can drive a rollout after another died: `driver_id`/`driver_until` is the lease of the
-- process driving it; each target records its operation in the transaction that enqueues it.
CREATE TABLE rollouts (
    id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    spec TEXT NOT NULL,
    max_parallel INTEGER NOT NULL,
    failure_budget INTEGER NOT NULL,
    bake_seconds INTEGER NOT NULL,
    wave_count INTEGER NOT NULL,
    current_wave INTEGER NOT NULL DEFAULT 0,
    wave_done_at TIMESTAMP,
    halt_reason TEXT,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    driver_id TEXT,
    driver_until TIMESTAMP,
    event_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rollouts_status ON rollouts (status);
CREATE TABLE rollout_targets (
    rollout_id TEXT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    wave INTEGER NOT NULL,
    tenant_id TEXT NOT NULL,
    tenant_slug TEXT NOT NULL,
    environment TEXT NOT NULL,
    stack_name TEXT NOT NULL,
    status TEXT NOT NULL,
    config_version INTEGER,
    operation_id TEXT,
    error TEXT,
    field_errors TEXT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (rollout_id, position)
);
CREATE INDEX rollout_targets_stack ON rollout_targets (stack_name, status);
CREATE TABLE rollout_events (
    rollout_id TEXT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (rollout_id, seq)
);
-- The byoc release (version and component catalog identity) a stack's last successful deploy
-- ran with.
ALTER TABLE stacks ADD COLUMN deployed_release TEXT;
