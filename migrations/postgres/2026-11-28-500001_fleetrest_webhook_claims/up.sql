-- PostgreSQL twin of migrations/sqlite/2026-11-28-500001_fleetrest_webhook_claims.
-- Webhook deliveries by any process (serve or worker): which process holds a delivery's
-- current try (its lease is next_attempt_at), and which process made each logged try.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE webhook_attempts ADD COLUMN sent_by TEXT;
