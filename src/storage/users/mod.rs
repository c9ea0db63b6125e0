//! The users table, one repository: lookups, the admin lists and searches, status changes;
//! `scim` is the SCIM view of the same rows (what SCIM requests read and write).
pub mod scim;

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::error::corrupt;
use super::schema::users;
use super::sql::Where;
use super::{DbConnection, StorageError};
use crate::domain::email::EmailAddress;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::provisioning::NewUser;
use crate::domain::user::{CreatedVia, User, UserStatus, UserViewKind};

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: i64,
    tenant_id: i64,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    iwms_id: Option<String>,
    status: String,
    created_via: String,
    stale_since: Option<i64>,
    last_login_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    deprovisioned_at: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = StorageError;
    fn try_from(r: UserRow) -> Result<Self, StorageError> {
        Ok(User {
            id: UserId(r.id),
            tenant_id: TenantId(r.tenant_id),
            email: EmailAddress::parse(&r.email).map_err(|e| corrupt("users.email", e))?,
            first_name: r.first_name,
            last_name: r.last_name,
            iwms_id: r.iwms_id,
            status: UserStatus::parse(&r.status)
                .ok_or_else(|| corrupt("users.status", &r.status))?,
            created_via: r.created_via,
            stale_since: r.stale_since,
            last_login_at: r.last_login_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deprovisioned_at: r.deprovisioned_at,
        })
    }
}

fn one(q: Option<UserRow>) -> Result<Option<User>, StorageError> {
    q.map(User::try_from).transpose()
}

pub fn get(conn: &mut DbConnection, tenant: TenantId, id: UserId) -> Result<User, StorageError> {
    users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::id.eq(id.0))
        .select(UserRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn find_by_email(
    conn: &mut DbConnection,
    tenant: TenantId,
    email: &EmailAddress,
) -> Result<Option<User>, StorageError> {
    one(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::email.eq(email.as_str()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_iwms_id(
    conn: &mut DbConnection,
    tenant: TenantId,
    iwms_id: &str,
) -> Result<Option<User>, StorageError> {
    one(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::iwms_id.eq(iwms_id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(
    conn: &mut DbConnection,
    tenant: TenantId,
    u: &NewUser,
    via: CreatedVia,
    now: i64,
) -> Result<User, StorageError> {
    diesel::insert_into(users::table)
        .values((
            users::tenant_id.eq(tenant.0),
            users::email.eq(u.email.as_str()),
            users::first_name.eq(&u.first_name),
            users::last_name.eq(&u.last_name),
            users::iwms_id.eq(&u.iwms_id),
            users::status.eq(UserStatus::Active.as_str()),
            users::created_via.eq(via.as_str()),
            users::created_at.eq(now),
            users::updated_at.eq(now),
            // A user a sign-in creates has signed in: active, never stale.
            users::last_login_at.eq((via == CreatedVia::Sso).then_some(now)),
        ))
        // The columns spelled out: diesel's `as_returning()` has no form for a connection
        // that may be either backend.
        .returning((
            users::id,
            users::tenant_id,
            users::email,
            users::first_name,
            users::last_name,
            users::iwms_id,
            users::status,
            users::created_via,
            users::stale_since,
            users::last_login_at,
            users::created_at,
            users::updated_at,
            users::deprovisioned_at,
        ))
        .get_result::<UserRow>(conn)?
        .try_into()
}

pub struct AttributeUpdate<'a> {
    pub first_name: &'a Option<String>,
    pub last_name: &'a Option<String>,
    pub iwms_id: &'a Option<String>,
}

pub fn update_attributes(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    a: &AttributeUpdate<'_>,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0)),
    )
    .set((
        users::first_name.eq(a.first_name),
        users::last_name.eq(a.last_name),
        users::iwms_id.eq(a.iwms_id),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// A successful sign-in: last_login_at moves and any stale flag clears.
/// Records a sign-in of an active user and clears the stale flag: Some(whether a flag was
/// cleared), or None when the user is no longer active. Both answers come from guarded
/// UPDATEs, so they are the row's as it is now (PostgreSQL waits for a concurrent
/// deactivation or flagging and re-checks), never a stale read's.
pub fn record_sign_in(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    now: i64,
) -> Result<Option<bool>, StorageError> {
    let this_user = || {
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0))
    };
    let active = diesel::update(this_user().filter(users::status.eq("active")))
        .set(users::last_login_at.eq(Some(now)))
        .execute(conn)?;
    if active == 0 {
        return Ok(None);
    }
    let unflagged = diesel::update(this_user().filter(users::stale_since.is_not_null()))
        .set(users::stale_since.eq(None::<i64>))
        .execute(conn)?;
    Ok(Some(unflagged == 1))
}

/// A view's users oldest first, by offset (the CLI's listing).
pub fn list(
    conn: &mut DbConnection,
    tenant: TenantId,
    view: UserViewKind,
    limit: i64,
    offset: i64,
) -> Result<Vec<User>, StorageError> {
    let mut q = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .into_boxed();
    if let Some(p) = view_index(view).1 {
        q = q.filter(Where::default().sql(p));
    }
    q.select(UserRow::as_select())
        .order(users::id.asc())
        .limit(limit)
        .offset(offset)
        .load(conn)?
        .into_iter()
        .map(User::try_from)
        .collect()
}

/// No sign-in since `cutoff` (and, never signed in, created before it).
#[diesel::dsl::auto_type]
fn inactive_before(cutoff: i64) -> _ {
    users::last_login_at.lt(cutoff).or(users::last_login_at
        .is_null()
        .and(users::created_at.lt(cutoff)))
}

/// Active, unflagged users whose last activity is before `cutoff`.
pub fn stale_candidates(
    conn: &mut DbConnection,
    tenant: TenantId,
    cutoff: i64,
) -> Result<Vec<UserId>, StorageError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::stale_since.is_null())
        .filter(users::status.eq("active"))
        .filter(inactive_before(cutoff))
        .select(users::id)
        .load::<i64>(conn)?
        .into_iter()
        .map(UserId)
        .collect())
}

/// Flags one user. The guard repeats the candidate test on the row as it is now (PostgreSQL
/// re-checks it after waiting for a concurrent writer): a user who signed in, was flagged or
/// was deactivated since the candidates were read is left alone.
pub fn flag_stale(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    cutoff: i64,
    now: i64,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0))
            .filter(users::stale_since.is_null())
            .filter(users::status.eq("active"))
            .filter(inactive_before(cutoff)),
    )
    .set(users::stale_since.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

// ---------------------------------------------------------------------------------------------
// The user lists: views, prefix search, keyset pages and counts.

/// Each view's partial index on `(tenant_id, id)` (migration 000008) and its predicate, written
/// exactly as the index's (literals, not bind parameters, so both planners see that the query
/// implies it): a page is a short backward walk of that index, a count reads only the index.
fn view_index(view: UserViewKind) -> (&'static str, Option<&'static str>) {
    let (name, predicate) = match view {
        UserViewKind::Active => (
            "users_view_active",
            "users.status = 'active' AND users.stale_since IS NULL \
             AND users.deprovisioned_at IS NULL",
        ),
        UserViewKind::Stale => (
            "users_view_stale",
            "users.stale_since IS NOT NULL AND users.deprovisioned_at IS NULL",
        ),
        UserViewKind::Deactivated => (
            "users_view_deactivated",
            "users.status = 'deactivated' AND users.deprovisioned_at IS NULL",
        ),
        UserViewKind::Deprovisioned => (
            "users_view_deprovisioned",
            "users.deprovisioned_at IS NOT NULL",
        ),
        UserViewKind::All => return ("users_view_all", None),
    };
    (name, Some(predicate))
}

/// A case-insensitive prefix search: the term as typed, trimmed, 1-200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search(String);

impl Search {
    pub const MAX_CHARS: usize = 200;

    /// `None` for a blank term; `Err` when it is too long.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let t = raw.trim();
        if t.is_empty() {
            Ok(None)
        } else if t.chars().count() > Self::MAX_CHARS {
            Err(format!("must be at most {} characters", Self::MAX_CHARS))
        } else if t.chars().any(char::is_control) {
            // PostgreSQL refuses NUL in text parameters; no stored value holds controls.
            Err("must not contain control characters".into())
        } else {
            Ok(Some(Self(t.to_owned())))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The smallest string greater than every string that starts with `prefix`, in code point
/// (= UTF-8 byte) order: the last character incremented, or `None` when there is none.
/// `prefix <= s < upper` then holds exactly for the strings `s` that start with `prefix`.
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// How each backend spells the searched columns of `users AS s`. They must match the
/// expression indexes of migrations 000006 and 000008: code point order (`COLLATE "C"` on
/// PostgreSQL, whose database collation may be linguistic; BINARY on SQLite), in which a
/// prefix is a range.
struct Columns {
    email: &'static str,
    first_name: &'static str,
    last_name: &'static str,
    iwms_id: &'static str,
}

const SQLITE_COLUMNS: Columns = Columns {
    email: "s.email",
    first_name: "lower(s.first_name)",
    last_name: "lower(s.last_name)",
    iwms_id: "lower(s.iwms_id)",
};

const PG_COLUMNS: Columns = Columns {
    email: "s.email COLLATE \"C\"",
    first_name: "lower(s.first_name) COLLATE \"C\"",
    last_name: "lower(s.last_name) COLLATE \"C\"",
    iwms_id: "lower(s.iwms_id) COLLATE \"C\"",
};

/// ` AND expr >= prefix AND expr < upper`.
fn starts_with(f: Where, expr: &str, prefix: &str) -> Where {
    let f = f.sql(&format!(" AND {expr} >= ")).text(prefix);
    match prefix_upper_bound(prefix) {
        Some(upper) => f.sql(&format!(" AND {expr} < ")).text(&upper),
        None => f,
    }
}

/// `users.id IN (…)`: the ids of the tenant's users whose email, first name, last name or
/// IWMS ID starts with the term, or (for a term of several words) whose first name starts
/// with the first word and last name with the rest. Each SELECT is a range of one index
/// (covering: only ids are read), so the work is proportional to the matches whatever the
/// planner knows (SQLite has no statistics: given one OR of the ranges, it walked the view's
/// index and read the tenant's rows). The full-name INTERSECT comes first: SQLite has no
/// parentheses in compound SELECTs and applies them left to right, PostgreSQL binds INTERSECT
/// tighter; both then read it as `(first INTERSECT last) UNION ALL …`.
/// Emails are stored ASCII-lowercased and compared so; names and IWMS IDs go through the
/// database's `lower()`, which folds ASCII only on SQLite and all of Unicode on PostgreSQL,
/// so the term is folded the same way.
fn matching(conn: &DbConnection, tenant: TenantId, s: &Search) -> Where {
    let (cols, folded) = match conn {
        DbConnection::Pg(_) => (&PG_COLUMNS, s.0.to_lowercase()),
        DbConnection::Sqlite(_) => (&SQLITE_COLUMNS, s.0.to_ascii_lowercase()),
    };
    let mut selects: Vec<(&str, &'static str, String)> = Vec::new();
    if let Some((first, rest)) = folded.split_once(char::is_whitespace) {
        selects.push(("", cols.first_name, first.to_owned()));
        selects.push((" INTERSECT ", cols.last_name, rest.trim_start().to_owned()));
    }
    for (expr, prefix) in [
        (cols.email, s.0.to_ascii_lowercase()),
        (cols.first_name, folded.clone()),
        (cols.last_name, folded.clone()),
        (cols.iwms_id, folded.clone()),
    ] {
        let op = if selects.is_empty() {
            ""
        } else {
            " UNION ALL "
        };
        selects.push((op, expr, prefix));
    }
    let mut f = Where::default().sql("users.id IN (");
    for (op, expr, prefix) in &selects {
        f = f
            .sql(op)
            .sql("SELECT s.id FROM users s WHERE s.tenant_id = ")
            .int(tenant.0);
        f = starts_with(f, expr, prefix);
    }
    f.sql(")")
}

/// One page of a view, newest first: users with an id below `after` (keyset paging; never
/// OFFSET), at most `limit`.
pub fn page(
    conn: &mut DbConnection,
    tenant: TenantId,
    view: UserViewKind,
    search: Option<&Search>,
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<User>, StorageError> {
    let mut q = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .into_boxed();
    if let Some(p) = view_index(view).1 {
        q = q.filter(Where::default().sql(p));
    }
    if let Some(s) = search {
        q = q.filter(matching(conn, tenant, s));
    }
    if let Some(a) = after {
        q = q.filter(users::id.lt(a.0));
    }
    q.select(UserRow::as_select())
        .order(users::id.desc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(User::try_from)
        .collect()
}

/// Users matching `predicate` (SQL from code over `users`), newest first below `after`:
/// the provisioning workbench's user views.
pub fn page_where(
    conn: &mut DbConnection,
    tenant: TenantId,
    predicate: Where,
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<User>, StorageError> {
    let mut q = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(predicate)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(users::id.lt(a.0));
    }
    q.select(UserRow::as_select())
        .order(users::id.desc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(User::try_from)
        .collect()
}

/// How many of the tenant's users match `predicate`.
pub fn count_where(
    conn: &mut DbConnection,
    tenant: TenantId,
    predicate: Where,
) -> Result<i64, StorageError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(predicate)
        .count()
        .get_result(conn)?)
}

/// How many users each view holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, QueryableByName)]
pub struct ViewCounts {
    #[diesel(sql_type = BigInt)]
    pub active: i64,
    #[diesel(sql_type = BigInt)]
    pub stale: i64,
    #[diesel(sql_type = BigInt)]
    pub deactivated: i64,
    #[diesel(sql_type = BigInt)]
    pub deprovisioned: i64,
    #[diesel(sql_type = BigInt)]
    pub all: i64,
}

/// Each view counted on its partial index, in one statement (one snapshot). SQLite, which
/// has no statistics, is told the index (`INDEXED BY`): left alone it counted the active
/// users through users_tenant_activity and read every row (10x slower at 100,000 users).
pub fn count_views(conn: &mut DbConnection, tenant: TenantId) -> Result<ViewCounts, StorageError> {
    let (param, sqlite) = match conn {
        DbConnection::Pg(_) => ("$1", false),
        DbConnection::Sqlite(_) => ("?1", true),
    };
    let count = |view: UserViewKind, alias: &str| {
        let (index, predicate) = view_index(view);
        let hint = if sqlite {
            format!(" INDEXED BY {index}")
        } else {
            String::new()
        };
        let cond = predicate.map(|p| format!(" AND {p}")).unwrap_or_default();
        format!(
            "(SELECT COUNT(*) FROM users{hint} WHERE users.tenant_id = {param}{cond}) AS \"{alias}\""
        )
    };
    let query = format!(
        "SELECT {}, {}, {}, {}, {}",
        count(UserViewKind::Active, "active"),
        count(UserViewKind::Stale, "stale"),
        count(UserViewKind::Deactivated, "deactivated"),
        count(UserViewKind::Deprovisioned, "deprovisioned"),
        count(UserViewKind::All, "all"),
    );
    Ok(diesel::sql_query(query)
        .bind::<BigInt, _>(tenant.0)
        .get_result(conn)?)
}

/// Sets the status when it is `from`; false when it was not (a concurrent change, or already
/// in the target state).
pub fn change_status(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: UserId,
    from: UserStatus,
    to: UserStatus,
    now: i64,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::id.eq(id.0))
            .filter(users::status.eq(from.as_str())),
    )
    .set((users::status.eq(to.as_str()), users::updated_at.eq(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Holds the user's row until the transaction ends (PostgreSQL; SQLite serialises writers).
pub fn lock(conn: &mut DbConnection, tenant: TenantId, id: UserId) -> Result<(), StorageError> {
    super::lock_row(
        conn,
        "SELECT id FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant,
        id.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_holds_exactly_the_strings_with_that_prefix() {
        assert_eq!(prefix_upper_bound("ann").as_deref(), Some("ano"));
        assert_eq!(
            prefix_upper_bound("a\u{D7FF}").as_deref(),
            Some("a\u{E000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound(""), None);
        let upper = prefix_upper_bound("ann").unwrap();
        for s in ["ann", "anna", "ann\u{10FFFF}x", "ann-marie"] {
            assert!(("ann"..upper.as_str()).contains(&s), "{s}");
        }
        for s in ["an", "ano", "anm\u{10FFFF}", "b"] {
            assert!(!("ann"..upper.as_str()).contains(&s), "{s}");
        }
    }

    #[test]
    fn search_terms_are_trimmed_and_capped() {
        assert_eq!(Search::parse("  "), Ok(None));
        assert_eq!(Search::parse(" Ann ").unwrap().unwrap().as_str(), "Ann");
        assert!(Search::parse(&"é".repeat(200)).unwrap().is_some());
        assert!(Search::parse(&"é".repeat(201)).is_err());
    }
}
