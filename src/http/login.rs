//! Sign-in entry points: the email form with home-realm discovery, and the tenant URL.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use url::form_urlencoded::byte_serialize;

use super::pages::{Choice, ChoosePage, IndexPage, MessagePage, PostChoice, page};
use super::rate_limit;
use super::session::binding_cookie;
use super::{AppState, HttpError};
use crate::domain::connection::{Connection, Entry, Protocol};
use crate::domain::sign_in_name::SignInName;
use crate::domain::tenant::Tenant;
use crate::service::discovery;
use crate::service::sign_in::{PendingBound, StartError, oidc, saml};
use crate::storage;

#[derive(Deserialize)]
pub struct IndexQuery {
    return_to: Option<String>,
}

#[get("/")]
pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<IndexQuery>,
) -> Result<IndexPage, HttpError> {
    rate_limit::sign_in(&req, &state, None)?;
    Ok(IndexPage {
        error: None,
        email: String::new(),
        return_to: q.into_inner().return_to.filter(|r| r.len() <= 2048),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    return_to: Option<String>,
}

/// Home-realm discovery: the email's whitelisted domain, or the tenant ID typed instead,
/// picks the tenant.
#[post("/login")]
pub async fn discover(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, HttpError> {
    let LoginForm { email, return_to } = form.into_inner();
    let again = |msg: &str, email: &str| {
        let form = IndexPage {
            error: Some(msg.to_owned()),
            email: email.chars().take(254).collect(),
            return_to: return_to.clone(),
        };
        page(&req, form, StatusCode::BAD_REQUEST)
    };
    let Some(name) = SignInName::parse(&email) else {
        rate_limit::sign_in(&req, &state, None)?;
        return Ok(again(
            "Enter your work email address, like name@company.com, or your company's workplace ID.",
            &email,
        ));
    };
    let lookup = name.clone();
    let found =
        storage::block(&state.pool, move |c| discovery::tenant_for_name(c, &lookup)).await?;
    rate_limit::sign_in(&req, &state, found.as_ref().map(|t| t.slug.as_str()))?;
    // Only whether the *domain* uses SSO here is revealed, never whether an account exists;
    // a tenant ID reveals what its tenant URL (`/t/{id}/login`) already does.
    let Some(tenant) = found else {
        let msg = match &name {
            SignInName::Email(address) => format!(
                "Single sign-on is not set up for {}. Check the address, or ask your administrator for your company's sign-in link.",
                address.domain()
            ),
            SignInName::TenantId(id) => format!(
                "There is no workplace with the ID {id}. Check it, or sign in with your work email."
            ),
        };
        let typed = match &name {
            SignInName::Email(a) => a.as_str().to_owned(),
            SignInName::TenantId(id) => id.as_str().to_owned(),
        };
        return Ok(again(&msg, &typed));
    };
    let opts = StartOptions {
        return_to,
        ..Default::default()
    };
    begin(&req, state, tenant, None, opts, None).await
}

#[derive(Deserialize)]
pub struct TenantLoginQuery {
    return_to: Option<String>,
    connection: Option<String>,
}

#[get("/t/{tenant}/login")]
pub async fn tenant_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<TenantLoginQuery>,
) -> Result<HttpResponse, HttpError> {
    let slug = path.into_inner();
    let found = storage::block(&state.pool, move |c| discovery::tenant(c, &slug)).await?;
    rate_limit::sign_in(&req, &state, found.as_ref().map(|t| t.slug.as_str()))?;
    let tenant = found.ok_or(HttpError::NotFound("There is no such sign-in page."))?;
    let q = q.into_inner();
    let opts = StartOptions {
        return_to: q.return_to,
        ..Default::default()
    };
    begin(&req, state, tenant, q.connection, opts, None).await
}

fn enc(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect()
}

/// What a sign-in is started with, besides its tenant and connection.
#[derive(Default)]
pub(crate) struct StartOptions {
    pub return_to: Option<String>,
    /// A console test sign-in: the admin who started it.
    pub test_by: Option<String>,
    /// A console sign-in: SHA-256 of the hand-off value whose cookie the browser gets.
    pub console_handoff: Option<String>,
}

/// `post_choice`: offer several connections as buttons posting that form again (the
/// console's sign-in, whose hand-off is minted by the POST), instead of as links.
pub(crate) async fn begin(
    req: &HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    choice: Option<String>,
    opts: StartOptions,
    post_choice: Option<PostChoice>,
) -> Result<HttpResponse, HttpError> {
    let tid = tenant.clone();
    let entry = storage::block(&state.pool, move |c| {
        discovery::entry(c, &tid, choice.as_deref())
    })
    .await?;
    let connection = match entry {
        Entry::Start(c) => c,
        Entry::UnknownChoice => {
            return Err(HttpError::NotFound("This sign-in method does not exist."));
        }
        Entry::NotConfigured => {
            let msg = MessagePage::new(
                "Not available",
                "Single sign-on is not configured for your company yet; contact your administrator.",
            );
            return Ok(page(req, msg, StatusCode::SERVICE_UNAVAILABLE));
        }
        Entry::Choose(active) => {
            let rt = opts
                .return_to
                .as_deref()
                .map(|r| format!("&return_to={}", enc(r)))
                .unwrap_or_default();
            let choices = active
                .iter()
                .map(|c| Choice {
                    label: c.display_name.clone(),
                    href: format!("/t/{}/login?connection={}{rt}", tenant.slug, c.slug),
                    value: c.slug.to_string(),
                })
                .collect();
            let choose = ChoosePage {
                tenant: tenant.display_name.clone(),
                choices,
                post: post_choice,
            };
            return Ok(page(req, choose, StatusCode::OK));
        }
    };
    start(req, state, tenant, *connection, opts).await
}

/// Sends the browser to the connection's IdP with a pending request bound to it; `test_by`
/// makes it a console test sign-in (described at the end, never provisioned).
pub(crate) async fn start(
    req: &HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    connection: Connection,
    opts: StartOptions,
) -> Result<HttpResponse, HttpError> {
    let StartOptions {
        return_to,
        test_by,
        console_handoff,
    } = opts;
    let st = state.clone();
    let client = super::client_addr::client_key(req);
    let max_per_client = state.settings.sign_ins.max_pending_per_client;
    // The binding cookie goes only to the URL the IdP sends the browser back to.
    let cross_site_post = connection.protocol == Protocol::Saml;
    let (return_path, started) = match connection.protocol {
        Protocol::Saml => {
            let sp = state.sp_endpoints(tenant.slug.as_str(), connection.slug.as_str());
            let path = format!("/t/{}/saml/{}/acs", tenant.slug, connection.slug);
            let started = storage::block::<_, StartError, _>(&state.pool, move |c| {
                let params = saml::StartParams {
                    sp: &sp,
                    return_to: return_to.as_deref(),
                    request_ttl_secs: st.settings.saml.request_ttl_secs,
                    signing_key: st.sp_signing.as_ref().map(|s| &s.key),
                    now: st.clock.now(),
                    test_by: test_by.as_deref(),
                    console_handoff: console_handoff.as_deref(),
                    bound: PendingBound {
                        client: client.as_ref(),
                        max_per_client,
                    },
                };
                saml::start(c, &tenant, &connection, &params)
            })
            .await?;
            (path, started)
        }
        Protocol::Oidc => {
            let redirect_uri =
                state.oidc_redirect_uri(tenant.slug.as_str(), connection.slug.as_str());
            let path = format!("/t/{}/oidc/{}/callback", tenant.slug, connection.slug);
            let started = storage::block::<_, StartError, _>(&state.pool, move |c| {
                let params = oidc::StartParams {
                    redirect_uri: &redirect_uri,
                    return_to: return_to.as_deref(),
                    request_ttl_secs: st.settings.oidc.request_ttl_secs,
                    now: st.clock.unix(),
                    test_by: test_by.as_deref(),
                    console_handoff: console_handoff.as_deref(),
                    bound: PendingBound {
                        client: client.as_ref(),
                        max_per_client,
                    },
                };
                oidc::start(c, &tenant, &connection, &params)
            })
            .await?;
            (path, started)
        }
    };
    let cookie = binding_cookie(&state, &started, return_path, cross_site_post);
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", started.url))
        .cookie(cookie)
        .finish())
}
