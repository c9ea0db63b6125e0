-- Administration: who may administer a tenant (a CLI grant by email, or a role the IdP maps
-- at sign-in), API bearer tokens, console sessions and single-use bootstrap links. Tokens are
-- stored as HMACs only. A NULL tenant_id means every tenant (super-admin).
CREATE TABLE admin_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, email)
);

-- The IdP attribute (e.g. groups) and the value in it that makes a user an admin.
ALTER TABLE connections ADD COLUMN admin_role_attribute TEXT;
ALTER TABLE connections ADD COLUMN admin_role_value TEXT;
-- Whether the IdP said, at this sign-in, that the user is an admin.
ALTER TABLE sessions ADD COLUMN idp_admin BOOLEAN NOT NULL DEFAULT 0;

CREATE TABLE admin_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT REFERENCES tenants(id),
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY,
    tenant_id BIGINT REFERENCES tenants(id),
    user_id BIGINT REFERENCES users(id),
    actor TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX admin_sessions_expiry ON admin_sessions(expires_at);
CREATE INDEX admin_sessions_user ON admin_sessions(user_id);

CREATE TABLE bootstrap_links (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
