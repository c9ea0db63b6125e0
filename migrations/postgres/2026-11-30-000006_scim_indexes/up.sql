-- SCIM list queries at 100,000 users (see README Benchmarks): the users SCIM can see, in id
-- order, and case-insensitive name filters, without scanning the tenant.
CREATE INDEX users_scim_visible ON users(tenant_id, id) WHERE scim_user_name IS NOT NULL AND deprovisioned_at IS NULL;
CREATE INDEX users_lower_last_name ON users(tenant_id, lower(last_name));
CREATE INDEX users_lower_first_name ON users(tenant_id, lower(first_name));
CREATE INDEX users_lower_display_name ON users(tenant_id, lower(display_name));
-- userName sw "…": the database collation may not be C, so LIKE prefixes need pattern ops.
CREATE INDEX users_scim_user_name_prefix ON users(tenant_id, scim_user_name_lc text_pattern_ops);
