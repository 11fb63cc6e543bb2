DROP INDEX operations_one_running_per_stack;
ALTER TABLE operations DROP COLUMN lease_token;
