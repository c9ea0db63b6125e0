-- An admin grant binds to the user it first admits (by id) and follows that user through
-- renames; a grant not yet bound is claimed only by a console sign-in whose IdP asserted its
-- address at that sign-in. (No foreign key: users are never deleted, and SQLite cannot drop
-- a column that one names.)
ALTER TABLE admin_grants ADD COLUMN user_id BIGINT;
CREATE INDEX admin_grants_user ON admin_grants(tenant_id, user_id);
-- A console sign-in (started at /admin/login) carries the SHA-256 of a one-time value whose
-- host-only cookie only that browser holds. The session the sign-in ends in keeps the hash
-- until /admin/sso spends it, and the address the IdP asserted at that sign-in.
ALTER TABLE pending_authn_requests ADD COLUMN console_handoff TEXT;
ALTER TABLE pending_oidc_requests ADD COLUMN console_handoff TEXT;
ALTER TABLE sessions ADD COLUMN console_handoff TEXT;
ALTER TABLE sessions ADD COLUMN asserted_email TEXT;
