-- A test sign-in started from the console: validated like any other, then only described
-- to the admin who started it (test_by), never provisioned.
ALTER TABLE pending_authn_requests ADD COLUMN test_by TEXT;
ALTER TABLE pending_oidc_requests ADD COLUMN test_by TEXT;
