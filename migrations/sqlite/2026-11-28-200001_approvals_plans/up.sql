-- Change control (issue 18): the update plan a deploy's preview saved (`pulumi preview
-- --save-plan`), sealed with the master key (bound to the operation id: a plan may hold secret
-- inputs), the per-resource change list shown to reviewers (no values), whether the
-- environment's approval policy holds it, and who decided and when. One row per deploy that
-- ran under a policy other than `never`.
CREATE TABLE operation_plans (
    operation_id TEXT PRIMARY KEY NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    plan_sealed BLOB NOT NULL,
    changes TEXT NOT NULL,
    -- Why the policy holds it for approval; NULL when it does not (applied at once).
    hold_reason TEXT,
    config_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- `approved` / `rejected` / `auto` (the policy let it through) / `refused` (stale).
    decision TEXT,
    decided_by TEXT,
    decided_at TIMESTAMP
);
