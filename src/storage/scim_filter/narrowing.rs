//! Deciding from a users filter's shape alone, before any query, whether an index narrows it
//! to its matches (a B-tree lookup, a trigram lookup) or the tenant would be read row by row.
use super::{Case, USER_NAME, fts_column, key, user_column};
use crate::domain::scim::filter::{CompareOp, Filter, Value};
use crate::domain::scim::path::resolve;
use crate::domain::scim::schema::USER_RESOURCE;
use crate::domain::scim::user::IwmsSource;

/// Whether a trigram index narrows a `co`/`sw`/`ew` value: it holds three ASCII letters or
/// digits in a row. (FTS5 needs three characters; pg_trgm takes its trigrams from runs of
/// letters and digits only, and which non-ASCII characters count depends on the locale.)
/// Shorter values cannot be looked up: such a filter is refused on a large tenant.
pub fn trigram_narrows(v: &str) -> bool {
    let mut run = 0;
    for c in v.chars() {
        run = if c.is_ascii_alphanumeric() {
            run + 1
        } else {
            0
        };
        if run == 3 {
            return true;
        }
    }
    false
}

/// How an index narrows a users filter, best first (the order matters: `and` takes the
/// better side, `or` the worse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Narrowing {
    /// A B-tree lookup: an `eq` on an indexed attribute or a `userName sw`.
    Index,
    /// A trigram lookup: `co`, `sw` or `ew` on userName, emails.value, name.givenName,
    /// name.familyName, displayName or externalId with a value [`trigram_narrows`] accepts.
    /// Its candidates may be many (`ew "@example.com"`): matches are counted up to a bound.
    Trigram,
    /// Nothing narrows it: the tenant would be read row by row.
    Scan,
}

/// How an index narrows the filter to its matches: an `and` is narrowed by its better side,
/// an `or` by its worse; `not` and everything else reads the tenant row by row. Decided from
/// the filter alone, before any query (`service::scim::users::page`).
pub fn users_narrowing(f: &Filter, iwms: Option<IwmsSource>) -> Narrowing {
    narrowed(f, &|leaf| user_leaf_narrowing(leaf, iwms))
}

pub(super) fn narrowed(f: &Filter, leaf: &dyn Fn(&Filter) -> Narrowing) -> Narrowing {
    match f {
        Filter::And(a, b) => narrowed(a, leaf).min(narrowed(b, leaf)),
        Filter::Or(a, b) => narrowed(a, leaf).max(narrowed(b, leaf)),
        other => leaf(other),
    }
}

/// A `co`, `sw` or `ew`: compared with a LIKE pattern.
pub(super) fn like(op: CompareOp) -> bool {
    matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
}

pub(super) fn user_leaf_narrowing(f: &Filter, iwms: Option<IwmsSource>) -> Narrowing {
    match f {
        Filter::Compare {
            path,
            op,
            value: Value::Str(v),
        } if *op == CompareOp::Eq || like(*op) => {
            let Ok(r) = resolve(path, &USER_RESOURCE) else {
                return Narrowing::Scan;
            };
            let name = key(&r);
            if matches!(name.as_str(), "id" | "groups" | "groups.value") {
                return if *op == CompareOp::Eq {
                    Narrowing::Index
                } else {
                    Narrowing::Scan
                };
            }
            let col = match name.as_str() {
                "emails" | "emails.value" => "user_emails.value_lc",
                _ => match user_column(&r, iwms) {
                    // The IWMS attribute's case-sensitive form has no index.
                    Ok(("users.iwms_id", Case::Exact)) | Err(_) => return Narrowing::Scan,
                    Ok((col, _)) => col,
                },
            };
            text_narrowing(col, *op, v)
        }
        Filter::ValuePath { path, filter } => {
            if resolve(path, &USER_RESOURCE).is_ok_and(|r| r.attr.name == "emails") {
                narrowed(filter, &email_value_narrowing)
            } else {
                Narrowing::Scan
            }
        }
        _ => Narrowing::Scan,
    }
}

/// A comparison of the text column `col` (as `user_column` names it).
pub(super) fn text_narrowing(col: &str, op: CompareOp, v: &str) -> Narrowing {
    let btree = matches!(
        col,
        "users.external_id"
            | USER_NAME
            | "users.first_name"
            | "users.last_name"
            | "users.display_name"
            | "users.iwms_id"
            | "user_emails.value_lc"
    );
    match op {
        CompareOp::Eq if btree => Narrowing::Index,
        // userName prefixes: an index range (`text_pattern_ops` on PostgreSQL).
        CompareOp::Sw if col == USER_NAME => Narrowing::Index,
        _ if like(op) && fts_column(col).is_some() && trigram_narrows(v) => Narrowing::Trigram,
        _ => Narrowing::Scan,
    }
}

/// Inside `emails[...]`: `value` compared, the indexed sub-attribute.
pub(super) fn email_value_narrowing(f: &Filter) -> Narrowing {
    match f {
        Filter::Compare {
            path,
            op,
            value: Value::Str(v),
        } if path.uri.is_none()
            && path.sub_attr.is_none()
            && path.attr.eq_ignore_ascii_case("value") =>
        {
            text_narrowing("user_emails.value_lc", *op, v)
        }
        _ => Narrowing::Scan,
    }
}
