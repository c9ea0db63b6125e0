-- Roles the app can use: groups from the IdP (per-connection attribute) and from SCIM, tenant
-- rules mapping groups to roles, roles set by hand, and the attributes forwarded to the app.
-- NULL attribute names mean the built-in defaults (see domain::claims).
ALTER TABLE connections ADD COLUMN groups_attribute TEXT;
ALTER TABLE connections ADD COLUMN department_attribute TEXT;
ALTER TABLE connections ADD COLUMN title_attribute TEXT;
ALTER TABLE connections ADD COLUMN employee_number_attribute TEXT;
ALTER TABLE connections ADD COLUMN manager_attribute TEXT;

-- Comma-separated subset of department,title,employee-number,manager.
ALTER TABLE tenants ADD COLUMN forward_attributes TEXT NOT NULL DEFAULT '';

-- JSON arrays: the groups of the last sign-in, and the computed groups and roles that
-- /auth/verify reads with the session (never recomputed there).
ALTER TABLE users ADD COLUMN idp_groups TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN group_names TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN role_names TEXT NOT NULL DEFAULT '[]';

CREATE TABLE role_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    group_name TEXT NOT NULL,
    group_name_lc TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX role_rules_unique ON role_rules(tenant_id, group_name_lc, role);

-- One row per (user, role, source); source is idp, scim or manual.
CREATE TABLE user_roles (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role, source)
);
