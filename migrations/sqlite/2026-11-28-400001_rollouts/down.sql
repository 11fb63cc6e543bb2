ALTER TABLE stacks DROP COLUMN deployed_release;
DROP TABLE rollout_events;
DROP TABLE rollout_targets;
DROP TABLE rollouts;
