//! The OpenID Connect redirect URI: `GET /t/{tenant}/oidc/{connection}/callback`.
use actix_web::{HttpRequest, HttpResponse, get, web};

use super::session::{binding_cookies, finish_response};
use super::{AppState, HttpError};
use crate::service::discovery;
use crate::service::sign_in::oidc::{self, Callback, FinishParams};
use crate::service::sign_in::{self, Completed};
use crate::storage;

const UNKNOWN: &str = "There is no such sign-in endpoint.";

#[get("/t/{tenant}/oidc/{connection}/callback")]
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (t, c) = path.into_inner();
    let found = storage::block(&state.pool, move |db| discovery::oidc_target(db, &t, &c)).await?;
    super::rate_limit::sign_in(&req, &state, found.as_ref().map(|(t, _)| t.slug.as_str()))?;
    let (tenant, connection) = found.ok_or(HttpError::NotFound(UNKNOWN))?;
    // An unparseable query is treated like an empty one: it then fails on the missing state.
    let cb = web::Query::<Callback>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let binding_cookies = binding_cookies(&req, sign_in::OIDC_BINDING_PREFIX);
    let now = state.clock.unix();
    let redirect_uri = state.oidc_redirect_uri(tenant.slug.as_str(), connection.slug.as_str());
    let params = FinishParams {
        redirect_uri: &redirect_uri,
        binding_cookies: &binding_cookies,
        session_ttl_secs: state.settings.session.ttl_minutes * 60,
        session_secret: &state.session_secret,
        jwks_refetch_interval_secs: state.settings.oidc.jwks_refetch_interval_secs,
        jwks_max_age_secs: state.settings.oidc.jwks_max_age_secs,
        now,
    };
    let result = oidc::finish(
        &state.pool,
        &state.oidc_http,
        &tenant,
        &connection,
        cb,
        &params,
    )
    .await;
    super::session::count_sign_in(&state, &tenant, &connection, &result);
    if let Ok(Completed::SignedIn(s)) = &result {
        crate::service::outbox::await_account(&state.iwms, &tenant, s.user_id).await;
    }
    finish_response(&state, &req, result, now)
}
