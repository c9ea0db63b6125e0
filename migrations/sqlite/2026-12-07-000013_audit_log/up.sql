-- Every change an admin makes (console, API, CLI), written in the transaction of the change.
-- Never purged. tenant_id is NULL for changes that belong to no tenant (an all-tenants API
-- token). before/after are JSON snapshots of the resource's admin view, without secrets.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT REFERENCES tenants(id),
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log(tenant_id, id);
