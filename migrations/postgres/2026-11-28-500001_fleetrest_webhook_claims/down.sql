ALTER TABLE webhook_attempts DROP COLUMN sent_by;
ALTER TABLE webhook_deliveries DROP COLUMN claimed_by;
