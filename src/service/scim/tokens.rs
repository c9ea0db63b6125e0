//! SCIM bearer tokens: 256 random bits shown once; only their SHA-256 is stored (they are
//! random, so a plain hash is enough). Several can be active per tenant, for rotation.
use crate::domain::ids::TenantId;
use crate::domain::scim::error::ScimError;
use crate::domain::tenant::Tenant;
use crate::service::session::sha256_hex;
use crate::storage::scim_tokens;
use crate::storage::{DbConnection, StorageError, tenants};

pub const PREFIX: &str = "scim_";

use crate::service::TOKEN_TOUCH_EVERY_SECS;

pub struct Created {
    pub id: i64,
    pub token: String,
}

/// Stores a new token's hash; `service::admin::scim_tokens` is the admin use case around it.
pub fn create(
    conn: &mut DbConnection,
    tenant: TenantId,
    label: &str,
    now: i64,
) -> Result<Created, StorageError> {
    let token = format!("{PREFIX}{}", crate::random::token());
    let id = scim_tokens::create(conn, tenant, label, &sha256_hex(&token), now)?;
    Ok(Created { id, token })
}

pub enum AuthError {
    Unauthorized(ScimError),
    Storage(StorageError),
}

/// The tenant named in the URL, if `bearer` is one of its active tokens. Any mismatch
/// (unknown, revoked, another tenant's) is the same 401, so tokens cannot be probed.
pub fn authenticate(
    conn: &mut DbConnection,
    tenant_slug: &str,
    bearer: Option<&str>,
    now: i64,
) -> Result<Tenant, AuthError> {
    let unauthorized = || {
        AuthError::Unauthorized(ScimError::new(
            401,
            None,
            "a valid SCIM bearer token for this tenant is required",
        ))
    };
    let Some(token) = bearer.filter(|t| t.len() <= 256) else {
        return Err(unauthorized());
    };
    let found = scim_tokens::lookup(conn, &sha256_hex(token)).map_err(AuthError::Storage)?;
    let Some((id, tenant_id, last_used)) = found else {
        return Err(unauthorized());
    };
    let Ok(slug) = crate::domain::slug::Slug::parse(tenant_slug) else {
        return Err(unauthorized());
    };
    let tenant = match tenants::find_by_slug(conn, &slug).map_err(AuthError::Storage)? {
        Some(t) if t.id == tenant_id => t,
        _ => return Err(unauthorized()),
    };
    // Best effort: a busy database must not turn a valid request into an error.
    if last_used.is_none_or(|t| now - t >= TOKEN_TOUCH_EVERY_SECS)
        && let Err(e) = scim_tokens::touch(conn, id, now)
    {
        tracing::warn!(error = %e, "could not record the SCIM token's last use");
    }
    Ok(tenant)
}
