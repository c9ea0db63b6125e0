//! /api/v1/tenants/{tenant}/outbox: the IWMS events of the tenant's users, delivered at least
//! once in order per user; events that ran out of attempts are `dead` until retried.
use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiAdmin, ApiError, ApiQuery, ErrorBody};
use crate::http::AppState;
use crate::service::admin::outbox::{self, OutboxStatus, Retry};
use crate::storage::{self, outbox::OutboxRow};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxParams {
    /// Default all.
    #[param(inline)]
    pub status: Option<OutboxStatus>,
    /// How many of the newest events, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxEvent {
    pub id: i64,
    pub user_id: i64,
    /// user.created, user.updated, user.deactivated, user.reactivated, user.flagged_stale or
    /// user.unflagged.
    pub event: String,
    /// pending, delivered or dead.
    pub status: String,
    pub attempts: i32,
    /// When a pending event is tried next.
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

impl From<OutboxRow> for OutboxEvent {
    fn from(r: OutboxRow) -> Self {
        OutboxEvent {
            id: r.id,
            user_id: r.user_id,
            event: r.event,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
        }
    }
}

/// The tenant's newest IWMS events, newest first.
#[utoipa::path(operation_id = "list_outbox_events", tag = "outbox", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"), OutboxParams),
    responses((status = 200, body = Vec<OutboxEvent>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/tenants/{tenant}/outbox")]
pub async fn list(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: ApiQuery<OutboxParams>,
) -> Result<web::Json<Vec<OutboxEvent>>, ApiError> {
    let t = who.tenant(&state, path.into_inner()).await?;
    let p = query.into_inner();
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let status = p.status.unwrap_or(OutboxStatus::All);
    let rows = storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(outbox::list(c, Some(&t), status, limit)?)
    })
    .await?;
    Ok(web::Json(rows.into_iter().map(OutboxEvent::from).collect()))
}

/// Queues a dead event again, due now, with its attempts reset.
#[utoipa::path(operation_id = "retry_outbox_event", tag = "outbox", security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "Tenant slug"),
        ("id" = i64, Path, description = "Event id")),
    responses((status = 204, description = "Queued again"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No dead event with this id in the tenant (only dead events are retried)")))]
#[post("/tenants/{tenant}/outbox/{id}/retry")]
pub async fn retry(
    who: ApiAdmin,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let t = who.tenant(&state, tenant).await?;
    let now = state.clock.unix();
    let actor = who.0.audit.clone();
    storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(outbox::retry(c, Some(&t), Retry::One(id), &actor, now)?)
    })
    .await?;
    // A worker picks it up on its next round.
    Ok(HttpResponse::NoContent().finish())
}
