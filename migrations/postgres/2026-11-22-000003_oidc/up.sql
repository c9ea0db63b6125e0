-- OpenID Connect connections: provider settings, cached discovery and keys (shared by all
-- instances), and authorization requests in flight.
CREATE TABLE oidc_providers (
    connection_id BIGINT PRIMARY KEY REFERENCES connections(id),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    client_auth TEXT NOT NULL,
    scopes TEXT NOT NULL,
    allowed_algorithms TEXT NOT NULL,
    use_userinfo BOOLEAN NOT NULL DEFAULT FALSE,
    clock_skew_secs BIGINT NOT NULL DEFAULT 60,
    metadata_json TEXT NOT NULL,
    jwks_json TEXT NOT NULL,
    jwks_fetched_at BIGINT NOT NULL,
    -- Last refetch caused by an unknown kid: they are rate-limited across instances.
    jwks_refetch_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE pending_oidc_requests (
    state_hash TEXT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    connection_id BIGINT NOT NULL REFERENCES connections(id),
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    browser_binding TEXT NOT NULL,
    return_to TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_oidc_requests_expiry ON pending_oidc_requests(expires_at);
