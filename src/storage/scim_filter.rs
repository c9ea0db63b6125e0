//! SCIM filters translated into parameterised SQL: column names come from a fixed list here,
//! every value is a bind parameter. Multi-valued attributes (emails, groups, members) become
//! `id IN (subquery)` on their own indexed tables. Anything else is `invalidFilter`.
pub use super::sql::Where;
use crate::domain::ids::TenantId;
use crate::domain::scim::error::{ScimError, quote};
use crate::domain::scim::filter::{AttrPath, CompareOp, Filter, Value};
use crate::domain::scim::path::{Resolved, resolve};
use crate::domain::scim::schema::{ENTERPRISE_USER, GROUP_RESOURCE, USER_RESOURCE};
use crate::domain::scim::user::{IwmsSource, user_name_key};

mod candidates;
mod narrowing;
pub use candidates::users_trigram_matches;
pub use narrowing::{Narrowing, trigram_narrows, users_narrowing};
use narrowing::{email_value_narrowing, like, narrowed, text_narrowing};

fn unsupported(what: &str) -> ScimError {
    ScimError::invalid_filter(format!("filtering on `{}` is not supported", quote(what)))
}

/// LIKE pattern for co/sw/ew, with `\` escaping the wildcards.
fn like_pattern(op: CompareOp, v: &str) -> String {
    let esc = v
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    match op {
        CompareOp::Co => format!("%{esc}%"),
        CompareOp::Sw => format!("{esc}%"),
        _ => format!("%{esc}"),
    }
}

fn str_value<'a>(what: &str, v: &'a Value) -> Result<&'a str, ScimError> {
    match v {
        Value::Str(s) => Ok(s),
        _ => Err(ScimError::invalid_filter(format!(
            "`{what}` is compared with a string"
        ))),
    }
}

/// How a text column compares: `Fold` lowers both sides in SQL (SQLite folds ASCII only,
/// PostgreSQL all of Unicode), `Key` compares with a column holding an ASCII-folded key,
/// `Exact` is case-sensitive (SQLite runs with case_sensitive_like on).
#[derive(Clone, Copy)]
enum Case {
    Fold,
    Key,
    Exact,
}

fn op_sql(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => " = ",
        CompareOp::Ne => " <> ",
        CompareOp::Gt => " > ",
        CompareOp::Ge => " >= ",
        CompareOp::Lt => " < ",
        CompareOp::Le => " <= ",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => " LIKE ",
    }
}

fn text(
    what: &str,
    col: &'static str,
    case: Case,
    op: CompareOp,
    v: &Value,
) -> Result<Where, ScimError> {
    let w = Where::default();
    if matches!(v, Value::Null) {
        return match op {
            CompareOp::Eq => Ok(w.sql(col).sql(" IS NULL")),
            CompareOp::Ne => Ok(w.sql(col).sql(" IS NOT NULL")),
            _ => Err(ScimError::invalid_filter(
                "null is compared with eq or ne only",
            )),
        };
    }
    let v = str_value(what, v)?;
    let mut w = w.sql("(");
    // SQLite: the FTS5 trigram table's phrase match (case-folded, so a superset of the LIKE's
    // matches) picks the candidates by id; the LIKE below decides. PostgreSQL's planner uses
    // the pg_trgm index on the LIKE itself.
    if like(op)
        && trigram_narrows(v)
        && let Some((rowid, table, column)) = fts_column(col)
    {
        w = w.sqlite_only(
            Where::default()
                .sql(rowid)
                .sql(" IN (SELECT rowid FROM ")
                .sql(table)
                .sql(" WHERE ")
                .sql(table)
                .sql(" MATCH ")
                .text(fts_phrase(column, v))
                .sql(") AND "),
        );
    }
    // An unassigned attribute is "not equal" to any value.
    if op == CompareOp::Ne {
        w = w.sql(col).sql(" IS NULL OR ");
    }
    Ok(w.append(comparison(col, case, op, v)).sql(")"))
}

/// `col` compared with the string `v` (a LIKE pattern for co/sw/ew), nothing else.
fn comparison(col: &'static str, case: Case, op: CompareOp, v: &str) -> Where {
    let bound = if like(op) {
        like_pattern(op, v)
    } else {
        v.to_owned()
    };
    let w = Where::default();
    let w = match case {
        Case::Fold => w
            .sql("lower(")
            .sql(col)
            .sql(")")
            .sql(op_sql(op))
            .sql("lower(")
            .text(bound)
            .sql(")"),
        Case::Key => w.sql(col).sql(op_sql(op)).text(user_name_key(&bound)),
        Case::Exact => w.sql(col).sql(op_sql(op)).text(bound),
    };
    if like(op) { w.sql(" ESCAPE '\\'") } else { w }
}

/// The FTS5 query for `v` anywhere in `column`: one phrase (its trigrams in a row).
fn fts_phrase(column: &str, v: &str) -> String {
    format!("{column} : \"{}\"", v.replace('"', "\"\""))
}

/// The SQLite FTS5 trigram column mirroring `col` (migration 2026-12-07-000019_scim_trigram):
/// (the id it is keyed by, table, column). PostgreSQL has a pg_trgm index on each of these
/// expressions instead, and needs no rewrite.
fn fts_column(col: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match col {
        USER_NAME => ("users.id", "users_trgm", "user_name"),
        "users.email" => ("users.id", "users_trgm", "email"),
        "users.first_name" => ("users.id", "users_trgm", "first_name"),
        "users.last_name" => ("users.id", "users_trgm", "last_name"),
        "users.display_name" => ("users.id", "users_trgm", "display_name"),
        "users.external_id" => ("users.id", "users_trgm", "external_id"),
        "user_emails.value_lc" => ("user_emails.id", "user_emails_trgm", "value_lc"),
        _ => return None,
    })
}

fn boolean(
    what: &str,
    yes: Where,
    no: Where,
    op: CompareOp,
    v: &Value,
) -> Result<Where, ScimError> {
    let Value::Bool(b) = v else {
        return Err(ScimError::invalid_filter(format!(
            "`{what}` is compared with true or false"
        )));
    };
    match op {
        CompareOp::Eq => Ok(if *b { yes } else { no }),
        CompareOp::Ne => Ok(if *b { no } else { yes }),
        _ => Err(ScimError::invalid_filter(format!(
            "`{what}` is compared with eq or ne only"
        ))),
    }
}

fn time(what: &str, col: &'static str, op: CompareOp, v: &Value) -> Result<Where, ScimError> {
    let s = str_value(what, v)?;
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            ScimError::invalid_filter(format!(
                "`{what}` is compared with a dateTime such as 2026-01-31T12:00:00Z"
            ))
        })?
        .unix_timestamp();
    if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
        return Err(ScimError::invalid_filter(format!(
            "`{what}` is compared with eq, ne, gt, ge, lt or le"
        )));
    }
    Ok(Where::default().sql(col).sql(op_sql(op)).int(t))
}

/// Ids are integers; a value that is not one matches nothing rather than failing.
fn id_cmp(col: &'static str, op: CompareOp, v: &Value) -> Result<Where, ScimError> {
    let id = str_value("id", v)?.parse::<i64>();
    match (op, id) {
        (CompareOp::Eq, Ok(id)) => Ok(Where::default().sql(col).sql(" = ").int(id)),
        (CompareOp::Ne, Ok(id)) => Ok(Where::default().sql(col).sql(" <> ").int(id)),
        (CompareOp::Eq, Err(_)) => Ok(Where::never()),
        (CompareOp::Ne, Err(_)) => Ok(Where::always()),
        _ => Err(ScimError::invalid_filter(
            "`id` is compared with eq or ne only",
        )),
    }
}

fn combine(
    f: &Filter,
    leaf: &mut dyn FnMut(&Filter) -> Result<Where, ScimError>,
) -> Result<Where, ScimError> {
    Ok(match f {
        Filter::And(a, b) => Where::default()
            .sql("(")
            .append(combine(a, leaf)?)
            .sql(" AND ")
            .append(combine(b, leaf)?)
            .sql(")"),
        Filter::Or(a, b) => Where::default()
            .sql("(")
            .append(combine(a, leaf)?)
            .sql(" OR ")
            .append(combine(b, leaf)?)
            .sql(")"),
        // NOT over a NULL comparison is NULL: COALESCE keeps `not (title eq "x")` true for
        // users without a title.
        Filter::Not(inner) => Where::default()
            .sql("NOT COALESCE(")
            .append(combine(inner, leaf)?)
            .sql(", FALSE)"),
        other => leaf(other)?,
    })
}

/// `name.givenName`, `employeeNumber`, `manager.value`.
fn key(r: &Resolved) -> String {
    match r.sub {
        Some(s) => format!("{}.{}", r.attr.name, s.name),
        None => r.attr.name.to_owned(),
    }
}

// ----- users -----

/// A user's userName: SCIM's, else (a user a sign-in or an admin created) the email. The
/// index `users_scim_user_name_or_email` is on this expression.
const USER_NAME: &str = "COALESCE(users.scim_user_name_lc, users.email)";

/// Where an email's parts are: the `user_emails` rows SCIM wrote, or, for a user SCIM never
/// wrote, its one sign-in email (shown as the primary work address).
struct EmailCols {
    value: &'static str,
    kind: &'static str,
    primary: &'static str,
}

const LISTED: EmailCols = EmailCols {
    value: "user_emails.value_lc",
    kind: "user_emails.kind",
    primary: "user_emails.is_primary",
};

const OWN: EmailCols = EmailCols {
    value: "users.email",
    kind: "'work'",
    primary: "TRUE",
};

fn email_leaf(f: &Filter, cols: &EmailCols) -> Result<Where, ScimError> {
    match f {
        Filter::Compare { path, op, value } if path.uri.is_none() && path.sub_attr.is_none() => {
            email_cmp(&path.attr.to_ascii_lowercase(), *op, value, cols)
        }
        Filter::Present(path) if path.uri.is_none() && path.sub_attr.is_none() => {
            match path.attr.to_ascii_lowercase().as_str() {
                "value" => Ok(Where::always()),
                "type" => Ok(Where::default().sql(cols.kind).sql(" IS NOT NULL")),
                "primary" => Ok(Where::default().sql(cols.primary)),
                other => Err(unsupported(&format!("emails.{other}"))),
            }
        }
        _ => Err(ScimError::invalid_filter(
            "inside emails[...], compare value, type or primary",
        )),
    }
}

fn email_cmp(sub: &str, op: CompareOp, v: &Value, cols: &EmailCols) -> Result<Where, ScimError> {
    match sub {
        "value" => text("emails.value", cols.value, Case::Key, op, v),
        "type" => text("emails.type", cols.kind, Case::Fold, op, v),
        "primary" => boolean(
            "emails.primary",
            Where::default().sql(cols.primary).sql(" = TRUE"),
            Where::default().sql(cols.primary).sql(" = FALSE"),
            op,
            v,
        ),
        other => Err(unsupported(&format!("emails.{other}"))),
    }
}

/// Users with an email matching `cond` (built once per place an email is kept).
/// With `by_trigram` (the condition is narrowed by the trigram tables), SQLite is kept from
/// reading the tenant's emails in the (tenant_id, value_lc) index instead of looking up the
/// FTS5 candidates by id (without statistics it takes the tenant's rows to be few).
fn users_with_email(
    tenant: TenantId,
    by_trigram: bool,
    cond: &mut dyn FnMut(&EmailCols) -> Result<Where, ScimError>,
) -> Result<Where, ScimError> {
    let mut w =
        Where::default().sql("(users.id IN (SELECT user_emails.user_id FROM user_emails WHERE ");
    if by_trigram {
        w = w.sqlite_only(Where::default().sql("+"));
    }
    // One subquery over both places (a UNION, not an OR of two conditions): each part is
    // answered from its own index.
    Ok(w.sql("user_emails.tenant_id = ")
        .int(tenant.0)
        .sql(" AND ")
        .append(cond(&LISTED)?)
        .sql(" UNION SELECT users.id FROM users WHERE users.tenant_id = ")
        .int(tenant.0)
        .sql(" AND users.scim_user_name IS NULL AND ")
        .append(cond(&OWN)?)
        .sql("))"))
}

fn users_in_groups(tenant: TenantId, group: Option<i64>) -> Where {
    let w = Where::default()
        .sql("users.id IN (SELECT group_members.user_id FROM group_members WHERE group_members.tenant_id = ")
        .int(tenant.0);
    match group {
        Some(g) => w.sql(" AND group_members.group_id = ").int(g).sql(")"),
        None => w.sql(")"),
    }
}

/// The column behind a single-valued text attribute. The tenant's IWMS attribute reads
/// iwms_id, which SSO sign-ins keep current.
fn user_column(r: &Resolved, iwms: Option<IwmsSource>) -> Result<(&'static str, Case), ScimError> {
    if let Some(src) = iwms
        && r.sub.is_none()
        && src.attr == r.attr.name
        && src.extension == r.extension
    {
        let case = if src.attr == "externalId" {
            Case::Exact
        } else {
            Case::Fold
        };
        return Ok(("users.iwms_id", case));
    }
    let enterprise = r.extension == Some(ENTERPRISE_USER);
    Ok(match (enterprise, key(r).as_str()) {
        (false, "externalId") => ("users.external_id", Case::Exact),
        (false, "userName") => (USER_NAME, Case::Key),
        (false, "name.givenName") => ("users.first_name", Case::Fold),
        (false, "name.familyName") => ("users.last_name", Case::Fold),
        (false, "displayName") => ("users.display_name", Case::Fold),
        (false, "nickName") => ("users.nick_name", Case::Fold),
        (false, "title") => ("users.title", Case::Fold),
        (true, "employeeNumber") => ("users.employee_number", Case::Fold),
        (true, "department") => ("users.department", Case::Fold),
        (true, "manager" | "manager.value") => ("users.manager_id", Case::Exact),
        _ => return Err(unsupported(&r.display())),
    })
}

fn resolve_in(
    p: &AttrPath,
    rs: &crate::domain::scim::schema::ResourceSchema,
) -> Result<Resolved, ScimError> {
    resolve(p, rs).map_err(|e| ScimError::invalid_filter(e.detail))
}

fn user_leaf(tenant: TenantId, iwms: Option<IwmsSource>, f: &Filter) -> Result<Where, ScimError> {
    match f {
        Filter::ValuePath { path, filter } => {
            let r = resolve_in(path, &USER_RESOURCE)?;
            if r.attr.name != "emails" || r.sub.is_some() {
                return Err(unsupported(&r.display()));
            }
            let by_trigram = narrowed(filter, &email_value_narrowing) == Narrowing::Trigram;
            users_with_email(tenant, by_trigram, &mut |cols| {
                combine(filter, &mut |f| email_leaf(f, cols))
            })
        }
        Filter::Present(path) => {
            let r = resolve_in(path, &USER_RESOURCE)?;
            match key(&r).as_str() {
                "emails" | "emails.value" => {
                    users_with_email(tenant, false, &mut |_| Ok(Where::always()))
                }
                "groups" | "groups.value" => Ok(users_in_groups(tenant, None)),
                "id" | "userName" | "active" | "meta" | "meta.created" | "meta.lastModified" => {
                    Ok(Where::always())
                }
                _ => {
                    let (col, _) = user_column(&r, iwms)?;
                    Ok(Where::default().sql(col).sql(" IS NOT NULL"))
                }
            }
        }
        Filter::Compare { path, op, value } => {
            let r = resolve_in(path, &USER_RESOURCE)?;
            let name = key(&r);
            match name.as_str() {
                "id" => id_cmp("users.id", *op, value),
                "active" => boolean(
                    "active",
                    Where::default().sql("users.status = 'active'"),
                    Where::default().sql("users.status <> 'active'"),
                    *op,
                    value,
                ),
                "meta.created" => time(&name, "users.created_at", *op, value),
                "meta.lastModified" => time(&name, "users.updated_at", *op, value),
                "emails" | "emails.value" | "emails.type" | "emails.primary" => {
                    let sub = r.sub.map_or("value", |s| s.name);
                    let by_trigram = sub == "value"
                        && matches!(value, Value::Str(v)
                            if text_narrowing("user_emails.value_lc", *op, v) == Narrowing::Trigram);
                    users_with_email(tenant, by_trigram, &mut |cols| {
                        email_cmp(sub, *op, value, cols)
                    })
                }
                "groups" | "groups.value" => {
                    if *op != CompareOp::Eq {
                        return Err(ScimError::invalid_filter(
                            "`groups` is compared with eq only",
                        ));
                    }
                    match str_value("groups", value)?.parse::<i64>() {
                        Ok(g) => Ok(users_in_groups(tenant, Some(g))),
                        Err(_) => Ok(Where::never()),
                    }
                }
                _ => {
                    let (col, case) = user_column(&r, iwms)?;
                    text(&name, col, case, *op, value)
                }
            }
        }
        _ => Err(ScimError::invalid_filter("unexpected filter")),
    }
}

/// The WHERE condition for a filter on a tenant's users.
pub fn users(f: &Filter, tenant: TenantId, iwms: Option<IwmsSource>) -> Result<Where, ScimError> {
    combine(f, &mut |leaf| user_leaf(tenant, iwms, leaf))
}

// ----- groups -----

fn groups_with_member(tenant: TenantId, user: Option<i64>) -> Where {
    let w = Where::default()
        .sql("scim_groups.id IN (SELECT group_members.group_id FROM group_members WHERE group_members.tenant_id = ")
        .int(tenant.0);
    match user {
        Some(u) => w.sql(" AND group_members.user_id = ").int(u).sql(")"),
        None => w.sql(")"),
    }
}

fn member_id(what: &str, op: CompareOp, v: &Value, tenant: TenantId) -> Result<Where, ScimError> {
    if op != CompareOp::Eq {
        return Err(ScimError::invalid_filter(format!(
            "`{what}` is compared with eq only"
        )));
    }
    Ok(match str_value(what, v)?.parse::<i64>() {
        Ok(u) => groups_with_member(tenant, Some(u)),
        Err(_) => Where::never(),
    })
}

fn group_leaf(tenant: TenantId, f: &Filter) -> Result<Where, ScimError> {
    match f {
        Filter::Present(path) => {
            let r = resolve_in(path, &GROUP_RESOURCE)?;
            Ok(match key(&r).as_str() {
                "members" | "members.value" => groups_with_member(tenant, None),
                "externalId" => Where::default().sql("scim_groups.external_id IS NOT NULL"),
                "id" | "displayName" | "meta" | "meta.created" | "meta.lastModified" => {
                    Where::always()
                }
                other => return Err(unsupported(other)),
            })
        }
        Filter::Compare { path, op, value } => {
            let r = resolve_in(path, &GROUP_RESOURCE)?;
            let name = key(&r);
            match name.as_str() {
                "id" => id_cmp("scim_groups.id", *op, value),
                "displayName" => text(&name, "scim_groups.display_name", Case::Fold, *op, value),
                "externalId" => text(&name, "scim_groups.external_id", Case::Exact, *op, value),
                "meta.created" => time(&name, "scim_groups.created_at", *op, value),
                "meta.lastModified" => time(&name, "scim_groups.updated_at", *op, value),
                "members" | "members.value" => member_id(&name, *op, value, tenant),
                other => Err(unsupported(other)),
            }
        }
        Filter::ValuePath { path, filter } => {
            let r = resolve_in(path, &GROUP_RESOURCE)?;
            match (r.attr.name, filter.as_ref()) {
                (
                    "members",
                    Filter::Compare {
                        path: inner,
                        op,
                        value,
                    },
                ) if inner.attr.eq_ignore_ascii_case("value") && inner.sub_attr.is_none() => {
                    member_id("members.value", *op, value, tenant)
                }
                _ => Err(unsupported(&format!("{}[...]", r.attr.name))),
            }
        }
        _ => Err(ScimError::invalid_filter("unexpected filter")),
    }
}

/// The WHERE condition for a filter on a tenant's groups.
pub fn groups(f: &Filter, tenant: TenantId) -> Result<Where, ScimError> {
    combine(f, &mut |leaf| group_leaf(tenant, leaf))
}
