//! The session cookie, and the endpoints that read it: /me, /signed-in, /logout.
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::pages::{MessagePage, SignedInPage, page, test_report};
use super::{AppState, HttpError};
use crate::domain::connection::Connection;
use crate::domain::reason::Reason;
use crate::domain::return_to::ADMIN_CONSOLE_RETURN;
use crate::domain::tenant::Tenant;
use crate::metrics::SignInOutcome;
use crate::service::session;
use crate::service::sign_in::{CompleteError, Completed, Started};
use crate::service::verify_cache::Verified;
use crate::storage::roles::Manager;
use crate::storage::{self, sessions::SessionUser};

pub fn session_cookie<'a>(state: &AppState, token: String, max_age_secs: i64) -> Cookie<'a> {
    let mut c = Cookie::build(state.settings.session.cookie_name.clone(), token)
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(max_age_secs.max(0)))
        .finish();
    if let Some(d) = &state.settings.session.cookie_domain {
        c.set_domain(d.clone());
    }
    c
}

/// Ties a pending AuthnRequest to this browser (login CSRF). It is only sent to the ACS. The
/// IdP's POST back is cross-site, so over https the cookie is SameSite=None (with Secure);
/// over plain http browsers refuse that, and Lax still covers same-site IdPs.
pub fn binding_cookie<'a>(
    state: &AppState,
    started: &Started,
    return_path: String,
    cross_site_post: bool,
) -> Cookie<'a> {
    // SAML's POST back is cross-site: over https it needs SameSite=None. OIDC comes back with a
    // top-level GET, which Lax cookies survive.
    let same_site = if cross_site_post && state.secure_cookies {
        SameSite::None
    } else {
        SameSite::Lax
    };
    Cookie::build(
        started.binding_cookie_name.clone(),
        started.binding_token.clone(),
    )
    .path(return_path)
    .http_only(true)
    .secure(state.secure_cookies)
    .same_site(same_site)
    .max_age(CookieDuration::seconds(if cross_site_post {
        state.settings.saml.request_ttl_secs
    } else {
        state.settings.oidc.request_ttl_secs
    }))
    .finish()
}

/// The browser-binding cookies (`prefix` + id) a callback carried, as (name, value).
pub fn binding_cookies(req: &HttpRequest, prefix: &str) -> Vec<(String, String)> {
    req.cookies()
        .map(|all| {
            all.iter()
                .filter(|c| c.name().starts_with(prefix))
                .map(|c| (c.name().to_owned(), c.value().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The answer to a finished SAML or OIDC sign-in: the session cookie and a redirect to the
/// validated return_to (or the neutral page), spent binding cookies expired; or the refusal.
/// Counts a finished sign-in in `ssogate_sign_ins_total`, as the sign-in history records it:
/// a sign-in or a refusal with its reason (a console test sign-in is none; a storage error
/// recorded nothing). Tenant and connection are the resolved ones, never the URL's words.
pub fn count_sign_in(
    state: &AppState,
    tenant: &Tenant,
    connection: &Connection,
    result: &Result<Completed, CompleteError>,
) {
    let (outcome, reason) = match result {
        Ok(Completed::SignedIn(_)) => (SignInOutcome::Success, Reason::Success),
        Err(CompleteError::Refused(f)) => (SignInOutcome::Refused, f.reason),
        Ok(Completed::Tested(_)) | Err(CompleteError::Storage(_)) => return,
    };
    state.metrics.sign_in(
        tenant.slug.as_str(),
        connection.slug.as_str(),
        connection.protocol.as_str(),
        outcome,
        reason.code(),
    );
}

pub fn finish_response(
    state: &AppState,
    req: &HttpRequest,
    result: Result<Completed, CompleteError>,
    now: i64,
) -> Result<HttpResponse, HttpError> {
    match result {
        Ok(Completed::Tested(report)) => {
            let spent = report.binding_cookie.clone();
            let mut res = test_report(req, *report);
            if let Some(name) = spent
                && let Err(e) = res.add_cookie(&spent_binding_cookie(req, name))
            {
                tracing::warn!(error = %e, "could not expire a binding cookie");
            }
            Ok(res)
        }
        Ok(Completed::SignedIn(done)) => {
            let location = done.redirect_to.unwrap_or_else(|| "/signed-in".to_owned());
            let cookie = session_cookie(state, done.session_token, done.session_expires_at - now);
            let mut res = HttpResponse::SeeOther();
            res.insert_header(("Location", location)).cookie(cookie);
            if let Some(name) = done.binding_cookie {
                res.cookie(spent_binding_cookie(req, name));
            }
            if let Some(ticket) = done.console_ticket {
                res.cookie(ticket_cookie(state, ticket, TICKET_TTL_SECS));
            }
            Ok(res.finish())
        }
        Err(CompleteError::Refused(f)) => Err(HttpError::SignInRefused {
            reason: f.reason,
            idp_message: f.idp_message,
        }),
        Err(CompleteError::Storage(e)) => Err(e.into()),
    }
}

/// Set by the ACS or callback that finishes a console sign-in, for the browser that finished
/// it: /admin/sso needs it with the hand-off cookie of the browser that started it.
pub const TICKET_COOKIE: &str = "ssogate_admin_ticket";
/// The ticket only has to last the redirect from the ACS or callback to /admin/sso.
pub const TICKET_TTL_SECS: i64 = 300;

/// Host-only (no Domain, whatever `cookie_domain` says), like every console cookie.
pub fn ticket_cookie<'a>(state: &AppState, value: String, max_age_secs: i64) -> Cookie<'a> {
    Cookie::build(TICKET_COOKIE, value)
        .path(ADMIN_CONSOLE_RETURN)
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(max_age_secs.max(0)))
        .finish()
}

/// Expires the binding cookie of the request a finished sign-in used up.
fn spent_binding_cookie<'a>(req: &HttpRequest, name: String) -> Cookie<'a> {
    let mut gone = Cookie::build(name, "")
        .path(req.path().to_owned())
        .http_only(true)
        .finish();
    gone.make_removal();
    gone
}

fn expired_cookie<'a>(state: &AppState) -> Cookie<'a> {
    session_cookie(state, String::new(), 0)
}

/// The session token the request carries, if any.
fn session_token(state: &AppState, req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(&state.settings.session.cookie_name)?;
    Some(cookie.value().to_owned()).filter(|t| !t.is_empty())
}

/// The signed-in user, if the request carries a live session.
pub async fn current_user(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Option<SessionUser>, HttpError> {
    let Some(token) = session_token(state, req) else {
        return Ok(None);
    };
    let st = state.clone();
    let now = state.clock.unix();
    Ok(storage::block(&state.pool, move |c| {
        session::current(c, &st.session_secret, &token, now)
    })
    .await?)
}

/// [`current_user`] with the user's manager resolved when `want_manager` says so.
pub async fn current_user_with_manager(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    want_manager: fn(&SessionUser) -> bool,
) -> Result<Option<(SessionUser, Option<Manager>)>, HttpError> {
    let Some(token) = session_token(state, req) else {
        return Ok(None);
    };
    let st = state.clone();
    let now = state.clock.unix();
    Ok(storage::block(&state.pool, move |c| {
        session::current_with_manager(c, &st.session_secret, &token, now, want_manager)
    })
    .await?)
}

/// [`current_user_with_manager`] for `/auth/verify`: from the verify cache while it holds a
/// fresh answer for this session (`session.verify_cache_ms`), else from the database.
pub async fn verified_user(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    want_manager: fn(&SessionUser) -> bool,
) -> Result<Option<Verified>, HttpError> {
    let Some(key) = session_token(state, req)
        .and_then(|token| session::token_key(&state.session_secret, &token))
    else {
        return Ok(None);
    };
    let now = state.clock.now();
    if let Some(hit) = state.verify_cache.get(&key, now) {
        return Ok(Some(hit));
    }
    let cache = &state.verify_cache;
    let key = key.as_str();
    let lookup = |epoch: u64| async move {
        let k = key.to_owned();
        let found = storage::block(&state.pool, move |c| {
            session::by_key_with_manager(c, &k, now.unix_timestamp(), want_manager)
        })
        .await?;
        Ok(found.map(|v| {
            let v = std::sync::Arc::new(v);
            cache.put(key.to_owned(), epoch, now, v.clone());
            v
        }))
    };
    if !cache.enabled() {
        return lookup(cache.epoch()).await;
    }
    let joined = cache.join(key);
    let epoch = joined.flight.epoch();
    joined.flight.answer(|| lookup(epoch)).await
}

#[derive(serde::Serialize)]
struct Me<'a> {
    user_id: i64,
    tenant: &'a str,
    tenant_name: &'a str,
    email: &'a str,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    iwms_id: Option<&'a str>,
    session_expires_at: i64,
    groups: &'a [String],
    roles: &'a [String],
    department: Option<&'a str>,
    title: Option<&'a str>,
    employee_number: Option<&'a str>,
    manager: Option<&'a Manager>,
}

#[get("/me")]
pub async fn me(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, HttpError> {
    let (u, manager) = current_user_with_manager(&state, &req, |_| true)
        .await?
        .ok_or(HttpError::Unauthorized)?;
    Ok(HttpResponse::Ok().json(Me {
        user_id: u.user_id,
        tenant: &u.tenant,
        tenant_name: &u.tenant_name,
        email: &u.email,
        first_name: u.first_name.as_deref(),
        last_name: u.last_name.as_deref(),
        iwms_id: u.iwms_id.as_deref(),
        session_expires_at: u.expires_at,
        groups: &u.groups,
        roles: &u.roles,
        department: u.department.as_deref(),
        title: u.title.as_deref(),
        employee_number: u.employee_number.as_deref(),
        manager: manager.as_ref(),
    }))
}

/// The neutral landing page when no allowed return_to was given.
#[get("/signed-in")]
pub async fn signed_in(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    match current_user(&state, &req).await? {
        Some(u) => {
            let name = match (&u.first_name, &u.last_name) {
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                (Some(n), None) | (None, Some(n)) => Some(n.clone()),
                _ => None,
            };
            let signed_in = SignedInPage {
                email: u.email,
                name,
                tenant: u.tenant_name,
            };
            Ok(page(&req, signed_in, StatusCode::OK))
        }
        None => Ok(HttpResponse::SeeOther()
            .insert_header(("Location", "/"))
            .finish()),
    }
}

#[post("/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    // Another site's form must not sign people out (apps on sibling subdomains are
    // "same-site" and may). Browsers too old to send the header are let through.
    if req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    {
        return Ok(page(
            &req,
            MessagePage::new(
                "Not signed out",
                "Signing out was requested by another site. Use the sign-out button of the application you use.",
            ),
            StatusCode::FORBIDDEN,
        ));
    }
    if let Some(cookie) = req.cookie(&state.settings.session.cookie_name) {
        let token = cookie.value().to_owned();
        let st = state.clone();
        storage::block(&state.pool, move |c| {
            session::close(c, &st.session_secret, &token)
        })
        .await?;
    }
    let mut res = page(
        &req,
        MessagePage::new("Signed out", "You are signed out."),
        StatusCode::OK,
    );
    res.add_cookie(&expired_cookie(&state))
        .map_err(HttpError::internal)?;
    Ok(res)
}
