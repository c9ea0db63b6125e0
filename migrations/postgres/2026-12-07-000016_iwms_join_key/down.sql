ALTER TABLE tenants DROP COLUMN iwms_join_key;
