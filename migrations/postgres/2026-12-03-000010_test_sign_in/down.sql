DROP INDEX users_lower_iwms_id;
ALTER TABLE pending_oidc_requests DROP COLUMN test_by;
ALTER TABLE pending_authn_requests DROP COLUMN test_by;
