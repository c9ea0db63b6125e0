-- The provisioning workbench groups refused sign-ins by person (connection, subject) and
-- asks for each group's newest attempt and its number of refusals.
CREATE INDEX login_attempts_person ON login_attempts(tenant_id, connection_id, subject, id);
