DROP TABLE outbox_events;
ALTER TABLE tenants DROP COLUMN iwms_events;
ALTER TABLE tenants DROP COLUMN iwms_secret_source;
ALTER TABLE tenants DROP COLUMN iwms_endpoint;
ALTER TABLE tenants DROP COLUMN auto_create_iwms;
