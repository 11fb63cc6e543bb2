-- Each config version keeps the request document that was posted (so GET can return it for
-- editing and re-posting) and the name of the token that saved it. Both are NULL for versions
-- saved before this migration: their request is derived from the resolved config instead.
ALTER TABLE environment_configs ADD COLUMN request TEXT;
ALTER TABLE environment_configs ADD COLUMN created_by TEXT;
