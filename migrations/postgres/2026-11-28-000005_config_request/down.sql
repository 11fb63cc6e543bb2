ALTER TABLE environment_configs DROP COLUMN created_by;
ALTER TABLE environment_configs DROP COLUMN request;
