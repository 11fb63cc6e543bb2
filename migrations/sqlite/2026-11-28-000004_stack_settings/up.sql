-- What byoc keeps about a stack's Pulumi workspace between runs, since every run starts in a
-- fresh directory: the stack settings file `Pulumi.<stack>.yaml` (secrets provider, its
-- encrypted data key or salt, and the stack config), sealed with the master key; and whether
-- the stack's checkpoint may hold pending operations that the next run must resolve first
-- (a run was killed, or its worker died).
CREATE TABLE stack_settings (
    stack_name TEXT PRIMARY KEY NOT NULL REFERENCES stacks (stack_name) ON DELETE CASCADE,
    settings_sealed BLOB,
    check_pending BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMP NOT NULL
);
