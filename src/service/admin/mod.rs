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
pub mod roles;
pub mod scim_tokens;
pub mod tenant;
pub mod users;
pub mod workbench;

pub use connections::{
    ConnectionPatch, ConnectionView, DirectoryPatch, NewOidc, NewSaml, OidcPatch, SamlPatch,
    add_oidc_connection, add_saml_connection, connection_by_slug, remove_connection,
};
pub use domains::{DomainView, add_domain, list_domains, remove_domain};
pub(crate) use fields::parse_attribute_name;
pub use tenant::{
    TenantInput, TenantView, create_tenant, list_tenants, tenant_view, update_tenant,
};

use crate::domain::slug::Slug;
use crate::domain::tenant::Tenant;
use crate::storage::{self, DbConnection, StorageError, tenants};

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
