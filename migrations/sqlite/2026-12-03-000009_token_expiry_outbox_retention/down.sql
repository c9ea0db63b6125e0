DROP INDEX outbox_events_delivered;
ALTER TABLE admin_tokens DROP COLUMN expires_at;
