//! How many users a trigram-narrowed filter can match at most, from its `co`/`sw`/`ew`
//! conditions alone, each counted through its trigram index and no further than a limit.
//! `service::scim::users::page` refuses the filter when that exceeds
//! `scim.max_scanned_matches`, before the whole filter is counted: a condition matching most
//! of a large tenant (`emails[value ew "@example.com"]`) costs the limit's worth of index
//! entries, not a count of every match.
use diesel::RunQueryDsl;

use super::narrowing::{Narrowing, email_value_narrowing, user_leaf_narrowing};
use super::{Case, Where, comparison, fts_column, fts_phrase, key, resolve_in, user_column};
use crate::domain::ids::TenantId;
use crate::domain::scim::filter::{CompareOp, Filter, Value};
use crate::domain::scim::schema::USER_RESOURCE;
use crate::domain::scim::user::IwmsSource;
use crate::storage::sql::Scalar;
use crate::storage::{DbConnection, StorageError};

/// An upper bound on the users `f` matches, at most `limit`: an `and` takes its smaller side,
/// an `or` the sum of both; a `co`/`sw`/`ew` condition the trigram index answers counts its
/// own matches; a condition a B-tree index answers counts 0 (counting it is cheap) and one
/// no index narrows counts `limit`. Meant for filters `users_narrowing` calls `Trigram`.
pub fn users_trigram_matches(
    conn: &mut DbConnection,
    f: &Filter,
    tenant: TenantId,
    iwms: Option<IwmsSource>,
    limit: i64,
) -> Result<i64, StorageError> {
    bounded(f, limit, &mut |leaf| {
        user_leaf(conn, tenant, iwms, leaf, limit)
    })
}

fn bounded(
    f: &Filter,
    limit: i64,
    leaf: &mut dyn FnMut(&Filter) -> Result<i64, StorageError>,
) -> Result<i64, StorageError> {
    match f {
        Filter::And(a, b) => {
            let left = bounded(a, limit, leaf)?;
            if left == 0 {
                return Ok(0);
            }
            Ok(left.min(bounded(b, limit, leaf)?))
        }
        Filter::Or(a, b) => {
            let left = bounded(a, limit, leaf)?;
            if left >= limit {
                return Ok(limit);
            }
            Ok((left + bounded(b, limit, leaf)?).min(limit))
        }
        other => leaf(other),
    }
}

fn user_leaf(
    conn: &mut DbConnection,
    tenant: TenantId,
    iwms: Option<IwmsSource>,
    f: &Filter,
    limit: i64,
) -> Result<i64, StorageError> {
    match user_leaf_narrowing(f, iwms) {
        Narrowing::Index => return Ok(0),
        Narrowing::Scan => return Ok(limit),
        Narrowing::Trigram => {}
    }
    match f {
        Filter::ValuePath { filter, .. } => bounded(filter, limit, &mut |leaf| match (
            email_value_narrowing(leaf),
            leaf,
        ) {
            (Narrowing::Index, _) => Ok(0),
            (
                Narrowing::Trigram,
                Filter::Compare {
                    op,
                    value: Value::Str(v),
                    ..
                },
            ) => email_matches(conn, tenant, *op, v, limit),
            _ => Ok(limit),
        }),
        Filter::Compare {
            path,
            op,
            value: Value::Str(v),
        } => {
            let Ok(r) = resolve_in(path, &USER_RESOURCE) else {
                return Ok(limit);
            };
            if matches!(key(&r).as_str(), "emails" | "emails.value") {
                return email_matches(conn, tenant, *op, v, limit);
            }
            match user_column(&r, iwms) {
                Ok((col, case)) => matches(conn, tenant, col, case, *op, v, "", limit),
                Err(_) => Ok(limit),
            }
        }
        _ => Ok(limit),
    }
}

/// Users with an email matching: the addresses SCIM listed, and the sign-in email of users
/// SCIM never wrote (as `users_with_email` reads them).
fn email_matches(
    conn: &mut DbConnection,
    tenant: TenantId,
    op: CompareOp,
    v: &str,
    limit: i64,
) -> Result<i64, StorageError> {
    let listed = matches(
        conn,
        tenant,
        "user_emails.value_lc",
        Case::Key,
        op,
        v,
        "",
        limit,
    )?;
    if listed >= limit {
        return Ok(limit);
    }
    let own = matches(
        conn,
        tenant,
        "users.email",
        Case::Key,
        op,
        v,
        " AND users.scim_user_name IS NULL",
        limit,
    )?;
    Ok((listed + own).min(limit))
}

/// Rows of the tenant whose `col` matches, counted up to `limit`. On SQLite the FTS5 table
/// drives the query (its matches come in rowid order, one at a time, so the `LIMIT` stops
/// the walk); PostgreSQL's planner takes the pg_trgm index for the LIKE.
#[allow(clippy::too_many_arguments)]
fn matches(
    conn: &mut DbConnection,
    tenant: TenantId,
    col: &'static str,
    case: Case,
    op: CompareOp,
    v: &str,
    extra: &'static str,
    limit: i64,
) -> Result<i64, StorageError> {
    let Some((rowid, fts, fts_col)) = fts_column(col) else {
        return Ok(limit);
    };
    let (table, _) = rowid.split_once('.').unwrap_or((rowid, ""));
    let visible = if table == "users" {
        " AND users.deprovisioned_at IS NULL"
    } else {
        ""
    };
    let q = Where::default()
        .sql("(SELECT count(*) FROM (SELECT 1 FROM ")
        .sqlite_only(Where::default().sql(fts).sql(" CROSS JOIN "))
        .sql(table)
        .sqlite_only(
            Where::default()
                .sql(" ON ")
                .sql(rowid)
                .sql(" = ")
                .sql(fts)
                .sql(".rowid"),
        )
        .sql(" WHERE ")
        .sqlite_only(
            Where::default()
                .sql(fts)
                .sql(" MATCH ")
                .text(fts_phrase(fts_col, v))
                .sql(" AND "),
        )
        .sql(table)
        .sql(".tenant_id = ")
        .int(tenant.0)
        .sql(visible)
        .sql(extra)
        .sql(" AND ")
        .append(comparison(col, case, op, v))
        .sql(" LIMIT ")
        .int(limit)
        .sql(") AS matched)");
    Ok(diesel::select(Scalar(q)).get_result::<i64>(conn)?)
}
