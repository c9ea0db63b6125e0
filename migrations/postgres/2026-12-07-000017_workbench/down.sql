DROP INDEX login_attempts_person;
