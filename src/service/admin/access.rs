//! Who administers what. A tenant admin signs in through the tenant's own SSO, starting at
//! /admin/login, and is an admin by a grant (made for an email, claimed by the first console
//! sign-in whose IdP asserts it, then bound to that user) or by the IdP's mapped admin role; a
//! super-admin comes from a single-use bootstrap link. API clients use admin bearer tokens.
//! There are no passwords. Every token is 256 random bits; only its SHA-256 is stored.
use serde::Serialize;

use super::audit::{self, Change, snapshot};
use super::{AdminError, invalid, tenant_by_slug};
use crate::config::Secret;
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::claims::AdminRoleRule;
use crate::domain::email::EmailAddress;
use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;
use crate::service::session::sha256_hex;
use crate::storage::admin::{self as store, NewAdminSession};
use crate::storage::{self, DbConnection, StorageError, sessions, tenants};

pub const TOKEN_PREFIX: &str = "ssg_admin_";
const MAX_TOKEN_CHARS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    AllTenants,
    Tenant(TenantId),
}

/// An authenticated administrator: what they may touch, and who they are for the timeline.
#[derive(Debug, Clone)]
pub struct Principal {
    pub scope: Scope,
    pub actor: String,
    /// Who they are on the audit trail.
    pub audit: Actor,
}

impl Principal {
    pub fn may_administer(&self, tenant: &Tenant) -> bool {
        match self.scope {
            Scope::AllTenants => true,
            Scope::Tenant(id) => id == tenant.id,
        }
    }

    pub fn is_super(&self) -> bool {
        self.scope == Scope::AllTenants
    }
}

fn parse_email(raw: &str) -> Result<EmailAddress, AdminError> {
    EmailAddress::parse(raw).map_err(|e| invalid("email", e))
}

/// Returns false when the grant already existed (nothing changes, nothing is audited).
pub fn grant(
    conn: &mut DbConnection,
    tenant: &str,
    email: &str,
    actor: &Actor,
    now: i64,
) -> Result<bool, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let email = parse_email(email)?;
    Ok(storage::transaction(conn, |c| {
        let created = store::grant(c, t.id, email.as_str(), &actor.label(), now)?;
        if created {
            let after = store::grants(c, t.id)?
                .into_iter()
                .find(|g| g.email == email.as_str());
            let change = Change {
                action: AuditAction::AdminGranted,
                target: email.as_str(),
                before: None,
                after: after.as_ref().and_then(snapshot),
            };
            audit::record(c, Some(t.id), actor, change, now)?;
        }
        Ok(created)
    })?)
}

/// Removes the grant and ends the console sessions of the user it was bound to (or, for a
/// grant never claimed, of the user who has its address).
pub fn revoke(
    conn: &mut DbConnection,
    tenant: &str,
    email: &str,
    actor: &Actor,
    now: i64,
) -> Result<(), AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let email = parse_email(email)?;
    storage::transaction(conn, |c| {
        let before = store::grants(c, t.id)?
            .into_iter()
            .find(|g| g.email == email.as_str());
        let bound = store::revoke_grant(c, t.id, email.as_str())?.ok_or(StorageError::NotFound)?;
        let holder = match bound {
            Some(user) => Some(user),
            None => storage::users::find_by_email(c, t.id, &email)?.map(|u| u.id.0),
        };
        if let Some(user) = holder {
            store::delete_sessions_of_user(c, user)?;
        }
        let change = Change {
            action: AuditAction::AdminRevoked,
            target: email.as_str(),
            before: before.as_ref().and_then(snapshot),
            after: None,
        };
        audit::record(c, Some(t.id), actor, change, now)
    })
    .map_err(|e| match e {
        StorageError::NotFound => {
            AdminError::NotFound(format!("admin grant for `{email}` in tenant `{}`", t.slug))
        }
        other => other.into(),
    })
}

pub fn grants(conn: &mut DbConnection, tenant: &str) -> Result<Vec<store::Grant>, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    Ok(store::grants(conn, t.id)?)
}

pub struct CreatedToken {
    pub id: i64,
    /// Shown once.
    pub token: String,
    pub expires_at: Option<i64>,
}

/// Longest lifetime `ttl_days` may ask for; beyond it, say `None` (no expiry) explicitly.
pub const MAX_TOKEN_TTL_DAYS: i64 = 3650;

/// `tenant` None: a super-admin token for every tenant. `ttl_days` None: no expiry.
pub fn create_token(
    conn: &mut DbConnection,
    tenant: Option<&str>,
    label: &str,
    ttl_days: Option<i64>,
    actor: &Actor,
    now: i64,
) -> Result<CreatedToken, AdminError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(invalid("label", "must be 1-100 printable characters"));
    }
    if ttl_days.is_some_and(|d| !(1..=MAX_TOKEN_TTL_DAYS).contains(&d)) {
        return Err(invalid(
            "expires_in_days",
            format!("must be 1-{MAX_TOKEN_TTL_DAYS} days"),
        ));
    }
    let tenant_id = match tenant {
        Some(slug) => Some(tenant_by_slug(conn, slug)?.id),
        None => None,
    };
    let expires_at = ttl_days.map(|d| now + d * 86_400);
    let token = format!("{TOKEN_PREFIX}{}", crate::random::token());
    let id = storage::transaction(conn, |c| {
        let id = store::create_token(c, tenant_id, label, &sha256_hex(&token), now, expires_at)?;
        let after = token_view(c, id)?;
        let change = Change {
            action: AuditAction::AdminTokenCreated,
            target: label,
            before: None,
            after: after.as_ref().and_then(snapshot),
        };
        audit::record(c, tenant_id, actor, change, now)?;
        Ok::<_, StorageError>(id)
    })?;
    Ok(CreatedToken {
        id,
        token,
        expires_at,
    })
}

/// One token's view (None when there is no such id).
fn token_view(conn: &mut DbConnection, id: i64) -> Result<Option<TokenView>, StorageError> {
    Ok(tokens(conn)?.into_iter().find(|t| t.id == id))
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: i64,
    /// The tenant's slug, or `*` for a super-admin token.
    pub tenant: String,
    /// The tenant's id (None for a super-admin token), for the audit trail.
    #[serde(skip)]
    pub tenant_id: Option<TenantId>,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// None: the token never expires.
    pub expires_at: Option<i64>,
}

pub fn tokens(conn: &mut DbConnection) -> Result<Vec<TokenView>, StorageError> {
    let slugs: std::collections::HashMap<i64, String> = tenants::list(conn)?
        .into_iter()
        .map(|t| (t.id.0, t.slug.to_string()))
        .collect();
    Ok(store::tokens(conn)?
        .into_iter()
        .map(|t| TokenView {
            id: t.id,
            tenant_id: t.tenant_id.map(TenantId),
            tenant: t.tenant_id.map_or("*".to_owned(), |id| {
                slugs.get(&id).cloned().unwrap_or_default()
            }),
            label: t.label,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
            expires_at: t.expires_at,
        })
        .collect())
}

pub fn revoke_token(
    conn: &mut DbConnection,
    id: i64,
    actor: &Actor,
    now: i64,
) -> Result<(), AdminError> {
    let revoked = storage::transaction(conn, |c| {
        let Some(before) = token_view(c, id)? else {
            return Ok(false);
        };
        if !store::revoke_token(c, id, now)? {
            return Ok(false);
        }
        // The revocation changes only `revoked_at`; the rest is what was just read.
        let after = TokenView {
            revoked_at: Some(now),
            ..before.clone()
        };
        let change = Change {
            action: AuditAction::AdminTokenRevoked,
            target: &before.label,
            before: snapshot(&before),
            after: snapshot(&after),
        };
        audit::record(c, before.tenant_id, actor, change, now)?;
        Ok::<_, StorageError>(true)
    })?;
    if revoked {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!("live admin token {id}")))
    }
}

/// The principal behind an `Authorization: Bearer` admin token, if it is live.
pub fn authenticate_token(
    conn: &mut DbConnection,
    token: &str,
    now: i64,
) -> Result<Option<Principal>, StorageError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    let Some(t) = store::live_token(conn, &sha256_hex(token), now)? else {
        return Ok(None);
    };
    // Best effort and throttled, as for SCIM tokens: API reads stay reads.
    if t.last_used_at
        .is_none_or(|at| now - at >= crate::service::TOKEN_TOUCH_EVERY_SECS)
        && let Err(e) = store::touch_token(conn, t.id, now)
    {
        tracing::warn!(error = %e, "could not record the admin token's last use");
    }
    Ok(Some(Principal {
        scope: t
            .tenant_id
            .map_or(Scope::AllTenants, |id| Scope::Tenant(TenantId(id))),
        actor: format!("api token {} ({})", t.id, t.label),
        audit: Actor::Api {
            token_id: t.id,
            token_label: t.label,
        },
    }))
}

/// A single-use link token for the first super-admin.
pub fn create_bootstrap_link(
    conn: &mut DbConnection,
    now: i64,
    ttl_secs: i64,
) -> Result<String, StorageError> {
    let token = crate::random::token();
    store::create_bootstrap_link(conn, &sha256_hex(&token), now, now + ttl_secs)?;
    Ok(token)
}

/// A console session: the cookie token (shown to the browser once) and its CSRF token.
pub struct OpenedSession {
    pub cookie_token: String,
    pub expires_at: i64,
}

fn open_session(
    conn: &mut DbConnection,
    tenant: Option<TenantId>,
    user_id: Option<i64>,
    actor: &str,
    now: i64,
    expires_at: i64,
) -> Result<OpenedSession, StorageError> {
    let cookie_token = crate::random::token();
    store::create_session(
        conn,
        &NewAdminSession {
            token_hash: &sha256_hex(&cookie_token),
            tenant,
            user_id,
            actor,
            csrf_token: &crate::random::token(),
            expires_at,
        },
        now,
    )?;
    Ok(OpenedSession {
        cookie_token,
        expires_at,
    })
}

/// Spends a bootstrap link and opens a super-admin console session; None when the link is
/// unknown, used or expired.
pub fn redeem_bootstrap_link(
    conn: &mut DbConnection,
    token: &str,
    now: i64,
    session_ttl_secs: i64,
) -> Result<Option<OpenedSession>, StorageError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    storage::transaction(conn, |c| {
        if !store::spend_bootstrap_link(c, &sha256_hex(token), now)? {
            return Ok(None);
        }
        open_session(
            c,
            None,
            None,
            "super-admin (bootstrap link)",
            now,
            now + session_ttl_secs,
        )
        .map(Some)
    })
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandoffRefused {
    /// The SSO session did not come from a sign-in this browser started at /admin/login (an
    /// app's session, a replayed cookie, a hand-off already spent).
    #[error("this browser did not start a console sign-in that ended in this session")]
    NotAConsoleSignIn,
    #[error("{email} is not an administrator of {tenant}")]
    NotAdmin { email: String, tenant: String },
}

/// What /admin/sso received: the SSO session cookie and the console hand-off cookie.
pub struct Handoff<'a> {
    pub session_secret: &'a Secret,
    pub session_token: &'a str,
    pub handoff_token: Option<&'a str>,
    /// The ticket the ACS or callback gave the browser that finished the sign-in.
    pub ticket: Option<&'a str>,
}

/// At the end of a console sign-in: a console session when the SSO session was opened by a
/// sign-in this browser started at /admin/login (the hand-off value, spent here once) and
/// its user is an admin of their tenant: by a grant bound to them, by an unclaimed grant for
/// the address the IdP asserted at that sign-in (which this binds to them), or by the admin
/// role the IdP mapped at that sign-in. The user's stored email plays no part: SCIM may
/// change it.
pub fn handoff_from_sso(
    conn: &mut DbConnection,
    h: &Handoff<'_>,
    now: i64,
    session_ttl_secs: i64,
) -> Result<Result<(OpenedSession, String), HandoffRefused>, StorageError> {
    let usable = |t: &&str| !t.is_empty() && t.len() <= MAX_TOKEN_CHARS;
    let (Some(handoff), Some(ticket)) = (h.handoff_token.filter(usable), h.ticket.filter(usable))
    else {
        return Ok(Err(HandoffRefused::NotAConsoleSignIn));
    };
    let kept = crate::service::session::console_handoff_hash(&sha256_hex(handoff), ticket);
    if h.session_token.len() > MAX_TOKEN_CHARS {
        return Ok(Err(HandoffRefused::NotAConsoleSignIn));
    }
    let session_hash = crate::service::session::hash_token(h.session_secret, h.session_token);
    storage::transaction(conn, |c| {
        if !sessions::spend_console_handoff(c, &session_hash, &kept, now)? {
            return Ok(Err(HandoffRefused::NotAConsoleSignIn));
        }
        let Some(user) = sessions::lookup(c, &session_hash, now)? else {
            return Ok(Err(HandoffRefused::NotAConsoleSignIn));
        };
        let t = TenantId(user.tenant_id);
        let claimed = match &user.asserted_email {
            Some(asserted) => store::claim_grant(c, t, asserted, user.user_id)?,
            None => false,
        };
        let admitted = claimed || user.idp_admin || store::is_granted_to_user(c, t, user.user_id)?;
        if !admitted {
            return Ok(Err(HandoffRefused::NotAdmin {
                email: user.email.clone(),
                tenant: user.tenant_name.clone(),
            }));
        }
        let expires_at = (now + session_ttl_secs).min(user.expires_at);
        let opened = open_session(c, Some(t), Some(user.user_id), &user.email, now, expires_at)?;
        Ok(Ok((opened, user.tenant.clone())))
    })
}

/// A live console session: the principal and the CSRF token its forms must carry.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub principal: Principal,
    pub csrf_token: String,
}

/// The session behind a console cookie. A user-backed session ends with the user's
/// deactivation or deprovisioning.
pub fn console_session(
    conn: &mut DbConnection,
    cookie_token: &str,
    now: i64,
) -> Result<Option<ConsoleSession>, StorageError> {
    if cookie_token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    let Some(row) = store::session(conn, &sha256_hex(cookie_token), now)? else {
        return Ok(None);
    };
    let scope = match (row.tenant_id, row.user_id) {
        (None, None) => Scope::AllTenants,
        (Some(t), Some(u)) => {
            let user = match storage::users::get(conn, TenantId(t), crate::domain::ids::UserId(u)) {
                Err(StorageError::NotFound) => return Ok(None),
                other => other?,
            };
            if user.status.as_str() != "active" || user.deprovisioned_at.is_some() {
                return Ok(None);
            }
            Scope::Tenant(TenantId(t))
        }
        _ => return Ok(None),
    };
    Ok(Some(ConsoleSession {
        principal: Principal {
            scope,
            audit: Actor::Console {
                email: row.actor.clone(),
            },
            actor: row.actor,
        },
        csrf_token: row.csrf_token,
    }))
}

pub fn end_console_session(
    conn: &mut DbConnection,
    cookie_token: &str,
) -> Result<(), StorageError> {
    store::delete_session(conn, &sha256_hex(cookie_token))
}

/// The tenants a principal may see, in slug order.
pub fn visible_tenants(
    conn: &mut DbConnection,
    who: &Principal,
) -> Result<Vec<Tenant>, StorageError> {
    Ok(tenants::list(conn)?
        .into_iter()
        .filter(|t| who.may_administer(t))
        .collect())
}

/// The tenant `slug` if `who` may administer it; NotFound otherwise, so a tenant admin cannot
/// tell other tenants' slugs from unknown ones.
pub fn authorized_tenant(
    conn: &mut DbConnection,
    who: &Principal,
    slug: &str,
) -> Result<Tenant, AdminError> {
    match tenant_by_slug(conn, slug) {
        Ok(t) if who.may_administer(&t) => Ok(t),
        Ok(_) | Err(AdminError::NotFound(_)) | Err(AdminError::Invalid { .. }) => {
            Err(AdminError::NotFound(format!(
                "tenant `{}`",
                slug.chars().take(64).collect::<String>()
            )))
        }
        Err(e) => Err(e),
    }
}

/// Sets (or with `None` clears) which IdP attribute value makes a user an admin.
pub fn set_admin_role(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &str,
    rule: Option<(&str, &str)>,
    actor: &Actor,
    now: i64,
) -> Result<(), AdminError> {
    let c = super::connection_by_slug(conn, tenant, connection)?;
    let rule = match rule {
        None => None,
        Some((attribute, value)) => {
            let attribute = super::parse_attribute_name("admin_role_attribute", Some(attribute))?
                .ok_or_else(|| invalid("admin_role_attribute", "must not be empty"))?;
            let value = super::parse_attribute_name("admin_role_value", Some(value))?
                .ok_or_else(|| invalid("admin_role_value", "must not be empty"))?;
            Some(AdminRoleRule { attribute, value })
        }
    };
    storage::transaction_with(conn, |db| {
        let before = super::connections::audit_view(db, tenant, &c, now)?;
        storage::connections::set_admin_role(db, tenant.id, c.id, rule.as_ref(), now)?;
        let updated = super::connection_by_slug(db, tenant, connection)?;
        let change = Change {
            action: AuditAction::ConnectionUpdated,
            target: c.slug.as_str(),
            before,
            after: super::connections::audit_view(db, tenant, &updated, now)?,
        };
        audit::record(db, Some(tenant.id), actor, change, now)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::slug::Slug;

    fn tenant(id: i64) -> Tenant {
        Tenant {
            id: TenantId(id),
            slug: Slug::parse("acme").unwrap(),
            display_name: "Acme".into(),
            auto_create_users: false,
            iwms_attribute: None,
            scim_iwms_attribute: None,
            iwms: Default::default(),
            stale_after_days: 90,
            allowed_return_origins: vec![],
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn tenant_admins_reach_only_their_tenant_super_admins_every_one() {
        let admin = Principal {
            scope: Scope::Tenant(TenantId(1)),
            actor: "a@acme.test".into(),
            audit: Actor::Cli,
        };
        assert!(admin.may_administer(&tenant(1)));
        assert!(!admin.may_administer(&tenant(2)));
        assert!(!admin.is_super());
        let root = Principal {
            scope: Scope::AllTenants,
            actor: "root".into(),
            audit: Actor::Cli,
        };
        assert!(root.may_administer(&tenant(1)) && root.may_administer(&tenant(2)));
    }
}
