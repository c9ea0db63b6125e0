//! SCIM use cases: bearer tokens, users and groups. Each write runs in one transaction and
//! records what changed on the users' timelines.
pub mod groups;
pub mod tokens;
pub mod users;

use serde_json::{Value, json};

use crate::domain::scim::error::ScimError;
use crate::domain::scim::query::{ListQuery, Projection};
use crate::domain::scim::schema::{GROUP_RESOURCE, LIST_RESPONSE, ResourceSchema, USER_RESOURCE};
use crate::domain::scim::user::IwmsSource;
use crate::domain::tenant::Tenant;
use crate::domain::user_event::AttributeChange;
use crate::storage::DbConnection;
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
    /// `scim.max_scanned_matches`.
    pub max_scanned: i64,
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

/// What /Users and /Groups have in common, so HTTP handles both the same way.
pub trait Resource {
    /// The schema `attributes`/`excludedAttributes` are resolved against.
    const SCHEMA: &'static ResourceSchema;
    fn list(conn: &mut DbConnection, ctx: &ScimContext, q: &ListQuery) -> Result<Value>;
    fn get(conn: &mut DbConnection, ctx: &ScimContext, id: &str, p: &Projection) -> Result<Value>;
    fn create(conn: &mut DbConnection, ctx: &ScimContext, body: &Value) -> Result<Value>;
    fn replace(conn: &mut DbConnection, ctx: &ScimContext, id: &str, body: &Value)
    -> Result<Value>;
    /// DELETE: users are deprovisioned (kept), groups removed.
    fn delete(conn: &mut DbConnection, ctx: &ScimContext, id: &str) -> Result<()>;
}

pub struct Users;
pub struct Groups;

impl Resource for Users {
    const SCHEMA: &'static ResourceSchema = &USER_RESOURCE;
    fn list(conn: &mut DbConnection, ctx: &ScimContext, q: &ListQuery) -> Result<Value> {
        users::list(conn, ctx, q)
    }
    fn get(conn: &mut DbConnection, ctx: &ScimContext, id: &str, p: &Projection) -> Result<Value> {
        users::get(conn, ctx, id, p)
    }
    fn create(conn: &mut DbConnection, ctx: &ScimContext, body: &Value) -> Result<Value> {
        users::create(conn, ctx, body)
    }
    fn replace(
        conn: &mut DbConnection,
        ctx: &ScimContext,
        id: &str,
        body: &Value,
    ) -> Result<Value> {
        users::replace(conn, ctx, id, body)
    }
    fn delete(conn: &mut DbConnection, ctx: &ScimContext, id: &str) -> Result<()> {
        users::deprovision(conn, ctx, id)
    }
}

impl Resource for Groups {
    const SCHEMA: &'static ResourceSchema = &GROUP_RESOURCE;
    fn list(conn: &mut DbConnection, ctx: &ScimContext, q: &ListQuery) -> Result<Value> {
        groups::list(conn, ctx, q)
    }
    fn get(conn: &mut DbConnection, ctx: &ScimContext, id: &str, p: &Projection) -> Result<Value> {
        groups::get(conn, ctx, id, p)
    }
    fn create(conn: &mut DbConnection, ctx: &ScimContext, body: &Value) -> Result<Value> {
        groups::create(conn, ctx, body)
    }
    fn replace(
        conn: &mut DbConnection,
        ctx: &ScimContext,
        id: &str,
        body: &Value,
    ) -> Result<Value> {
        groups::replace(conn, ctx, id, body)
    }
    fn delete(conn: &mut DbConnection, ctx: &ScimContext, id: &str) -> Result<()> {
        groups::delete(conn, ctx, id)
    }
}

/// Resource ids are positive integers; anything else names nothing (404).
pub(crate) fn parse_id(raw: &str, what: &str) -> std::result::Result<i64, ScimError> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ScimError::not_found(format!("no such {what}")))
}

/// A change to one field, for the timeline.
pub(crate) fn diff(
    out: &mut Vec<AttributeChange>,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
) {
    if old != new {
        out.push(AttributeChange::new(field, old, new));
    }
}
