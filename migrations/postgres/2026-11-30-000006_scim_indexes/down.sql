DROP INDEX users_scim_user_name_prefix;
DROP INDEX users_lower_display_name;
DROP INDEX users_lower_first_name;
DROP INDEX users_lower_last_name;
DROP INDEX users_scim_visible;
