DROP TABLE bootstrap_links;
DROP INDEX admin_sessions_user;
DROP INDEX admin_sessions_expiry;
DROP TABLE admin_sessions;
DROP TABLE admin_tokens;
ALTER TABLE sessions DROP COLUMN idp_admin;
ALTER TABLE connections DROP COLUMN admin_role_value;
ALTER TABLE connections DROP COLUMN admin_role_attribute;
DROP TABLE admin_grants;
