//! `Authorization: Bearer ssg_admin_...`: the admin principal behind an API request.
//!
//! A middleware on the /api/v1 scope authenticates every request before any handler reads
//! its path, query or body, so a request without a live token is always a 401 (never a 400
//! about a body it may not send).
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, dev::Payload, web};

use super::ApiError;
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin::access::{self, Principal};
use crate::storage;

pub struct ApiAdmin(pub Principal);

fn bearer(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn principal(req: &ServiceRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or(ApiError::Unauthorized)?;
    let token = bearer(req).ok_or(ApiError::Unauthorized)?;
    let now = state.clock.unix();
    storage::block::<_, ApiError, _>(&state.pool, move |c| {
        Ok(access::authenticate_token(c, &token, now)?)
    })
    .await?
    .ok_or(ApiError::Unauthorized)
}

/// Puts the request's principal in its extensions, or answers 401 (or 500 when the
/// database fails).
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let outcome = match principal(&req).await {
        Ok(p) => limit(&req, Some(p)),
        Err(ApiError::Unauthorized) => limit(&req, None),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(p) => {
            req.extensions_mut().insert(p);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

/// Rate limits: per token once it is accepted, per client address while it is refused.
fn limit(req: &ServiceRequest, accepted: Option<Principal>) -> Result<Principal, ApiError> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(ApiError::Unauthorized);
    };
    match (accepted, bearer(req)) {
        (Some(p), Some(token)) => {
            state.limits.api_token(&token)?;
            Ok(p)
        }
        _ => {
            state
                .limits
                .refused_token(crate::http::client_addr(req.request()))?;
            Err(ApiError::Unauthorized)
        }
    }
}

impl FromRequest for ApiAdmin {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<Principal>()
                .cloned()
                .map(ApiAdmin)
                .ok_or(ApiError::Unauthorized),
        )
    }
}

impl ApiAdmin {
    /// The tenant in the path, if this principal administers it (404 otherwise).
    pub async fn tenant(&self, state: &AppState, slug: String) -> Result<Tenant, ApiError> {
        let who = self.0.clone();
        storage::block::<_, ApiError, _>(&state.pool, move |c| {
            Ok(access::authorized_tenant(c, &who, &slug)?)
        })
        .await
    }

    pub fn require_super(&self) -> Result<(), ApiError> {
        if self.0.is_super() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("only a super-admin may do this"))
        }
    }
}
