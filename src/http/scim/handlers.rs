//! Request handlers: authenticate, parse, call the SCIM service, answer in SCIM form.
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::discovery;
use super::response::{ScimHttpError, json};
use crate::domain::scim::error::{ScimError, ScimType};
use crate::domain::scim::query::{ListQuery, Projection, project};
use crate::domain::scim::schema::USER_RESOURCE;
use crate::http::AppState;
use crate::service::scim::tokens::{self, AuthError};
use crate::service::scim::{Resource, ScimContext, ScimServiceError, groups, list_response, users};
use crate::storage::{self, DbConnection};

type Reply = Result<HttpResponse, ScimHttpError>;

fn base(state: &AppState, tenant: &str) -> String {
    format!("{}/t/{tenant}/scim/v2", state.base_url)
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let h = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = h.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The tenant of the URL, when the request carries one of its tokens.
async fn authorize(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<ScimContext, ScimHttpError> {
    let slug = req
        .match_info()
        .get("tenant")
        .unwrap_or_default()
        .to_owned();
    let token = bearer(req);
    let now = state.clock.unix();
    let slug2 = slug.clone();
    let sent = token.clone();
    let tenant = storage::block(&state.pool, move |c| {
        Ok::<_, ScimServiceError>(tokens::authenticate(c, &slug2, sent.as_deref(), now))
    })
    .await?;
    // Rate limits: per token once it is accepted, per client address while it is refused.
    match (&tenant, &token) {
        (Ok(_), Some(t)) => state.limits.scim_token(t)?,
        _ => state.limits.refused_token(crate::http::client_addr(req))?,
    }
    match tenant {
        Ok(tenant) => {
            // The metrics' tenant label: only a tenant whose token was accepted.
            req.extensions_mut()
                .insert(super::metrics::ScimTenant(tenant.slug.as_str().to_owned()));
            Ok(ScimContext {
                tenant,
                base: base(state, &slug),
                now,
                max_page: state.settings.scim.max_page_size,
                max_scanned: state.settings.scim.max_scanned_matches,
            })
        }
        Err(AuthError::Unauthorized(e)) => Err(e.into()),
        Err(AuthError::Storage(e)) => Err(e.into()),
    }
}

async fn run<T: Send + 'static>(
    state: &web::Data<AppState>,
    f: impl FnOnce(&mut DbConnection) -> Result<T, ScimServiceError> + Send + 'static,
) -> Result<T, ScimHttpError> {
    Ok(storage::block(&state.pool, f).await?)
}

/// Reads a JSON body of at most `scim.max_body_bytes`; larger bodies are cut off while
/// reading (413), never buffered whole.
async fn body(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Value, ScimHttpError> {
    if let Some(ct) = req.headers().get(CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        let mime = ct.split(';').next().unwrap_or_default().trim();
        if !matches!(
            mime,
            "application/scim+json" | "application/json" | "text/json"
        ) {
            return Err(ScimError::new(415, None, "send application/scim+json").into());
        }
    }
    let limit = state.settings.scim.max_body_bytes;
    let buf = crate::http::body::read_capped(payload, limit)
        .await
        .map_err(|_| ScimError::invalid_syntax("the request body could not be read"))?
        .ok_or_else(|| {
            ScimError::new(
                413,
                None,
                format!("the request body is larger than {limit} bytes"),
            )
        })?;
    serde_json::from_slice(&buf).map_err(|e| {
        ScimError::invalid_syntax(format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
        .into()
    })
}

fn param(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.into_owned())
}

fn projection(req: &HttpRequest) -> Projection {
    Projection::from_params(
        param(req, "attributes").as_deref(),
        param(req, "excludedAttributes").as_deref(),
    )
}

fn list_query(req: &HttpRequest, max_page: i64) -> Result<ListQuery, ScimError> {
    ListQuery::parse(
        param(req, "filter").as_deref(),
        param(req, "startIndex").as_deref(),
        param(req, "count").as_deref(),
        projection(req),
        max_page,
    )
}

fn id_of(req: &HttpRequest) -> String {
    req.match_info().get("id").unwrap_or_default().to_owned()
}

pub async fn method_not_allowed() -> Reply {
    Err(ScimError::new(405, None, "this method is not supported on this endpoint").into())
}

pub async fn not_found() -> Reply {
    Err(ScimError::not_found("no such SCIM endpoint").into())
}

// ----- discovery -----

pub async fn service_provider_config(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let s = &state.settings.scim;
    Ok(json(
        StatusCode::OK,
        &discovery::service_provider_config(&ctx.base, s.max_page_size, s.max_body_bytes),
    ))
}

fn listed(items: Vec<Value>) -> HttpResponse {
    let n = items.len() as i64;
    json(StatusCode::OK, &list_response(n, 1, items))
}

pub async fn resource_types(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let ctx = authorize(&state, &req).await?;
    Ok(listed(discovery::resource_types(&ctx.base)))
}

pub async fn resource_type(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let v = discovery::find(discovery::resource_types(&ctx.base), &id_of(&req))
        .ok_or_else(|| ScimError::not_found("no such resource type"))?;
    Ok(json(StatusCode::OK, &v))
}

pub async fn schemas(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let ctx = authorize(&state, &req).await?;
    Ok(listed(discovery::schemas(&ctx.base)))
}

pub async fn schema(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let v = discovery::find(discovery::schemas(&ctx.base), &id_of(&req))
        .ok_or_else(|| ScimError::not_found("no such schema"))?;
    Ok(json(StatusCode::OK, &v))
}

// ----- users and groups -----

pub async fn list<R: Resource>(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let q = list_query(&req, ctx.max_page)?;
    let v = run(&state, move |c| R::list(c, &ctx, &q)).await?;
    Ok(json(StatusCode::OK, &v))
}

pub async fn search<R: Resource>(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let q = ListQuery::from_search(&body(&state, &req, payload).await?, ctx.max_page)?;
    let v = run(&state, move |c| R::list(c, &ctx, &q)).await?;
    Ok(json(StatusCode::OK, &v))
}

pub async fn get<R: Resource>(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let (id, p) = (id_of(&req), projection(&req));
    let v = run(&state, move |c| R::get(c, &ctx, &id, &p)).await?;
    Ok(json(StatusCode::OK, &v))
}

pub async fn create<R: Resource>(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let b = body(&state, &req, payload).await?;
    let p = projection(&req);
    let v = run(&state, move |c| R::create(c, &ctx, &b)).await?;
    let location = v["meta"]["location"].as_str().map(str::to_owned);
    let mut res = json(StatusCode::CREATED, &project(v, &p, R::SCHEMA));
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(LOCATION, l);
    }
    Ok(res)
}

pub async fn replace<R: Resource>(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let b = body(&state, &req, payload).await?;
    let (id, p) = (id_of(&req), projection(&req));
    let v = run(&state, move |c| R::replace(c, &ctx, &id, &b)).await?;
    Ok(json(StatusCode::OK, &project(v, &p, R::SCHEMA)))
}

pub async fn delete<R: Resource>(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let id = id_of(&req);
    run(&state, move |c| R::delete(c, &ctx, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn users_patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let b = body(&state, &req, payload).await?;
    let (id, p) = (id_of(&req), projection(&req));
    let v = run(&state, move |c| {
        let v = users::patch(c, &ctx, &id, &b)?;
        Ok(project(v, &p, &USER_RESOURCE))
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}

/// 204 (as Okta and Entra ID expect) unless the client asks for the group with
/// `attributes`/`excludedAttributes`: a large group is not rendered for nothing.
pub async fn groups_patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let b = body(&state, &req, payload).await?;
    let (id, p) = (id_of(&req), projection(&req));
    let v = run(&state, move |c| {
        let gid = groups::patch(c, &ctx, &id, &b)?;
        if p.is_empty() {
            Ok(None)
        } else {
            groups::rendered(c, &ctx, gid, &p).map(Some)
        }
    })
    .await?;
    Ok(match v {
        Some(v) => json(StatusCode::OK, &v),
        None => HttpResponse::NoContent().finish(),
    })
}

/// The one error that means "this resource type has no such attribute": anything else
/// (tooMany above all) must reach the client, not shrink the result.
fn names_absent_attribute(e: &ScimServiceError) -> bool {
    matches!(e, ScimServiceError::Scim(e)
        if matches!(e.scim_type, Some(ScimType::InvalidFilter | ScimType::InvalidPath)))
}

/// POST /.search across Users then Groups (RFC 7644 §3.4.3). A filter naming an attribute
/// one type lacks selects nothing of that type; if neither type accepts it, it is refused.
pub async fn search_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Reply {
    let ctx = authorize(&state, &req).await?;
    let q = ListQuery::from_search(&body(&state, &req, payload).await?, ctx.max_page)?;
    let v = run(&state, move |c| {
        let (offset, limit) = (q.offset(), q.count);
        let users_part = users::page(c, &ctx, &q, offset, limit);
        let (u_total, mut items) = match users_part {
            Ok(v) => v,
            Err(e) if names_absent_attribute(&e) => (-1, Vec::new()),
            Err(e) => return Err(e),
        };
        let user_count = u_total.max(0);
        let g_offset = (offset - user_count).max(0);
        let g_limit = limit - items.len() as i64;
        let (g_total, groups_items) = match groups::page(c, &ctx, &q, g_offset, g_limit) {
            Ok(v) => v,
            Err(e) if u_total >= 0 && names_absent_attribute(&e) => (0, Vec::new()),
            Err(e) => return Err(e),
        };
        items.extend(groups_items);
        Ok(list_response(user_count + g_total, q.start_index, items))
    })
    .await?;
    Ok(json(StatusCode::OK, &v))
}
