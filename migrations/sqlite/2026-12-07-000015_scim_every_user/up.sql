-- Every user of a tenant is a SCIM resource (userName: scim_user_name, else the email), not only
-- those SCIM created or took over: the visible set is the tenant's users not deprovisioned.
DROP INDEX users_scim_visible;
CREATE INDEX users_scim_visible ON users(tenant_id, id) WHERE deprovisioned_at IS NULL;
-- userName filters compare this expression (storage/scim_filter.rs spells it the same way).
CREATE INDEX users_scim_user_name_or_email ON users(tenant_id, COALESCE(scim_user_name_lc, email));
-- The attributes outside the schema the last SCIM write sent (ignored, shown to admins): a
-- JSON array of attribute paths.
ALTER TABLE users ADD COLUMN scim_ignored TEXT NOT NULL DEFAULT '[]';
