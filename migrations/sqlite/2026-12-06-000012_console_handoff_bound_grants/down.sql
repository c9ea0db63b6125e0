ALTER TABLE sessions DROP COLUMN asserted_email;
ALTER TABLE sessions DROP COLUMN console_handoff;
ALTER TABLE pending_oidc_requests DROP COLUMN console_handoff;
ALTER TABLE pending_authn_requests DROP COLUMN console_handoff;
DROP INDEX admin_grants_user;
ALTER TABLE admin_grants DROP COLUMN user_id;
