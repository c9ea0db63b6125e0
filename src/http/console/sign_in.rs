//! Signing in to the console: through the tenant's own SSO (coming back to /admin/sso), or
//! once with a bootstrap link as super-admin. There is no password form.
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{ConsoleAdmin, ConsoleError, auth};
use crate::domain::email::EmailAddress;
use crate::domain::return_to::ADMIN_CONSOLE_RETURN;
use crate::http::pages::{MessagePage, page};
use crate::http::rate_limit;
use crate::http::session::current_user;
use crate::http::{AppState, HttpError};
use crate::service::admin::access::{self, HandoffRefused};
use crate::service::discovery;
use crate::storage;

#[derive(Template, WebTemplate)]
#[template(path = "admin/login.html")]
pub struct LoginPage {
    pub error: Option<String>,
    pub email: String,
    pub csrf: String,
}

/// The sign-in form's CSRF token, double-submitted: in this cookie (only ever sent back to
/// the form's own URL, never by another site's POST) and in a hidden field.
const LOGIN_CSRF_COOKIE: &str = "ssogate_admin_login";

/// The form with a fresh token in the field and the cookie.
fn login_form(
    req: &HttpRequest,
    state: &AppState,
    error: Option<String>,
    email: String,
    status: StatusCode,
) -> HttpResponse {
    let csrf = crate::random::token();
    let cookie = Cookie::build(LOGIN_CSRF_COOKIE, csrf.clone())
        .path("/admin/login")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::hours(1))
        .finish();
    let mut res = page(req, LoginPage { error, email, csrf }, status);
    if let Err(e) = res.add_cookie(&cookie) {
        tracing::warn!(error = %e, "could not set the sign-in form's cookie");
    }
    res
}

#[get("/admin/login")]
pub async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    rate_limit::sign_in(&req, &state, None)?;
    Ok(login_form(
        &req,
        &state,
        None,
        String::new(),
        StatusCode::OK,
    ))
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    #[serde(default)]
    csrf: String,
}

fn same_token(cookie: Option<&str>, field: &str) -> bool {
    cookie.is_some_and(|c| {
        !c.is_empty()
            && c.len() == field.len()
            && openssl::memcmp::eq(c.as_bytes(), field.as_bytes())
    })
}

/// Finds the tenant by the email's domain and starts its SSO, coming back to /admin/sso.
#[post("/admin/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, HttpError> {
    let LoginForm { email, csrf } = form.into_inner();
    let again = |msg: String, status: StatusCode| {
        let email = email.chars().take(254).collect();
        Ok(login_form(&req, &state, Some(msg), email, status))
    };
    let cookie = req.cookie(LOGIN_CSRF_COOKIE);
    if !same_token(cookie.as_ref().map(|c| c.value()), &csrf) {
        rate_limit::sign_in(&req, &state, None)?;
        // Another site's form, or a page older than the cookie: nothing starts.
        return again(
            "This form has expired or came from another site. Enter your email again.".into(),
            StatusCode::FORBIDDEN,
        );
    }
    let Ok(address) = EmailAddress::parse(&email) else {
        rate_limit::sign_in(&req, &state, None)?;
        return again(
            "Enter your work email address, like name@company.com.".into(),
            StatusCode::BAD_REQUEST,
        );
    };
    let lookup = address.clone();
    let tenant = storage::block(&state.pool, move |c| {
        discovery::tenant_for_email(c, &lookup)
    })
    .await?;
    rate_limit::sign_in(&req, &state, tenant.as_ref().map(|t| t.slug.as_str()))?;
    let Some(tenant) = tenant else {
        return again(
            format!("Single sign-on is not set up for {}.", address.domain()),
            StatusCode::BAD_REQUEST,
        );
    };
    crate::http::login::begin(
        &req,
        state,
        tenant,
        None,
        Some(ADMIN_CONSOLE_RETURN.to_owned()),
    )
    .await
}

/// Where the console's SSO sign-in lands: turns the fresh SSO session into a console
/// session when the user is an admin of their tenant.
#[get("/admin/sso")]
pub async fn sso_handoff(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let user = current_user(&state, &req).await?;
    rate_limit::sign_in(&req, &state, user.as_ref().map(|u| u.tenant.as_str()))?;
    let Some(user) = user else {
        return Ok(see_other("/admin/login"));
    };
    let now = state.clock.unix();
    let ttl = state.settings.admin.session_ttl_secs;
    let result = storage::block::<_, HttpError, _>(&state.pool, move |c| {
        access::handoff_from_sso(c, &user, now, ttl).map_err(HttpError::internal)
    })
    .await?;
    match result {
        Ok((opened, slug)) => Ok(HttpResponse::SeeOther()
            .insert_header(("Location", format!("/admin/t/{slug}")))
            .cookie(auth::cookie(
                &state,
                opened.cookie_token,
                opened.expires_at - now,
            ))
            .finish()),
        Err(refused @ HandoffRefused::NotAdmin { .. }) => Ok(page(
            &req,
            MessagePage::new(
                "Not an administrator",
                format!("{refused}. Ask an administrator to grant you access."),
            ),
            StatusCode::FORBIDDEN,
        )),
    }
}

#[derive(Deserialize)]
pub struct BootstrapQuery {
    token: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/bootstrap.html")]
pub struct BootstrapPage {
    pub token: String,
}

/// Shows a button rather than signing in on GET: link previews and prefetchers must not
/// spend the single-use link.
#[get("/admin/bootstrap")]
pub async fn bootstrap_page(q: web::Query<BootstrapQuery>) -> Result<BootstrapPage, HttpError> {
    let token = q.into_inner().token.unwrap_or_default();
    if token.is_empty() || token.len() > 128 {
        return Err(HttpError::BadRequest(
            "This sign-in link is incomplete.".into(),
        ));
    }
    Ok(BootstrapPage { token })
}

#[derive(Deserialize)]
pub struct BootstrapForm {
    token: String,
}

#[post("/admin/bootstrap")]
pub async fn bootstrap(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<BootstrapForm>,
) -> Result<HttpResponse, HttpError> {
    let token = form.into_inner().token;
    let now = state.clock.unix();
    let ttl = state.settings.admin.session_ttl_secs;
    let opened = storage::block(&state.pool, move |c| {
        access::redeem_bootstrap_link(c, &token, now, ttl)
    })
    .await?;
    match opened {
        Some(o) => {
            tracing::warn!("super-admin console session opened with a bootstrap link");
            Ok(HttpResponse::SeeOther()
                .insert_header(("Location", "/admin"))
                .cookie(auth::cookie(&state, o.cookie_token, o.expires_at - now))
                .finish())
        }
        None => Ok(page(
            &req,
            MessagePage::new(
                "Link not valid",
                "This sign-in link is unknown, already used or expired. Run `ssogate admin bootstrap-link` for a new one.",
            ),
            StatusCode::BAD_REQUEST,
        )),
    }
}

#[post("/admin/logout")]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    form: web::Form<super::CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    if let Some(c) = req.cookie(auth::COOKIE) {
        let token = c.value().to_owned();
        storage::block::<_, ConsoleError, _>(&state.pool, move |c| {
            Ok(access::end_console_session(c, &token)?)
        })
        .await?;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/admin/login"))
        .cookie(auth::cookie(&state, String::new(), 0))
        .finish())
}

/// A super-admin starts at the tenant list; a tenant admin at their tenant.
#[get("/admin")]
pub async fn home(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
) -> Result<HttpResponse, ConsoleError> {
    let who = admin.principal.clone();
    let tenants = storage::block::<_, ConsoleError, _>(&state.pool, move |c| {
        Ok(access::visible_tenants(c, &who)?)
    })
    .await?;
    if !admin.principal.is_super()
        && let [only] = tenants.as_slice()
    {
        return Ok(see_other(&format!("/admin/t/{}", only.slug)));
    }
    super::tenant::list_page(&admin, &tenants, super::pages::NewTenant::default())
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location.to_owned()))
        .finish()
}
