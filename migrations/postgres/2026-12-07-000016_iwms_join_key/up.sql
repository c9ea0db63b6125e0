-- Which IWMS field identifies a person (iwms_id, email, employee_number, user_name): before an
-- IWMS account is created, the IWMS is asked whether a person with that key exists. NULL: no lookup.
ALTER TABLE tenants ADD COLUMN iwms_join_key TEXT;
