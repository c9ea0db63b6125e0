-- The admin console at 100,000 users per tenant (see README Benchmarks). Each view of the
-- user list is a partial index on (tenant_id, id): its first page, a keyset page deep in it
-- and its count read only that index, never the tenant's other rows. Status values are
-- literals in the queries too (src/storage/users.rs), so the planner can match them. SQLite
-- has no statistics here, so the counts name these indexes (INDEXED BY): keep the names.
CREATE INDEX users_view_all ON users(tenant_id, id);
CREATE INDEX users_view_active ON users(tenant_id, id) WHERE status = 'active' AND stale_since IS NULL AND deprovisioned_at IS NULL;
CREATE INDEX users_view_stale ON users(tenant_id, id) WHERE stale_since IS NOT NULL AND deprovisioned_at IS NULL;
CREATE INDEX users_view_deactivated ON users(tenant_id, id) WHERE status = 'deactivated' AND deprovisioned_at IS NULL;
CREATE INDEX users_view_deprovisioned ON users(tenant_id, id) WHERE deprovisioned_at IS NOT NULL;
-- Prefix search: a prefix is a range of (tenant_id, lower(column)). Email uses the unique
-- (tenant_id, email) index (emails are stored lower-case), first and last name the indexes
-- of migration 000006; the IWMS ID needs its own.
CREATE INDEX users_lower_iwms_id ON users(tenant_id, lower(iwms_id));
-- Sign-in history filtered by reason, outcome or connection, newest first.
CREATE INDEX login_attempts_reason ON login_attempts(tenant_id, reason, id);
CREATE INDEX login_attempts_outcome ON login_attempts(tenant_id, outcome, id);
CREATE INDEX login_attempts_connection ON login_attempts(tenant_id, connection_id, id);
