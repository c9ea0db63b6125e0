-- SCIM `co`, `sw` and `ew` filters answer from these trigram indexes: each is on the exact
-- expression storage/scim_filter.rs compares with LIKE. pg_trgm is a trusted extension
-- (PostgreSQL >= 13): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_trgm_user_name ON users USING gin (COALESCE(scim_user_name_lc, email) gin_trgm_ops);
CREATE INDEX users_trgm_email ON users USING gin (email gin_trgm_ops);
CREATE INDEX users_trgm_first_name ON users USING gin (lower(first_name) gin_trgm_ops);
CREATE INDEX users_trgm_last_name ON users USING gin (lower(last_name) gin_trgm_ops);
CREATE INDEX users_trgm_display_name ON users USING gin (lower(display_name) gin_trgm_ops);
CREATE INDEX users_trgm_external_id ON users USING gin (external_id gin_trgm_ops);
CREATE INDEX user_emails_trgm_value ON user_emails USING gin (value_lc gin_trgm_ops);
