//! Browser sessions: the cookie holds a random token; the database holds only its HMAC, so
//! a database leak does not yield usable sessions.
use sha2::{Digest, Sha256};

use crate::config::Secret;
use crate::domain::ids::{TenantId, UserId};
use crate::storage::roles::Manager;
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

/// Hex SHA-256: what is stored of one-time secrets (binding tokens, OIDC states, console
/// hand-offs) and bearer tokens (admin and SCIM).
pub(crate) fn sha256_hex(v: &str) -> String {
    hex::encode(Sha256::digest(v.as_bytes()))
}

/// What a console sign-in's session keeps of its hand-off: the hash of the value the browser
/// that started it at /admin/login holds, joined with the ticket the browser that finished
/// it got from the ACS or callback. /admin/sso needs both cookies, so neither another app
/// that sees the shared SSO cookie nor the starter of a sign-in someone else finished opens
/// the console.
pub fn console_handoff_hash(handoff_hash: &str, ticket: &str) -> String {
    sha256_hex(&format!("{handoff_hash}:{ticket}"))
}

/// A ticket for the browser finishing a console sign-in, and what its session keeps.
pub fn console_ticket(handoff_hash: Option<&str>) -> Option<(String, String)> {
    handoff_hash.map(|h| {
        let ticket = crate::random::token();
        let kept = console_handoff_hash(h, &ticket);
        (ticket, kept)
    })
}

/// What a sign-in says about the session it opens, besides whose it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct SignInFacts<'a> {
    /// The IdP mapped the admin role at this sign-in.
    pub idp_admin: bool,
    /// SHA-256 of the console hand-off value (a sign-in started at /admin/login).
    pub console_handoff: Option<&'a str>,
    /// The address the IdP asserted at this sign-in.
    pub asserted_email: Option<&'a str>,
}

/// Creates a session and returns the cookie token.
pub fn open(
    conn: &mut DbConnection,
    secret: &Secret,
    tenant: TenantId,
    user: UserId,
    now: i64,
    expires_at: i64,
    facts: SignInFacts<'_>,
) -> Result<String, StorageError> {
    let token = crate::random::token();
    sessions::create(
        conn,
        &sessions::NewSession {
            token_hash: &hash_token(secret, &token),
            tenant,
            user,
            expires_at,
            idp_admin: facts.idp_admin,
            console_handoff: facts.console_handoff,
            asserted_email: facts.asserted_email,
        },
        now,
    )?;
    Ok(token)
}

/// What a session token is looked up by: its HMAC; none for a token no session can have.
pub fn token_key(secret: &Secret, token: &str) -> Option<String> {
    (token.len() <= 128).then(|| hash_token(secret, token))
}

pub fn current(
    conn: &mut DbConnection,
    secret: &Secret,
    token: &str,
    now: i64,
) -> Result<Option<SessionUser>, StorageError> {
    match token_key(secret, token) {
        Some(key) => sessions::lookup(conn, &key, now),
        None => Ok(None),
    }
}

/// The session's user and, when `want_manager` says so for that user, their manager
/// resolved (the stored reference is a SCIM id or an email address of the tenant): the
/// session lookup plus, only then, one more.
pub fn current_with_manager(
    conn: &mut DbConnection,
    secret: &Secret,
    token: &str,
    now: i64,
    want_manager: impl Fn(&SessionUser) -> bool,
) -> Result<Option<(SessionUser, Option<Manager>)>, StorageError> {
    match token_key(secret, token) {
        Some(key) => by_key_with_manager(conn, &key, now, want_manager),
        None => Ok(None),
    }
}

/// [`current_with_manager`] by the token's [`token_key`].
pub fn by_key_with_manager(
    conn: &mut DbConnection,
    key: &str,
    now: i64,
    want_manager: impl Fn(&SessionUser) -> bool,
) -> Result<Option<(SessionUser, Option<Manager>)>, StorageError> {
    let Some(u) = sessions::lookup(conn, key, now)? else {
        return Ok(None);
    };
    let manager = match &u.manager_ref {
        Some(r) if want_manager(&u) => {
            crate::storage::roles::resolve_manager(conn, TenantId(u.tenant_id), r)?
                // Nobody is their own manager.
                .filter(|m| m.user_id != u.user_id)
        }
        _ => None,
    };
    Ok(Some((u, manager)))
}

/// Ends every session of a user who can no longer sign in (deactivated, deprovisioned):
/// SSO sessions and admin console sessions, so a reactivation revives neither. Returns how
/// many SSO sessions ended.
pub fn end_all(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<usize, StorageError> {
    crate::storage::admin::delete_sessions_of_user(conn, user.0)?;
    sessions::delete_for_user(conn, tenant, user)
}

/// Signs out: ends the session and the user's admin console sessions, which never outlive
/// the sign-in they came from (they are not tied to one SSO session, so all of them end).
pub fn close(conn: &mut DbConnection, secret: &Secret, token: &str) -> Result<(), StorageError> {
    let hash = hash_token(secret, token);
    crate::storage::transaction(conn, |c| {
        if let Some(user) = sessions::delete(c, &hash)? {
            crate::storage::admin::delete_sessions_of_user(c, user)?;
        }
        Ok(())
    })
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
