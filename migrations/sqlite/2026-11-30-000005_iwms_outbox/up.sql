-- The IWMS outbox: per-tenant delivery settings, and events written in the same transaction
-- as the change that caused them, delivered at least once by a leasing worker.
ALTER TABLE tenants ADD COLUMN auto_create_iwms BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN iwms_endpoint TEXT;
-- `file:/path` or `env:NAME`: the secret itself never enters the database.
ALTER TABLE tenants ADD COLUMN iwms_secret_source TEXT;
-- JSON list of the event names to send.
ALTER TABLE tenants ADD COLUMN iwms_events TEXT NOT NULL DEFAULT '[]';

CREATE TABLE outbox_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    create_iwms BOOLEAN NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
-- Claims walk pending events in id order and stop at the batch size; the per-user order check
-- looks only at undelivered events. Delivered history never slows either down.
CREATE INDEX outbox_events_pending ON outbox_events(id) WHERE status = 'pending';
CREATE INDEX outbox_events_user_open ON outbox_events(tenant_id, user_id, id) WHERE status <> 'delivered';
CREATE INDEX outbox_events_user ON outbox_events(tenant_id, user_id, id);
