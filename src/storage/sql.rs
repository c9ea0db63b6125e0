//! One builder for dynamic WHERE clauses, shared by the admin user search and the SCIM
//! filters: SQL text comes from code, every value is a bind parameter.
use diesel::QueryResult;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Text};

use super::pool::MultiBackend;

#[derive(Debug, Clone)]
enum Part {
    Sql(String),
    Text(String),
    Int(i64),
    /// Emitted on SQLite only (an FTS5 lookup PostgreSQL answers from its own index).
    SqliteOnly(Vec<Part>),
}

fn binds(parts: &[Part]) -> bool {
    parts.iter().any(|p| match p {
        Part::Sql(_) => false,
        Part::SqliteOnly(inner) => binds(inner),
        _ => true,
    })
}

fn walk<'b>(
    parts: &'b [Part],
    sqlite: bool,
    out: &mut AstPass<'_, 'b, MultiBackend>,
) -> QueryResult<()> {
    for p in parts {
        match p {
            Part::Sql(s) => out.push_sql(s),
            Part::Text(v) => out.push_bind_param::<Text, String>(v)?,
            Part::Int(v) => out.push_bind_param::<BigInt, i64>(v)?,
            Part::SqliteOnly(inner) if sqlite => walk(inner, sqlite, out)?,
            Part::SqliteOnly(_) => {}
        }
    }
    Ok(())
}

/// A boolean SQL expression: SQL text from code with bound values.
///
/// Its statement may be prepared once and cached, except when it binds values: PostgreSQL
/// then plans it with the values at hand each time. (A cached user search got a generic plan
/// that merge-joined the matches with every user of the tenant in id order, 5x slower than
/// the planned-per-call one.)
#[derive(Debug, Clone, Default)]
pub struct Where(Vec<Part>);

impl Where {
    pub fn sql(mut self, s: &str) -> Self {
        self.0.push(Part::Sql(s.to_owned()));
        self
    }
    pub fn text(mut self, v: impl Into<String>) -> Self {
        self.0.push(Part::Text(v.into()));
        self
    }
    pub fn int(mut self, v: i64) -> Self {
        self.0.push(Part::Int(v));
        self
    }
    pub fn append(mut self, other: Where) -> Self {
        self.0.extend(other.0);
        self
    }
    /// `other`, on SQLite only.
    pub fn sqlite_only(mut self, other: Where) -> Self {
        self.0.push(Part::SqliteOnly(other.0));
        self
    }
    pub fn always() -> Self {
        Where::default().sql("1 = 1")
    }
    pub fn never() -> Self {
        Where::default().sql("1 = 0")
    }
}

impl Expression for Where {
    type SqlType = Bool;
}
impl<QS> AppearsOnTable<QS> for Where {}
impl<QS> SelectableExpression<QS> for Where {}
impl ValidGrouping<()> for Where {
    type IsAggregate = is_aggregate::Never;
}
impl QueryId for Where {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for Where {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        if binds(&self.0) {
            out.unsafe_to_cache_prepared();
        }
        let sqlite = matches!(out.backend(), MultiBackend::Sqlite(_));
        walk(&self.0, sqlite, &mut out)
    }
}

/// An integer subquery built like [`Where`] (`(SELECT count(*) FROM …)`), for
/// `diesel::select`.
#[derive(Debug, Clone)]
pub struct Scalar(pub Where);

impl Expression for Scalar {
    type SqlType = BigInt;
}
impl<QS> AppearsOnTable<QS> for Scalar {}
impl<QS> SelectableExpression<QS> for Scalar {}
impl ValidGrouping<()> for Scalar {
    type IsAggregate = is_aggregate::Never;
}
impl QueryId for Scalar {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for Scalar {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}
