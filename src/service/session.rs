//! Browser sessions: the cookie holds a random token; the database holds only its HMAC, so
//! a database leak does not yield usable sessions.
use crate::config::Secret;
use crate::domain::ids::{TenantId, UserId};
use crate::storage::sessions::{self, SessionUser};
use crate::storage::{DbConnection, StorageError};

/// HMAC-SHA256 (RFC 2104) of the token under the session secret, hex-encoded. Infallible by
/// construction: a failure must never map every token to one value.
pub fn hash_token(secret: &Secret, token: &str) -> String {
    hex::encode(crate::hmac::sha256(
        secret.expose().as_bytes(),
        token.as_bytes(),
    ))
}

/// Creates a session and returns the cookie token.
pub fn open(
    conn: &mut DbConnection,
    secret: &Secret,
    tenant: TenantId,
    user: UserId,
    now: i64,
    expires_at: i64,
    idp_admin: bool,
) -> Result<String, StorageError> {
    let token = crate::random::token();
    sessions::create(
        conn,
        &hash_token(secret, &token),
        tenant,
        user,
        now,
        expires_at,
        idp_admin,
    )?;
    Ok(token)
}

pub fn current(
    conn: &mut DbConnection,
    secret: &Secret,
    token: &str,
    now: i64,
) -> Result<Option<SessionUser>, StorageError> {
    if token.len() > 128 {
        return Ok(None);
    }
    sessions::lookup(conn, &hash_token(secret, token), now)
}

pub fn close(conn: &mut DbConnection, secret: &Secret, token: &str) -> Result<(), StorageError> {
    sessions::delete(conn, &hash_token(secret, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let secret = Secret::new("Jefe".into());
        assert_eq!(
            hash_token(&secret, "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
