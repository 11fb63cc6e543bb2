ALTER TABLE stacks DROP COLUMN current_operation_id;
DROP TABLE operation_events;
DROP TABLE operations;
