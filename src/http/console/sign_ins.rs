//! The sign-in history: every attempt, newest first, filtered by outcome, reason, connection
//! or user, in keyset pages. `highlight` marks one attempt (the users list links to it).
//! Below them, the refusals that nothing tied to a sign-in, counted per connection, reason
//! and hour (their own pages: `counted_before`).
use actix_web::{HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;

use super::pages::{self, Layout, Problem, Problems, when};
use super::{ConsoleAdmin, ConsoleError, db};
use crate::http::AppState;
use crate::service::admin::users::{
    self as admin_users, RefusalCountItem, RefusalCountQuery, SignInItem, SignInQuery,
};
use crate::service::admin::{AdminError, invalid};

const PAGE_SIZE: i64 = 50;

/// Where attempt `id` is in the history: the page that starts with it, marked.
pub fn attempt_href(slug: &str, id: i64) -> String {
    format!(
        "/admin/t/{slug}/sign-ins?before={}&highlight={id}#attempt-{id}",
        id.saturating_add(1)
    )
}

pub struct SignInRow {
    pub id: i64,
    pub highlighted: bool,
    pub at: String,
    pub ok: bool,
    pub reason: String,
    pub detail: String,
    pub connection: String,
    pub email: String,
    pub user_href: Option<String>,
    pub subject: String,
}

/// One hour's count of refusals of one reason on one connection.
pub struct CountRow {
    pub hour: String,
    pub connection: String,
    pub reason: String,
    pub count: i64,
    pub last: String,
    pub detail: String,
}

impl From<RefusalCountItem> for CountRow {
    fn from(c: RefusalCountItem) -> Self {
        CountRow {
            hour: when(c.hour),
            connection: c.connection,
            reason: c.reason,
            count: c.count,
            last: when(c.last_at),
            detail: c.detail,
        }
    }
}

/// The filter form's state.
#[derive(Clone, Default)]
pub struct Filters {
    pub outcome: String,
    pub reason: String,
    pub connection: String,
    pub user: String,
}

#[derive(Template)]
#[template(path = "admin/sign_ins.html")]
pub struct SignInsPage {
    pub layout: Layout,
    pub filters: Filters,
    pub reasons: Vec<&'static str>,
    /// (slug, label) of every connection, removed ones marked.
    pub connections: Vec<(String, String)>,
    pub rows: Vec<SignInRow>,
    pub first_href: Option<String>,
    pub next_href: Option<String>,
    /// None when the filters exclude counted refusals (successes, one user's sign-ins).
    pub counts: Option<Vec<CountRow>>,
    pub counts_first_href: Option<String>,
    pub counts_next_href: Option<String>,
    pub clear_user_href: String,
    pub problem: Problems,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInsQuery {
    outcome: String,
    reason: String,
    connection: String,
    user: String,
    before: String,
    highlight: String,
    counted_before: String,
}

fn optional_id(field: &'static str, raw: &str) -> Result<Option<i64>, AdminError> {
    match raw.trim() {
        "" => Ok(None),
        s => s
            .parse()
            .map(Some)
            .map_err(|_| invalid(field, "must be a number")),
    }
}

fn history_href(slug: &str, f: &Filters, before: Option<i64>) -> String {
    let before = before.map(|b| b.to_string()).unwrap_or_default();
    format!(
        "/admin/t/{slug}/sign-ins?{}",
        pages::query(&[
            ("outcome", &f.outcome),
            ("reason", &f.reason),
            ("connection", &f.connection),
            ("user", &f.user),
            ("before", &before),
        ])
    )
}

fn counts_href(slug: &str, f: &Filters, counted_before: Option<i64>) -> String {
    let before = counted_before.map(|b| b.to_string()).unwrap_or_default();
    format!(
        "/admin/t/{slug}/sign-ins?{}#counted",
        pages::query(&[
            ("outcome", &f.outcome),
            ("reason", &f.reason),
            ("connection", &f.connection),
            ("counted_before", &before),
        ])
    )
}

fn row(slug: &str, a: SignInItem, highlight: Option<i64>) -> SignInRow {
    SignInRow {
        highlighted: highlight == Some(a.id),
        id: a.id,
        at: when(a.at),
        ok: a.succeeded(),
        reason: a.reason,
        detail: a.detail,
        connection: a.connection.unwrap_or_default(),
        email: a.email.unwrap_or_default(),
        user_href: a.user_id.map(|u| format!("/admin/t/{slug}/users/{u}")),
        subject: a.subject.unwrap_or_default(),
    }
}

#[get("/admin/t/{tenant}/sign-ins")]
pub async fn list(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    query: web::Query<SignInsQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let t = admin.tenant(&state, path.into_inner()).await?;
    let slug = t.slug.to_string();
    let q = query.into_inner();
    let filters = Filters {
        outcome: q.outcome.trim().to_owned(),
        reason: q.reason.trim().to_owned(),
        connection: q.connection.trim().to_owned(),
        user: q.user.trim().to_owned(),
    };
    let highlight = q.highlight.trim().parse::<i64>().ok();
    let asked = optional_id("user", &q.user).and_then(|user| {
        Ok(SignInQuery {
            outcome: Some(filters.outcome.clone()),
            reason: Some(filters.reason.clone()),
            connection: Some(filters.connection.clone()),
            user,
            limit: PAGE_SIZE,
            before: optional_id("before", &q.before)?,
        })
    });
    // Counted refusals are failures of no one user: other filters leave them out.
    let with_counts = filters.outcome != "success" && filters.user.is_empty();
    let asked_counts =
        optional_id("counted_before", &q.counted_before).map(|before| RefusalCountQuery {
            reason: Some(filters.reason.clone()),
            connection: Some(filters.connection.clone()),
            limit: PAGE_SIZE,
            before,
        });
    let tenant = t.clone();
    let (connections, listed, counted) = db(&state, move |c| {
        let connections = admin_users::connection_choices(c, &tenant)?
            .into_iter()
            .map(|c| {
                let label = if c.removed {
                    format!("{} (removed)", c.slug)
                } else {
                    c.slug.clone()
                };
                (c.slug, label)
            })
            .collect::<Vec<_>>();
        let page = asked.and_then(|q| admin_users::sign_ins(c, &tenant, &q));
        let counted = with_counts
            .then(|| asked_counts.and_then(|q| admin_users::refusal_counts(c, &tenant, &q)));
        Ok((connections, page, counted))
    })
    .await?;
    // Both lists share the filters; the first problem is the one shown.
    let (counted, counted_err) = match counted {
        Some(Ok(p)) => (Some(p), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let listed = match (listed, counted_err) {
        (Ok(_), Some(e)) => Err(e),
        (l, _) => l,
    };
    let (page, problem) = match listed {
        Ok(p) => (Some(p), Problems::none()),
        // An unknown connection in the filter is the filter's problem, not a missing page.
        Err(AdminError::NotFound(what)) => (
            None,
            Problems(Some(Problem::of(
                "filters",
                invalid("connection", format!("{what} does not exist")).into(),
            )?)),
        ),
        Err(e) => (None, Problems(Some(Problem::of("filters", e.into())?))),
    };
    let (items, next) = page.map_or((Vec::new(), None), |p| (p.items, p.next_before));
    let counts_next_href = counted
        .as_ref()
        .and_then(|p| p.next_before)
        .map(|n| counts_href(&slug, &filters, Some(n)));
    let p = SignInsPage {
        layout: Layout::new(&admin, Some(&t), "sign-ins"),
        first_href: (!q.before.trim().is_empty()).then(|| history_href(&slug, &filters, None)),
        next_href: next.map(|n| history_href(&slug, &filters, Some(n))),
        clear_user_href: history_href(
            &slug,
            &Filters {
                user: String::new(),
                ..filters.clone()
            },
            None,
        ),
        rows: items
            .into_iter()
            .map(|a| row(&slug, a, highlight))
            .collect(),
        counts_first_href: (!q.counted_before.trim().is_empty())
            .then(|| counts_href(&slug, &filters, None)),
        counts_next_href,
        counts: counted.map(|p| p.items.into_iter().map(CountRow::from).collect()),
        reasons: admin_users::reason_codes(),
        connections,
        filters,
        problem,
    };
    pages::render_status(&p, p.problem.status())
}
