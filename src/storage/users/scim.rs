//! The SCIM view of users: every user of the tenant not deprovisioned (those SCIM never wrote
//! shown by their email, see `directory_doc`), their emails, and the writes a SCIM request
//! makes. Every query carries the tenant.
use std::collections::HashMap;

use diesel::prelude::*;

use crate::domain::ids::{TenantId, UserId};
use crate::domain::scim::user::{GroupRef, StoredUser, UserFields, directory_doc, user_name_key};
use crate::domain::user::{CreatedVia, UserStatus};
use crate::storage::error::corrupt;
use crate::storage::schema::{group_members, scim_groups, user_emails, users};
use crate::storage::scim_filter::Where;
use crate::storage::{DbConnection, MultiBackend, StorageError};

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct Row {
    id: i64,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    iwms_id: Option<String>,
    status: String,
    scim_user_name: Option<String>,
    scim_doc: String,
    created_at: i64,
    updated_at: i64,
}

/// `users.scim_doc`: a JSON object, or the row is corrupt.
fn parse_doc(raw: &str) -> Result<serde_json::Map<String, serde_json::Value>, StorageError> {
    match serde_json::from_str(raw).map_err(|e| corrupt("users.scim_doc", e))? {
        serde_json::Value::Object(m) => Ok(m),
        _ => Err(corrupt("users.scim_doc", "not a JSON object")),
    }
}

/// A user SCIM wrote shows its document; any other its email, as userName and primary address.
fn stored(r: Row) -> Result<StoredUser, StorageError> {
    let (user_name, doc) = match r.scim_user_name {
        Some(u) => (u, parse_doc(&r.scim_doc)?),
        None => (r.email.clone(), directory_doc(&r.email)),
    };
    Ok(StoredUser {
        id: r.id,
        user_name,
        first_name: r.first_name,
        last_name: r.last_name,
        iwms_id: r.iwms_id,
        active: r.status == UserStatus::Active.as_str(),
        doc,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

fn visible(tenant: TenantId) -> users::BoxedQuery<'static, crate::storage::pool::MultiBackend> {
    users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::deprovisioned_at.is_null())
        .into_boxed()
}

/// A user SCIM can see (404 for everyone else, including deprovisioned users).
pub fn get(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: i64,
) -> Result<Option<StoredUser>, StorageError> {
    visible(tenant)
        .filter(users::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(stored)
        .transpose()
}

pub fn count(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: Option<Where>,
) -> Result<i64, StorageError> {
    let mut q = visible(tenant).count();
    if let Some(w) = filter {
        q = q.filter(w);
    }
    Ok(q.get_result(conn)?)
}

/// How many users match, counting no further than `limit`. In no particular order, so that
/// the database reads whichever index narrows the filter rather than the ids in order.
pub fn count_up_to(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: Option<Where>,
    limit: i64,
) -> Result<i64, StorageError> {
    let mut q = visible(tenant).select(users::id).limit(limit);
    if let Some(w) = filter {
        q = q.filter(w);
    }
    Ok(q.load::<i64>(conn)?.len() as i64)
}

/// One page in id order. The ids are picked first (sorting ids only, not whole rows with
/// their documents), then those rows are loaded.
pub fn page(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: Option<Where>,
    offset: i64,
    limit: i64,
) -> Result<Vec<StoredUser>, StorageError> {
    let mut q = visible(tenant)
        .select(users::id)
        .order(users::id.asc())
        .offset(offset)
        .limit(limit);
    if let Some(w) = filter {
        q = q.filter(w);
    }
    let ids: Vec<i64> = q.load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq_any(&ids))
        .order(users::id.asc())
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(stored)
        .collect()
}

/// Who already holds this userName (any state), this externalId (under SCIM), or this email.
#[derive(Debug, Clone, Copy)]
pub struct Holder {
    pub id: UserId,
    pub scim_managed: bool,
    pub deprovisioned: bool,
}

fn holder(
    conn: &mut DbConnection,
    q: users::BoxedQuery<'static, crate::storage::pool::MultiBackend>,
) -> Result<Option<Holder>, StorageError> {
    Ok(q.select((
        users::id,
        users::scim_user_name.is_not_null(),
        users::deprovisioned_at.is_not_null(),
    ))
    .first::<(i64, bool, bool)>(conn)
    .optional()?
    .map(|(id, managed, deprov)| Holder {
        id: UserId(id),
        scim_managed: managed,
        deprovisioned: deprov,
    }))
}

pub fn by_user_name(
    conn: &mut DbConnection,
    tenant: TenantId,
    user_name: &str,
) -> Result<Option<Holder>, StorageError> {
    holder(
        conn,
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::scim_user_name_lc.eq(user_name_key(user_name)))
            .into_boxed(),
    )
}

/// A user SCIM never wrote whose userName (its email) is `user_name` (also one SCIM
/// deprovisioned before it ever wrote it: it comes back like any deprovisioned user).
pub fn unmanaged_by_user_name(
    conn: &mut DbConnection,
    tenant: TenantId,
    user_name: &str,
) -> Result<Option<UserId>, StorageError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::scim_user_name.is_null())
        .filter(users::email.eq(user_name_key(user_name)))
        .select(users::id)
        .first::<i64>(conn)
        .optional()?
        .map(UserId))
}

pub fn by_email(
    conn: &mut DbConnection,
    tenant: TenantId,
    email: &str,
) -> Result<Option<Holder>, StorageError> {
    holder(
        conn,
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::email.eq(email.to_owned()))
            .into_boxed(),
    )
}

pub fn by_external_id(
    conn: &mut DbConnection,
    tenant: TenantId,
    external_id: &str,
) -> Result<Option<Holder>, StorageError> {
    holder(
        conn,
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::external_id.eq(external_id.to_owned()))
            .filter(users::deprovisioned_at.is_null())
            .order(users::id.asc())
            .into_boxed(),
    )
}

/// For SSO matching: the SCIM user whose externalId or userName is the sign-in's subject (the
/// lowest id if several are). Two lookups on the two indexed columns alone, the rest decided
/// here: planners answered one query with an `OR`, `ORDER BY id LIMIT 1` or the
/// `deprovisioned_at IS NULL` condition (SQLite always; PostgreSQL without statistics) by
/// walking the tenant's users through a `(tenant_id, id)` index, so every sign-in got slower
/// as the tenant grew.
pub fn for_subject(
    conn: &mut DbConnection,
    tenant: TenantId,
    subject: &str,
) -> Result<Option<UserId>, StorageError> {
    let candidates = || {
        users::table.filter(users::tenant_id.eq(tenant.0)).select((
            users::id,
            users::scim_user_name.is_not_null(),
            users::deprovisioned_at.is_null(),
        ))
    };
    let by_external_id: Vec<(i64, bool, bool)> = candidates()
        .filter(users::external_id.eq(subject))
        .load(conn)?;
    let by_user_name: Vec<(i64, bool, bool)> = candidates()
        .filter(users::scim_user_name_lc.eq(user_name_key(subject)))
        .load(conn)?;
    Ok(by_external_id
        .into_iter()
        .chain(by_user_name)
        .filter(|&(_, scim, visible)| scim && visible)
        .map(|(id, _, _)| id)
        .min()
        .map(UserId))
}

pub fn insert(
    conn: &mut DbConnection,
    tenant: TenantId,
    f: &UserFields,
    now: i64,
) -> Result<UserId, StorageError> {
    let status = if f.active == Some(false) {
        UserStatus::Deactivated
    } else {
        UserStatus::Active
    };
    let id = UserId(
        diesel::insert_into(users::table)
            .values((
                users::tenant_id.eq(tenant.0),
                users::email.eq(f.email.as_str()),
                users::status.eq(status.as_str()),
                users::created_via.eq(CreatedVia::Scim.as_str()),
                users::created_at.eq(now),
                users::updated_at.eq(now),
                users::scim_user_name.eq(&f.user_name),
                users::scim_user_name_lc.eq(user_name_key(&f.user_name)),
            ))
            .returning(users::id)
            .get_result(conn)?,
    );
    write(conn, tenant, id, f, now)?;
    Ok(id)
}

/// Stores a SCIM body on a user (and takes the user under SCIM). The IWMS ID is written only
/// when the tenant maps a SCIM attribute to it; `active` only when the body carries it.
pub fn write(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    f: &UserFields,
    now: i64,
) -> Result<(), StorageError> {
    let target = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq(id.0));
    let doc = serde_json::Value::Object(f.doc.clone()).to_string();
    diesel::update(target)
        .set((
            users::email.eq(f.email.as_str()),
            users::first_name.eq(&f.first_name),
            users::last_name.eq(&f.last_name),
            users::scim_user_name.eq(&f.user_name),
            users::scim_user_name_lc.eq(user_name_key(&f.user_name)),
            users::external_id.eq(&f.external_id),
            users::display_name.eq(&f.display_name),
            users::nick_name.eq(&f.nick_name),
            users::title.eq(&f.title),
            users::department.eq(&f.department),
            users::employee_number.eq(&f.employee_number),
            users::manager_id.eq(&f.manager_id),
            users::scim_doc.eq(doc),
            users::deprovisioned_at.eq(None::<i64>),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::delete(
        user_emails::table
            .filter(user_emails::tenant_id.eq(tenant.0))
            .filter(user_emails::user_id.eq(id.0)),
    )
    .execute(conn)?;
    for e in &f.emails {
        diesel::insert_into(user_emails::table)
            .values((
                user_emails::tenant_id.eq(tenant.0),
                user_emails::user_id.eq(id.0),
                user_emails::value.eq(&e.value),
                user_emails::value_lc.eq(user_name_key(&e.value)),
                user_emails::kind.eq(&e.kind),
                user_emails::is_primary.eq(e.primary),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The attributes outside the schema SCIM sent (ignored), as the admin sees them.
pub fn set_ignored(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    ignored: &[String],
) -> Result<(), StorageError> {
    let raw = serde_json::Value::from(ignored.to_vec()).to_string();
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0)),
    )
    .set(users::scim_ignored.eq(raw))
    .execute(conn)?;
    Ok(())
}

/// `users.scim_ignored`: a JSON array of strings, or the row is corrupt.
pub fn ignored(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
) -> Result<Vec<String>, StorageError> {
    let raw: String = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq(id.0))
        .select(users::scim_ignored)
        .first(conn)?;
    serde_json::from_str(&raw).map_err(|e| corrupt("users.scim_ignored", e))
}

pub fn set_iwms_id(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    iwms_id: Option<&str>,
) -> Result<(), StorageError> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0)),
    )
    .set(users::iwms_id.eq(iwms_id))
    .execute(conn)?;
    Ok(())
}

pub fn set_status(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    status: UserStatus,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0)),
    )
    .set((users::status.eq(status.as_str()), users::updated_at.eq(now)))
    .execute(conn)?;
    Ok(())
}

/// SCIM DELETE: hidden from SCIM and deactivated; the row, identities and history stay.
pub fn deprovision(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0)),
    )
    .set((
        users::deprovisioned_at.eq(Some(now)),
        users::status.eq(UserStatus::Deactivated.as_str()),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// The groups of each user in `ids`.
pub fn groups_of(
    conn: &mut DbConnection,
    tenant: TenantId,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<GroupRef>>, StorageError> {
    let rows = group_members::table
        .inner_join(scim_groups::table.on(scim_groups::id.eq(group_members::group_id)))
        .filter(group_members::tenant_id.eq(tenant.0))
        .filter(group_members::user_id.eq_any(ids))
        .order((group_members::user_id.asc(), scim_groups::id.asc()))
        .select((
            group_members::user_id,
            scim_groups::id,
            scim_groups::display_name,
        ))
        .load::<(i64, i64, String)>(conn)?;
    let mut out: HashMap<i64, Vec<GroupRef>> = HashMap::new();
    for (uid, gid, name) in rows {
        out.entry(uid).or_default().push(GroupRef {
            id: gid,
            display_name: name,
        });
    }
    Ok(out)
}

/// Whether every id is a user SCIM can see in this tenant; returns the first that is not.
pub fn first_missing(
    conn: &mut DbConnection,
    tenant: TenantId,
    ids: &[i64],
) -> Result<Option<i64>, StorageError> {
    let mut found = std::collections::HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        found.extend(
            visible(tenant)
                .filter(users::id.eq_any(chunk))
                .select(users::id)
                .load::<i64>(conn)?,
        );
    }
    Ok(ids.iter().copied().find(|i| !found.contains(i)))
}

/// The column values a SCIM write may change, for the timeline's old → new.
#[derive(Debug, Clone, Default, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct Tracked {
    pub email: String,
    pub scim_user_name: Option<String>,
    pub external_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub iwms_id: Option<String>,
    pub display_name: Option<String>,
    pub nick_name: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub employee_number: Option<String>,
    pub manager_id: Option<String>,
    pub status: String,
    pub deprovisioned_at: Option<i64>,
}

pub fn tracked(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
) -> Result<Tracked, StorageError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq(id.0))
        .select(Tracked::as_select())
        .first(conn)?)
}

/// The SCIM document as last written (every attribute SCIM sent, those without a column
/// included); None for a user SCIM never wrote.
pub fn document(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, StorageError> {
    let raw: String = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq(id.0))
        .select(users::scim_doc)
        .first(conn)?;
    let doc = parse_doc(&raw)?;
    Ok((!doc.is_empty()).then_some(doc))
}

/// Holds the user's row until the transaction ends: concurrent SCIM writes to one user apply
/// one after the other.
pub fn lock(conn: &mut DbConnection, tenant: TenantId, id: i64) -> Result<(), StorageError> {
    crate::storage::lock_row(
        conn,
        "SELECT id FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant,
        id,
    )
}

/// `EXPLAIN` (PostgreSQL) or `EXPLAIN QUERY PLAN` (SQLite) before a query.
struct Explain<Q>(Q);

impl<Q> diesel::query_builder::QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> diesel::query_builder::Query for Explain<Q> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<Q> RunQueryDsl<DbConnection> for Explain<Q> {}

impl<Q: diesel::query_builder::QueryFragment<MultiBackend>>
    diesel::query_builder::QueryFragment<MultiBackend> for Explain<Q>
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>,
    ) -> QueryResult<()> {
        if matches!(out.backend(), MultiBackend::Sqlite(_)) {
            out.push_sql("EXPLAIN QUERY PLAN ");
        } else {
            out.push_sql("EXPLAIN ");
        }
        self.0.walk_ast(out.reborrow())
    }
}

#[derive(QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlanRow {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The database's plan for counting a filter's matches, one line per step (tests check
/// that an index answers a filter).
pub fn count_plan(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: Where,
) -> Result<String, StorageError> {
    let q = Explain(visible(tenant).count().filter(filter));
    let lines: Vec<String> = match conn {
        DbConnection::Sqlite(_) => q
            .load::<SqlitePlanRow>(conn)?
            .into_iter()
            .map(|r| r.detail)
            .collect(),
        DbConnection::Pg(_) => q
            .load::<PgPlanRow>(conn)?
            .into_iter()
            .map(|r| r.line)
            .collect(),
    };
    Ok(lines.join("\n"))
}
