ALTER TABLE pending_authn_requests DROP COLUMN refused_at;
DROP INDEX pending_oidc_requests_client;
DROP INDEX pending_authn_requests_client;
ALTER TABLE pending_oidc_requests DROP COLUMN client_key;
ALTER TABLE pending_authn_requests DROP COLUMN client_key;
DROP INDEX login_attempts_created;
DROP TABLE refusal_counts;
