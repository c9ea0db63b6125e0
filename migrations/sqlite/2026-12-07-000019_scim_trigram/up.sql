-- SCIM `co`, `sw` and `ew` filters answer from these trigram tables (storage/scim_filter.rs):
-- an FTS5 phrase query picks the candidates, the filter's own LIKE then decides, so results
-- are exactly those of the LIKE alone. Triggers keep them in step with users and user_emails;
-- rowid is the row's id. user_name is the userName expression COALESCE(scim_user_name_lc, email).
CREATE VIRTUAL TABLE users_trgm USING fts5(
    user_name, email, first_name, last_name, display_name, external_id,
    tokenize = 'trigram'
);
INSERT INTO users_trgm(rowid, user_name, email, first_name, last_name, display_name, external_id)
    SELECT id, COALESCE(scim_user_name_lc, email), email, first_name, last_name, display_name, external_id
    FROM users;
CREATE TRIGGER users_trgm_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_trgm(rowid, user_name, email, first_name, last_name, display_name, external_id)
    VALUES (new.id, COALESCE(new.scim_user_name_lc, new.email), new.email, new.first_name,
            new.last_name, new.display_name, new.external_id);
END;
CREATE TRIGGER users_trgm_update
AFTER UPDATE OF scim_user_name_lc, email, first_name, last_name, display_name, external_id ON users
BEGIN
    UPDATE users_trgm SET user_name = COALESCE(new.scim_user_name_lc, new.email), email = new.email,
        first_name = new.first_name, last_name = new.last_name, display_name = new.display_name,
        external_id = new.external_id
    WHERE rowid = new.id;
END;
CREATE TRIGGER users_trgm_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_trgm WHERE rowid = old.id;
END;

CREATE VIRTUAL TABLE user_emails_trgm USING fts5(value_lc, tokenize = 'trigram');
INSERT INTO user_emails_trgm(rowid, value_lc) SELECT id, value_lc FROM user_emails;
CREATE TRIGGER user_emails_trgm_insert AFTER INSERT ON user_emails BEGIN
    INSERT INTO user_emails_trgm(rowid, value_lc) VALUES (new.id, new.value_lc);
END;
CREATE TRIGGER user_emails_trgm_update AFTER UPDATE OF value_lc ON user_emails BEGIN
    UPDATE user_emails_trgm SET value_lc = new.value_lc WHERE rowid = new.id;
END;
CREATE TRIGGER user_emails_trgm_delete AFTER DELETE ON user_emails BEGIN
    DELETE FROM user_emails_trgm WHERE rowid = old.id;
END;
