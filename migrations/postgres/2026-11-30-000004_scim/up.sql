-- SCIM 2.0: per-tenant bearer tokens, the SCIM view of users (indexed attributes as columns,
-- the rest of the resource as canonical JSON), multi-valued emails, groups and memberships.
ALTER TABLE tenants ADD COLUMN scim_iwms_attribute TEXT;

CREATE TABLE scim_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX scim_tokens_tenant ON scim_tokens(tenant_id, id);

-- A user is under SCIM when scim_user_name is set; SCIM DELETE sets deprovisioned_at (the
-- row stays: there is no deletion path).
ALTER TABLE users ADD COLUMN scim_user_name TEXT;
ALTER TABLE users ADD COLUMN scim_user_name_lc TEXT;
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN nick_name TEXT;
ALTER TABLE users ADD COLUMN title TEXT;
ALTER TABLE users ADD COLUMN department TEXT;
ALTER TABLE users ADD COLUMN employee_number TEXT;
ALTER TABLE users ADD COLUMN manager_id TEXT;
ALTER TABLE users ADD COLUMN scim_doc TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN deprovisioned_at BIGINT;
CREATE UNIQUE INDEX users_scim_user_name ON users(tenant_id, scim_user_name_lc);
CREATE INDEX users_external_id ON users(tenant_id, external_id);

CREATE TABLE user_emails (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    value TEXT NOT NULL,
    value_lc TEXT NOT NULL,
    kind TEXT,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX user_emails_value ON user_emails(tenant_id, value_lc);
CREATE INDEX user_emails_user ON user_emails(user_id);

CREATE TABLE scim_groups (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    display_name TEXT NOT NULL,
    external_id TEXT,
    scim_doc TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX scim_groups_name ON scim_groups(tenant_id, display_name);

CREATE TABLE group_members (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    group_id BIGINT NOT NULL REFERENCES scim_groups(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(tenant_id, user_id);
