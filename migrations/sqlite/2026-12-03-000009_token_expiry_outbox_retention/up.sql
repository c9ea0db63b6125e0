-- Admin API tokens expire (NULL: created with --no-expiry, or before expiry existed).
ALTER TABLE admin_tokens ADD COLUMN expires_at BIGINT;
-- Delivered outbox events older than iwms.delivered_retention_days are purged in age order.
CREATE INDEX outbox_events_delivered ON outbox_events(delivered_at) WHERE status = 'delivered';
