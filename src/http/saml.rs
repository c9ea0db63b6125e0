//! SAML endpoints: SP metadata and the Assertion Consumer Service (HTTP-POST binding).
use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::session::{binding_cookies, finish_response};
use super::{AppState, HttpError};
use crate::domain::reason::Reason;
use crate::metrics::SignInOutcome;
use crate::protocol::saml::sp_metadata;
use crate::service::discovery::{self, SamlTarget};
use crate::service::sign_in::saml::{self, CompleteParams};
use crate::service::sign_in::{self, Completed};
use crate::storage::{self, StorageError};

const UNKNOWN: &str = "There is no such sign-in endpoint.";

async fn find_target(
    state: &web::Data<AppState>,
    tenant: String,
    connection: String,
) -> Result<Option<SamlTarget>, HttpError> {
    Ok(storage::block(&state.pool, move |db| {
        discovery::saml_target(db, &tenant, &connection)
    })
    .await?)
}

async fn target(
    state: &web::Data<AppState>,
    tenant: String,
    connection: String,
) -> Result<SamlTarget, HttpError> {
    find_target(state, tenant, connection)
        .await?
        .ok_or(HttpError::NotFound(UNKNOWN))
}

#[get("/t/{tenant}/saml/{connection}/metadata")]
pub async fn metadata(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
    let (t, c) = path.into_inner();
    let SamlTarget {
        tenant,
        connection,
        idp,
    } = target(&state, t, c).await?;
    if connection.removed_at.is_some() {
        return Err(HttpError::NotFound(UNKNOWN));
    }
    // The SP certificate is advertised only where requests are signed with it.
    let cert = idp
        .sign_requests
        .then(|| {
            state
                .sp_signing
                .as_ref()
                .map(|s| s.certificate_b64.as_str())
        })
        .flatten();
    let sp = state.sp_endpoints(tenant.slug.as_str(), connection.slug.as_str());
    let xml = sp_metadata::render(&sp, cert)?;
    Ok(HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .body(xml))
}

#[post("/t/{tenant}/saml/{connection}/acs")]
pub async fn acs(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let (t, c) = path.into_inner();
    let found = find_target(&state, t, c).await?;
    super::rate_limit::sign_in(&req, &state, found.as_ref().map(|f| f.tenant.slug.as_str()))?;
    let SamlTarget {
        tenant,
        connection,
        idp,
    } = found.ok_or(HttpError::NotFound(UNKNOWN))?;
    let now = state.clock.unix();
    // Percent-encoding can triple base64; the decoded SAMLResponse is capped again exactly.
    let limit = state.settings.saml.max_response_bytes * 3 + 4096;
    let body = super::body::read_capped(payload, limit)
        .await
        .map_err(|e| HttpError::BadRequest(format!("could not read the request body: {e}")))?;
    let Some(body) = body else {
        let detail = format!("request body over {limit} bytes");
        let (t, c) = (tenant.clone(), connection.clone());
        storage::block(&state.pool, move |db| {
            saml::record_refusal(
                db,
                &tenant,
                &connection,
                Reason::ResponseTooLarge,
                &detail,
                now,
            )
        })
        .await?;
        state.metrics.sign_in(
            t.slug.as_str(),
            c.slug.as_str(),
            c.protocol.as_str(),
            SignInOutcome::Refused,
            Reason::ResponseTooLarge.code(),
        );
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
    let max = state.settings.saml.max_response_bytes;
    let (conn_copy, idp_copy) = (connection.clone(), idp.clone());
    let binding_cookies = binding_cookies(&req, sign_in::SAML_BINDING_PREFIX);
    let st = state.clone();
    let (tenant_after, connection_after) = (tenant.clone(), connection.clone());
    // XML and signature work runs without holding a database connection.
    let validate = move || saml::validate(&conn_copy, &idp_copy, &sp, &saml_response, max, now);
    let result = storage::block_after::<_, _, StorageError, _>(
        &state.pool,
        validate,
        move |db, validated| {
            let params = CompleteParams {
                binding_cookies: &binding_cookies,
                relay_state: relay_state.as_deref(),
                session_ttl_secs: st.settings.session.ttl_minutes * 60,
                session_secret: &st.session_secret,
                now,
            };
            Ok(saml::finish(
                db,
                &tenant,
                &connection,
                &idp,
                validated,
                &params,
            ))
        },
    )
    .await?;
    super::session::count_sign_in(&state, &tenant_after, &connection_after, &result);
    if let Ok(Completed::SignedIn(s)) = &result {
        crate::service::outbox::await_account(&state.iwms, &tenant_after, s.user_id).await;
    }
    finish_response(&state, &req, result, now)
}
