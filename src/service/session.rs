//! Browser sessions: the cookie holds a random token; the database holds only its HMAC, so
//! a database leak does not yield usable sessions.
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

use crate::config::Secret;
use crate::domain::ids::{TenantId, UserId};
use crate::storage::sessions::{self, SessionUser};
use crate::storage::{DbConnection, StorageError};

pub fn hash_token(secret: &Secret, token: &str) -> String {
    let key = PKey::hmac(secret.expose().as_bytes());
    let mac = key
        .and_then(|k| {
            let mut s = Signer::new(MessageDigest::sha256(), &k)?;
            s.update(token.as_bytes())?;
            s.sign_to_vec()
        })
        .unwrap_or_default();
    hex::encode(mac)
}

/// Creates a session and returns the cookie token.
pub fn open(
    conn: &mut DbConnection,
    secret: &Secret,
    tenant: TenantId,
    user: UserId,
    now: i64,
    expires_at: i64,
) -> Result<String, StorageError> {
    let token = crate::random::token();
    sessions::create(
        conn,
        &hash_token(secret, &token),
        tenant,
        user,
        now,
        expires_at,
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
