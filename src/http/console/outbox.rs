//! The tenant's IWMS outbox: events that ran out of attempts (with the last error, and a
//! Retry), and the most recent events whatever their state.
use actix_web::{HttpResponse, get, post, web};
use askama::Template;

use super::pages::{self, Layout, when, when_or_dash};
use super::{ConsoleAdmin, ConsoleError, CsrfOnly, Done, db, see_other};
use crate::http::AppState;
use crate::service::admin::outbox::{self, OutboxStatus, Retry};
use crate::storage::outbox::OutboxRow;

const SHOWN: i64 = 50;

pub struct EventRow {
    pub id: i64,
    pub event: String,
    pub status: String,
    pub user_href: String,
    pub user_id: i64,
    pub attempts: i32,
    pub last_error: String,
    pub created: String,
    pub next_or_delivered: String,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
pub struct OutboxPage {
    pub layout: Layout,
    pub feed_configured: bool,
    pub dead: Vec<EventRow>,
    pub recent: Vec<EventRow>,
}

fn event_row(slug: &str, r: OutboxRow) -> EventRow {
    EventRow {
        user_href: format!("/admin/t/{slug}/users/{}", r.user_id),
        next_or_delivered: match r.delivered_at {
            Some(d) => format!("delivered {}", when(d)),
            None if r.status == "pending" => format!("next try {}", when(r.next_attempt_at)),
            None => String::new(),
        },
        id: r.id,
        event: r.event,
        status: r.status,
        user_id: r.user_id,
        attempts: r.attempts,
        last_error: r.last_error.unwrap_or_default(),
        created: when_or_dash(Some(r.created_at)),
    }
}

#[get("/admin/t/{tenant}/outbox")]
pub async fn list(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let t = admin.tenant(&state, path.into_inner()).await?;
    let scope = t.clone();
    let (dead, recent) = db(&state, move |c| {
        Ok((
            outbox::list(c, Some(&scope), OutboxStatus::Dead, SHOWN)?,
            outbox::list(c, Some(&scope), OutboxStatus::All, SHOWN)?,
        ))
    })
    .await?;
    let slug = t.slug.to_string();
    let p = OutboxPage {
        layout: Layout::new(&admin, Some(&t), "outbox").done(&q.done),
        feed_configured: t.iwms.endpoint.is_some(),
        dead: dead.into_iter().map(|r| event_row(&slug, r)).collect(),
        recent: recent.into_iter().map(|r| event_row(&slug, r)).collect(),
    };
    pages::render(&p)
}

#[post("/admin/t/{tenant}/outbox/{id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<(String, i64)>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let (tenant, event) = path.into_inner();
    let t = admin.tenant(&state, tenant).await?;
    let (scope, now, actor) = (t.clone(), state.clock.unix(), admin.principal.audit.clone());
    db(&state, move |c| {
        outbox::retry(c, Some(&scope), Retry::One(event), &actor, now)
    })
    .await?;
    Ok(see_other(&format!(
        "/admin/t/{}/outbox?done=retried",
        t.slug
    )))
}
