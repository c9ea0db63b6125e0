//! The console's session cookie, the signed-in admin extractor and CSRF checks.
use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::ConsoleError;
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin::access::{self, Principal};
use crate::storage;

pub const COOKIE: &str = "ssogate_admin";

/// HttpOnly, Secure behind https, SameSite=Lax (the SSO hand-off arrives by a cross-site
/// redirect chain; every change is a POST with a CSRF token anyway), only sent to /admin.
pub fn cookie<'a>(state: &AppState, token: String, max_age_secs: i64) -> Cookie<'a> {
    Cookie::build(COOKIE, token)
        .path("/admin")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(max_age_secs.max(0)))
        .finish()
}

/// A signed-in admin. Handlers that change something call [`ConsoleAdmin::check_csrf`].
pub struct ConsoleAdmin {
    pub principal: Principal,
    pub csrf_token: String,
}

impl FromRequest for ConsoleAdmin {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(COOKIE).map(|c| c.value().to_owned());
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(ConsoleError::SignIn);
            };
            let now = state.clock.unix();
            let found = storage::block::<_, ConsoleError, _>(&state.pool, move |c| {
                Ok(access::console_session(c, &token, now)?)
            })
            .await?;
            let s = found.ok_or(ConsoleError::SignIn)?;
            Ok(ConsoleAdmin {
                principal: s.principal,
                csrf_token: s.csrf_token,
            })
        })
    }
}

impl ConsoleAdmin {
    /// The form's `csrf` field must equal this session's token (compared in constant time).
    pub fn check_csrf(&self, presented: &str) -> Result<(), ConsoleError> {
        let (a, b) = (presented.as_bytes(), self.csrf_token.as_bytes());
        let same =
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }

    /// The tenant in the path, if this admin administers it (404 otherwise).
    pub async fn tenant(&self, state: &AppState, slug: String) -> Result<Tenant, ConsoleError> {
        let who = self.principal.clone();
        storage::block::<_, ConsoleError, _>(&state.pool, move |c| {
            Ok(access::authorized_tenant(c, &who, &slug)?)
        })
        .await
    }
}
