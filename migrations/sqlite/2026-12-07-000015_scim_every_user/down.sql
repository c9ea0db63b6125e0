ALTER TABLE users DROP COLUMN scim_ignored;
DROP INDEX users_scim_user_name_or_email;
DROP INDEX users_scim_visible;
CREATE INDEX users_scim_visible ON users(tenant_id, id) WHERE scim_user_name IS NOT NULL AND deprovisioned_at IS NULL;
