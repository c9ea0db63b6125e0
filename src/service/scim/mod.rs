//! SCIM use cases: bearer tokens, users and groups. Each write runs in one transaction and
//! records what changed on the users' timelines.
pub mod groups;
pub mod tokens;
pub mod users;

use serde_json::{Value, json};

use crate::domain::scim::error::ScimError;
use crate::domain::scim::schema::LIST_RESPONSE;
use crate::domain::scim::user::IwmsSource;
use crate::domain::tenant::Tenant;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ScimServiceError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for ScimServiceError {
    fn from(e: StorageError) -> Self {
        ScimServiceError::Storage(e)
    }
}

/// Runs a SCIM write in one transaction; a unique-key race that outlived the retries (the
/// checks run first, so only concurrent writers get here) is a 409.
pub(crate) fn transaction<T>(
    conn: &mut crate::storage::DbConnection,
    f: impl FnMut(&mut crate::storage::DbConnection) -> Result<T>,
) -> Result<T> {
    crate::storage::transaction_with(conn, f).map_err(|e| match e {
        ScimServiceError::Storage(s) if s.is_unique_violation() => ScimServiceError::Scim(
            ScimError::uniqueness("a resource with the same unique value already exists"),
        ),
        other => other,
    })
}

impl crate::storage::TxError for ScimServiceError {
    fn is_retryable(&self) -> bool {
        matches!(self, ScimServiceError::Storage(e) if e.is_retryable())
    }
}

pub type Result<T> = std::result::Result<T, ScimServiceError>;

/// What every SCIM request works within: the tenant its token belongs to.
#[derive(Debug, Clone)]
pub struct ScimContext {
    pub tenant: Tenant,
    /// `{base_url}/t/{tenant}/scim/v2`, for `meta.location` and `$ref`.
    pub base: String,
    pub now: i64,
    pub max_page: i64,
}

impl ScimContext {
    pub fn iwms(&self) -> Option<IwmsSource> {
        self.tenant.scim_iwms_attribute
    }
}

pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// A change to one field, for the timeline.
pub(crate) fn diff(out: &mut Vec<Value>, field: &str, old: Option<&str>, new: Option<&str>) {
    if old != new {
        out.push(json!({ "field": field, "old": old, "new": new }));
    }
}
