//! The OpenID Connect redirect URI: `GET /t/{tenant}/oidc/{connection}/callback`.
use actix_web::{HttpRequest, HttpResponse, get, web};

use super::session::session_cookie;
use super::{AppState, HttpError};
use crate::service::discovery;
use crate::service::oidc_login::{self, Callback, FinishError, FinishParams};
use crate::storage;

const UNKNOWN: &str = "There is no such sign-in endpoint.";

#[get("/t/{tenant}/oidc/{connection}/callback")]
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (t, c) = path.into_inner();
    let (tenant, connection) =
        storage::block(&state.pool, move |db| discovery::oidc_target(db, &t, &c))
            .await?
            .ok_or(HttpError::NotFound(UNKNOWN))?;
    // An unparseable query is treated like an empty one: it then fails on the missing state.
    let cb = web::Query::<Callback>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let binding_cookies: Vec<(String, String)> = req
        .cookies()
        .map(|all| {
            all.iter()
                .filter(|c| c.name().starts_with("ssogate_oidc_"))
                .map(|c| (c.name().to_owned(), c.value().to_owned()))
                .collect()
        })
        .unwrap_or_default();
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
    match oidc_login::finish_oidc(
        &state.pool,
        &state.oidc_http,
        &tenant,
        &connection,
        cb,
        &params,
    )
    .await
    {
        Ok(signed_in) => {
            let location = signed_in
                .redirect_to
                .unwrap_or_else(|| "/signed-in".to_owned());
            let cookie = session_cookie(
                &state,
                signed_in.session_token,
                signed_in.session_expires_at - now,
            );
            let mut res = HttpResponse::SeeOther();
            res.insert_header(("Location", location)).cookie(cookie);
            for spent in super::session::spent_binding_cookies(&req, "ssogate_oidc_") {
                res.cookie(spent);
            }
            Ok(res.finish())
        }
        Err(FinishError::Refused(f)) => Err(HttpError::SignInRefused {
            reason: f.reason,
            idp_message: f.idp_message,
        }),
        Err(FinishError::Storage(e)) => Err(e.into()),
    }
}
