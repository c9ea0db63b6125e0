//! Administration use cases: tenants, domains, connections, users and access. The API, the
//! console, the CLI and the demo translate their input into these commands and render their
//! views. Input is validated here; errors name the field that is wrong.
pub mod access;
pub mod audit;
pub mod connections;
pub mod domains;
mod fields;
pub mod metadata;
pub mod outbox;
pub mod paging;
pub mod scim_tokens;
pub mod tenant;
pub mod users;

pub use connections::{
    ConnectionPatch, ConnectionView, NewOidc, NewSaml, OidcPatch, SamlPatch, add_oidc_connection,
    add_saml_connection, connection_by_slug, remove_connection,
};
pub use domains::{DomainView, add_domain, list_domains, remove_domain};
pub(crate) use fields::parse_attribute_name;
pub use tenant::{
    TenantInput, TenantView, create_tenant, list_tenants, tenant_view, update_tenant,
};

use serde::Serialize;

use crate::domain::email::EmailAddress;
use crate::domain::ids::UserId;
use crate::domain::slug::Slug;
use crate::domain::tenant::Tenant;
use crate::domain::user::User;
use crate::storage::identities::LinkedIdentity;
use crate::storage::login_attempts::Attempt;
use crate::storage::users::StatusFilter;
use crate::storage::{
    self, DbConnection, StorageError, events, identities, login_attempts, tenants,
};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for AdminError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(m) => AdminError::Conflict(m),
            // Checks run first; a unique violation here means a concurrent writer won.
            e if e.is_unique_violation() => {
                AdminError::Conflict("a record with the same unique value already exists".into())
            }
            other => AdminError::Storage(other),
        }
    }
}

/// Admin commands run their transaction with this error: lock contention is tried again.
impl storage::TxError for AdminError {
    fn is_retryable(&self) -> bool {
        matches!(self, AdminError::Storage(e) if e.is_retryable())
    }
}

pub(crate) fn invalid(field: &'static str, message: impl ToString) -> AdminError {
    AdminError::Invalid {
        field,
        message: message.to_string(),
    }
}

pub fn parse_slug(field: &'static str, raw: &str) -> Result<Slug, AdminError> {
    Slug::parse(raw).map_err(|e| invalid(field, e))
}

pub fn tenant_by_slug(conn: &mut DbConnection, raw: &str) -> Result<Tenant, AdminError> {
    let slug = parse_slug("tenant", raw)?;
    tenants::find_by_slug(conn, &slug)?
        .ok_or_else(|| AdminError::NotFound(format!("tenant `{slug}`")))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub iwms_id: Option<String>,
    pub status: &'static str,
    pub stale: bool,
    pub stale_since: Option<i64>,
    pub created_via: String,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
    /// When SCIM deprovisioned the user (DELETE); the record stays.
    pub deprovisioned_at: Option<i64>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.0,
            email: u.email.to_string(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            iwms_id: u.iwms_id.clone(),
            status: u.status.as_str(),
            stale: u.stale_since.is_some(),
            stale_since: u.stale_since,
            created_via: u.created_via.clone(),
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            deprovisioned_at: u.deprovisioned_at,
        }
    }
}

pub fn list_users(
    conn: &mut DbConnection,
    tenant: &str,
    filter: StatusFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserView>, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    if !(1..=1000).contains(&limit) {
        return Err(invalid("limit", "must be between 1 and 1000"));
    }
    if offset < 0 {
        return Err(invalid("offset", "must not be negative"));
    }
    Ok(storage::users::list(conn, t.id, filter, limit, offset)?
        .iter()
        .map(UserView::from)
        .collect())
}

#[derive(Debug, Serialize)]
pub struct UserDetail {
    pub user: UserView,
    pub identities: Vec<LinkedIdentity>,
    /// SCIM groups the user belongs to.
    pub groups: Vec<String>,
    pub timeline: Vec<events::UserEvent>,
    pub sign_ins: Vec<Attempt>,
}

/// `who` is an email address or a numeric user id.
pub fn show_user(
    conn: &mut DbConnection,
    tenant: &str,
    who: &str,
) -> Result<UserDetail, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    let user = match who.parse::<i64>() {
        Ok(id) => match storage::users::get(conn, t.id, UserId(id)) {
            Err(StorageError::NotFound) => None,
            other => Some(other?),
        },
        Err(_) => {
            let e = EmailAddress::parse(who).map_err(|e| invalid("user", e))?;
            storage::users::find_by_email(conn, t.id, &e)?
        }
    }
    .ok_or_else(|| AdminError::NotFound(format!("user `{who}` in tenant `{}`", t.slug)))?;
    Ok(UserDetail {
        identities: identities::for_user(conn, t.id, user.id)?,
        groups: storage::scim_groups::groups_of_user(conn, t.id, user.id.0)?
            .into_iter()
            .map(|(_, name)| name)
            .collect(),
        timeline: events::for_user(conn, t.id, user.id)?,
        sign_ins: login_attempts::list(conn, t.id, Some(user.id), 50)?,
        user: UserView::from(&user),
    })
}

pub fn sign_in_history(
    conn: &mut DbConnection,
    tenant: &str,
    limit: i64,
) -> Result<Vec<Attempt>, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    Ok(login_attempts::list(
        conn,
        t.id,
        None,
        limit.clamp(1, 1000),
    )?)
}

/// The newest refusal counts (see `users::refusal_counts`), for the CLI.
pub fn refusal_count_history(
    conn: &mut DbConnection,
    tenant: &str,
    limit: i64,
) -> Result<Vec<crate::storage::refusal_counts::Counted>, AdminError> {
    let t = tenant_by_slug(conn, tenant)?;
    Ok(crate::storage::refusal_counts::page(
        conn,
        t.id,
        &Default::default(),
        None,
        limit.clamp(1, 1000),
    )?)
}
