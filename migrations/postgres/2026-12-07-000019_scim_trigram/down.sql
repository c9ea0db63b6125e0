DROP INDEX user_emails_trgm_value;
DROP INDEX users_trgm_external_id;
DROP INDEX users_trgm_display_name;
DROP INDEX users_trgm_last_name;
DROP INDEX users_trgm_first_name;
DROP INDEX users_trgm_email;
DROP INDEX users_trgm_user_name;
