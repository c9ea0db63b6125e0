//! Signing in to the console: through the tenant's own SSO, started at /admin/login and
//! coming back to /admin/sso, or once with a bootstrap link as super-admin. There is no
//! password form. An SSO session cookie alone never opens the console: with forward auth it
//! is shared with every app behind the proxy.
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
use crate::http::login::StartOptions;
use crate::http::pages::{Hidden, MessagePage, PostChoice, page};
use crate::http::rate_limit;
use crate::http::session::{TICKET_COOKIE, ticket_cookie};
use crate::http::{AppState, HttpError};
use crate::service::admin::access::{self, Handoff, HandoffRefused};
use crate::service::discovery;
use crate::service::session::sha256_hex;
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

/// The console hand-off: a one-time value minted when a console sign-in starts. Its cookie is
/// host-only (no Domain, whatever `session.cookie_domain` says, so no app behind the proxy
/// sees it) and goes only to /admin/sso; the pending request, and then the session the
/// sign-in opens, hold its SHA-256. /admin/sso opens the console only for both together.
pub const HANDOFF_COOKIE: &str = "ssogate_admin_handoff";
fn handoff_cookie<'a>(state: &AppState, value: String, max_age_secs: i64) -> Cookie<'a> {
    // Lax: the IdP's way back (a cross-site POST to the ACS, or a top-level GET to the
    // callback) ends in a top-level GET redirect to /admin/sso, which Lax cookies survive.
    Cookie::build(HANDOFF_COOKIE, value)
        .path(ADMIN_CONSOLE_RETURN)
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(max_age_secs.max(0)))
        .finish()
}

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
    /// The connection picked on the chooser, for a tenant with several.
    connection: Option<String>,
}

fn same_token(cookie: Option<&str>, field: &str) -> bool {
    cookie.is_some_and(|c| {
        !c.is_empty()
            && c.len() == field.len()
            && openssl::memcmp::eq(c.as_bytes(), field.as_bytes())
    })
}

/// Finds the tenant by the email's domain and starts its SSO, coming back to /admin/sso, with
/// a fresh hand-off value in a host-only cookie.
#[post("/admin/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, HttpError> {
    let LoginForm {
        email,
        csrf,
        connection,
    } = form.into_inner();
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
    let handoff = crate::random::token();
    let opts = StartOptions {
        return_to: Some(ADMIN_CONSOLE_RETURN.to_owned()),
        test_by: None,
        console_handoff: Some(sha256_hex(&handoff)),
    };
    // With several connections, the chooser posts this form again with the pick (and mints
    // a new hand-off then).
    let post_choice = PostChoice {
        action: "/admin/login",
        fields: vec![
            Hidden {
                name: "email",
                value: address.to_string(),
            },
            Hidden {
                name: "csrf",
                value: csrf,
            },
        ],
    };
    let mut res = crate::http::login::begin(
        &req,
        state.clone(),
        tenant,
        connection,
        opts,
        Some(post_choice),
    )
    .await?;
    if res.status() == StatusCode::SEE_OTHER {
        let s = &state.settings;
        let ttl = s.saml.request_ttl_secs.max(s.oidc.request_ttl_secs) + 60;
        res.add_cookie(&handoff_cookie(&state, handoff, ttl))
            .map_err(HttpError::internal)?;
    }
    Ok(res)
}

/// Where the console's SSO sign-in lands: a console session when this browser started that
/// sign-in at /admin/login (the hand-off cookie matches the one its session holds, spent
/// here) and the user is an admin of their tenant. The SSO session cookie alone (an app's
/// sign-in, or a cookie replayed by an app that saw it) is sent to /admin/login.
#[get("/admin/sso")]
pub async fn sso_handoff(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    // Counted per client before any lookup: the tenant is only known from the session.
    rate_limit::sign_in(&req, &state, None)?;
    let handoff = req.cookie(HANDOFF_COOKIE).map(|c| c.value().to_owned());
    let ticket = req.cookie(TICKET_COOKIE).map(|c| c.value().to_owned());
    let session = req
        .cookie(&state.settings.session.cookie_name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty());
    // Whatever happens, a hand-off or ticket cookie that arrived is spent.
    let spend = |mut res: HttpResponse| -> Result<HttpResponse, HttpError> {
        if handoff.is_some() {
            res.add_cookie(&handoff_cookie(&state, String::new(), 0))
                .map_err(HttpError::internal)?;
        }
        if ticket.is_some() {
            res.add_cookie(&ticket_cookie(&state, String::new(), 0))
                .map_err(HttpError::internal)?;
        }
        Ok(res)
    };
    let Some(session) = session else {
        return spend(see_other("/admin/login"));
    };
    let now = state.clock.unix();
    let ttl = state.settings.admin.session_ttl_secs;
    let (st, token, finished) = (state.clone(), handoff.clone(), ticket.clone());
    let result = storage::block(&state.pool, move |c| {
        let h = Handoff {
            session_secret: &st.session_secret,
            session_token: &session,
            handoff_token: token.as_deref(),
            ticket: finished.as_deref(),
        };
        access::handoff_from_sso(c, &h, now, ttl)
    })
    .await?;
    match result {
        Ok((opened, slug)) => spend(
            HttpResponse::SeeOther()
                .insert_header(("Location", format!("/admin/t/{slug}")))
                .cookie(auth::cookie(
                    &state,
                    opened.cookie_token,
                    opened.expires_at - now,
                ))
                .finish(),
        ),
        Err(HandoffRefused::NotAConsoleSignIn) => {
            tracing::info!("console hand-off refused: no console sign-in of this browser");
            spend(see_other("/admin/login"))
        }
        Err(refused @ HandoffRefused::NotAdmin { .. }) => spend(page(
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
