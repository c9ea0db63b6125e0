-- A test sign-in started from the console: validated like any other, then only described
-- to the admin who started it (test_by), never provisioned.
ALTER TABLE pending_authn_requests ADD COLUMN test_by TEXT;
ALTER TABLE pending_oidc_requests ADD COLUMN test_by TEXT;
-- SCIM filters on a case-insensitive IWMS attribute (`employeeNumber eq "…"`) count as index
-- lookups; SQLite has had this index since 000008, PostgreSQL only its COLLATE "C" twin.
CREATE INDEX users_lower_iwms_id ON users(tenant_id, lower(iwms_id));
