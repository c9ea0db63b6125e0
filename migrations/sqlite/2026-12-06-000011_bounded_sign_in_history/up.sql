-- Refusals that nothing ties to a real sign-in (no valid signature, no pending request of the
-- browser) are counted per connection, reason and hour instead of stored one row each; the
-- detail is the latest one's, capped like every stored string. Updates touch no indexed
-- column (PostgreSQL updates them in place, HOT).
CREATE TABLE refusal_counts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    connection_id BIGINT NOT NULL REFERENCES connections(id),
    reason TEXT NOT NULL,
    hour_start BIGINT NOT NULL,
    refusals BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    detail TEXT NOT NULL
);
CREATE UNIQUE INDEX refusal_counts_key ON refusal_counts(tenant_id, connection_id, reason, hour_start);
CREATE INDEX refusal_counts_tenant ON refusal_counts(tenant_id, id);
CREATE INDEX refusal_counts_hour ON refusal_counts(hour_start);
-- The retention purge (sign_ins.retention_days) walks attempts by age.
CREATE INDEX login_attempts_created ON login_attempts(created_at);
-- Requests in flight per client address are bounded (sign_ins.max_pending_per_client).
ALTER TABLE pending_authn_requests ADD COLUMN client_key TEXT;
ALTER TABLE pending_oidc_requests ADD COLUMN client_key TEXT;
CREATE INDEX pending_authn_requests_client ON pending_authn_requests(client_key, expires_at);
CREATE INDEX pending_oidc_requests_client ON pending_oidc_requests(client_key, expires_at);
-- An unsigned refusal answering a request of its browser earns a row once per request; later
-- ones are counted (the request stays open for the IdP's real answer).
ALTER TABLE pending_authn_requests ADD COLUMN refused_at BIGINT;
