//! SAML endpoints: SP metadata and the Assertion Consumer Service (HTTP-POST binding).
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use futures_util::StreamExt;

use super::session::session_cookie;
use super::{AppState, HttpError};
use crate::domain::connection::Connection;
use crate::domain::reason::Reason;
use crate::domain::slug::Slug;
use crate::domain::tenant::Tenant;
use crate::protocol::saml::sp_metadata;
use crate::service::login::{self, CompleteError, CompleteParams};
use crate::storage::login_attempts::NewAttempt;
use crate::storage::{
    self, StorageError, connections, connections as conns, login_attempts, tenants,
};

const UNKNOWN: &str = "There is no such sign-in endpoint.";

async fn load(
    state: &web::Data<AppState>,
    tenant: String,
    connection: String,
) -> Result<(Tenant, Connection), HttpError> {
    let t = Slug::parse(&tenant).map_err(|_| HttpError::NotFound(UNKNOWN))?;
    let c = Slug::parse(&connection).map_err(|_| HttpError::NotFound(UNKNOWN))?;
    storage::block::<_, StorageError, _>(&state.pool, move |db| {
        let Some(tenant) = tenants::find_by_slug(db, &t)? else {
            return Ok(None);
        };
        Ok(conns::find(db, tenant.id, &c)?.map(|c| (tenant, c)))
    })
    .await?
    .ok_or(HttpError::NotFound(UNKNOWN))
}

#[get("/t/{tenant}/saml/{connection}/metadata")]
pub async fn metadata(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (t, c) = path.into_inner();
    let (tenant, connection) = load(&state, t, c).await?;
    if connection.removed_at.is_some() {
        return Err(HttpError::NotFound(UNKNOWN));
    }
    let (tid, cid) = (tenant.id, connection.id);
    let idp = storage::block(&state.pool, move |db| {
        connections::saml_settings(db, tid, cid)
    })
    .await?;
    let cert = if idp.sign_requests {
        state
            .sp_signing
            .as_ref()
            .map(|s| s.certificate_b64.as_str())
    } else {
        None
    };
    let sp = state.sp_endpoints(tenant.slug.as_str(), connection.slug.as_str());
    let xml = sp_metadata::render(&sp, cert)?;
    Ok(HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .body(xml))
}

/// Reads the form body up to `limit` bytes without ever buffering more.
async fn read_capped(
    mut payload: web::Payload,
    limit: usize,
) -> Result<Option<Vec<u8>>, HttpError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| HttpError::BadRequest(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

#[post("/t/{tenant}/saml/{connection}/acs")]
pub async fn acs(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let (t, c) = path.into_inner();
    let (tenant, connection) = load(&state, t, c).await?;
    let now = state.clock.unix();
    // Percent-encoding can triple base64; the decoded SAMLResponse is capped again exactly.
    let limit = state.settings.saml.max_response_bytes * 3 + 4096;
    let Some(body) = read_capped(payload, limit).await? else {
        let (tid, cid) = (tenant.id, connection.id);
        storage::block(&state.pool, move |db| {
            login_attempts::record(
                db,
                &NewAttempt {
                    tenant: tid,
                    connection: Some(cid),
                    user: None,
                    success: false,
                    reason: Reason::ResponseTooLarge.code(),
                    detail: &format!("request body over {limit} bytes"),
                    subject: None,
                    email: None,
                },
                now,
            )
        })
        .await?;
        return Err(HttpError::PayloadTooLarge);
    };
    let mut saml_response = None;
    let mut relay_state = None;
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "SAMLResponse" => saml_response = Some(v.into_owned()),
            "RelayState" => relay_state = Some(v.into_owned()),
            _ => {}
        }
    }
    let saml_response = saml_response
        .ok_or_else(|| HttpError::BadRequest("The request carries no SAMLResponse.".into()))?;

    let sp = state.sp_endpoints(tenant.slug.as_str(), connection.slug.as_str());
    let (tid, cid) = (tenant.id, connection.id);
    let idp = storage::block(&state.pool, move |db| {
        connections::saml_settings(db, tid, cid)
    })
    .await?;
    let max = state.settings.saml.max_response_bytes;
    let conn_copy = connection.clone();
    // XML and signature work runs without holding a database connection.
    let validated =
        web::block(move || login::validate_saml(&conn_copy, &idp, &sp, &saml_response, max, now))
            .await
            .map_err(HttpError::internal)?;
    let binding_cookies: Vec<(String, String)> = req
        .cookies()
        .map(|all| {
            all.iter()
                .filter(|c| c.name().starts_with("ssogate_authn_"))
                .map(|c| (c.name().to_owned(), c.value().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let st = state.clone();
    let result = storage::block::<_, StorageError, _>(&state.pool, move |db| {
        let params = CompleteParams {
            binding_cookies: &binding_cookies,
            relay_state: relay_state.as_deref(),
            session_ttl_secs: st.settings.session.ttl_minutes * 60,
            session_secret: &st.session_secret,
            now,
        };
        Ok(login::finish_saml(
            db,
            &tenant,
            &connection,
            validated,
            &params,
        ))
    })
    .await?;
    match result {
        Ok(signed_in) => {
            let location = signed_in
                .redirect_to
                .unwrap_or_else(|| "/signed-in".to_owned());
            let cookie = session_cookie(
                &state,
                signed_in.session_token,
                signed_in.session_expires_at - now,
            );
            Ok(HttpResponse::SeeOther()
                .insert_header(("Location", location))
                .cookie(cookie)
                .finish())
        }
        Err(CompleteError::Refused(f)) => Err(HttpError::SignInRefused {
            reason: f.reason,
            idp_message: f.idp_message,
        }),
        Err(CompleteError::Storage(e)) => Err(e.into()),
    }
}
