-- Times are unix seconds (BIGINT) so one schema serves SQLite and PostgreSQL.
CREATE TABLE tenants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    auto_create_users BOOLEAN NOT NULL DEFAULT 0,
    iwms_attribute TEXT,
    stale_after_days INTEGER NOT NULL DEFAULT 90,
    allowed_return_origins TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE email_domains (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    domain TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX email_domains_tenant ON email_domains(tenant_id);

CREATE TABLE connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    slug TEXT NOT NULL,
    protocol TEXT NOT NULL,
    display_name TEXT NOT NULL,
    attr_email TEXT NOT NULL,
    attr_first_name TEXT NOT NULL,
    attr_last_name TEXT NOT NULL,
    attr_iwms_id TEXT,
    removed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, slug)
);

CREATE TABLE saml_idps (
    connection_id BIGINT PRIMARY KEY REFERENCES connections(id),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    idp_entity_id TEXT NOT NULL,
    idp_sso_url TEXT NOT NULL,
    idp_certificates TEXT NOT NULL,
    allowed_algorithms TEXT NOT NULL,
    allow_idp_initiated BOOLEAN NOT NULL DEFAULT 0,
    sign_requests BOOLEAN NOT NULL DEFAULT 0,
    clock_skew_secs BIGINT NOT NULL DEFAULT 60
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    iwms_id TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    created_via TEXT NOT NULL,
    stale_since BIGINT,
    last_login_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, email),
    UNIQUE (tenant_id, iwms_id)
);
CREATE INDEX users_tenant_activity ON users(tenant_id, stale_since, last_login_at);

CREATE TABLE identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    connection_id BIGINT NOT NULL REFERENCES connections(id),
    subject TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    UNIQUE (connection_id, subject),
    UNIQUE (connection_id, user_id)
);
CREATE INDEX identities_user ON identities(tenant_id, user_id);

CREATE TABLE user_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX user_events_user ON user_events(tenant_id, user_id, id);

CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    connection_id BIGINT REFERENCES connections(id),
    user_id BIGINT REFERENCES users(id),
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    subject TEXT,
    email TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX login_attempts_tenant ON login_attempts(tenant_id, id);
CREATE INDEX login_attempts_user ON login_attempts(tenant_id, user_id, id);

CREATE TABLE pending_authn_requests (
    request_id TEXT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    connection_id BIGINT NOT NULL REFERENCES connections(id),
    relay_state TEXT NOT NULL UNIQUE,
    return_to TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_authn_requests_expiry ON pending_authn_requests(expires_at);

CREATE TABLE used_assertions (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    connection_id BIGINT NOT NULL REFERENCES connections(id),
    assertion_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX used_assertions_expiry ON used_assertions(expires_at);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(tenant_id, user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);
