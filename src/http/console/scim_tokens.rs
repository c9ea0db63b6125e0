//! SCIM bearer tokens: created here and shown once, listed with their last use, revoked.
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::pages::{self, Layout, Problem, Problems, when, when_or_dash};
use super::{ConsoleAdmin, ConsoleError, CsrfOnly, Done, db, see_other};
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin::scim_tokens;

pub struct TokenRow {
    pub id: i64,
    pub label: String,
    pub created: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/scim_tokens.html")]
pub struct TokensPage {
    pub layout: Layout,
    pub tokens: Vec<TokenRow>,
    pub base_url: String,
    /// The create form's value when it is shown again.
    pub label: String,
    pub problem: Problems,
}

/// The one page that shows a new token; nothing shows it again.
#[derive(Template)]
#[template(path = "admin/scim_token_created.html")]
pub struct CreatedPage {
    pub layout: Layout,
    pub label: String,
    pub token: String,
    pub base_url: String,
}

fn base_url(state: &AppState, t: &Tenant) -> String {
    format!(
        "{}/t/{}/scim/v2",
        state.base_url.trim_end_matches('/'),
        t.slug
    )
}

async fn page(
    state: &AppState,
    admin: &ConsoleAdmin,
    t: Tenant,
    label: String,
    problem: Problems,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let scope = t.clone();
    let found = db(state, move |c| scim_tokens::list(c, &scope)).await?;
    let p = TokensPage {
        layout: Layout::new(admin, Some(&t), "scim-tokens").done(done),
        tokens: found
            .into_iter()
            .map(|k| TokenRow {
                id: k.id,
                label: k.label,
                created: when(k.created_at),
                last_used: k.last_used_at.map_or_else(|| "never".into(), when),
                revoked: k.revoked_at.map(|r| when_or_dash(Some(r))),
            })
            .collect(),
        base_url: base_url(state, &t),
        label,
        problem,
    };
    pages::render_status(&p, p.problem.status())
}

#[get("/admin/t/{tenant}/scim-tokens")]
pub async fn list(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let t = admin.tenant(&state, path.into_inner()).await?;
    page(&state, &admin, t, String::new(), Problems::none(), &q.done).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateForm {
    csrf: String,
    label: String,
}

/// What the token is for, so it can be told apart when rotating: 1-100 printable characters.

#[post("/admin/t/{tenant}/scim-tokens")]
pub async fn create(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let (scope, now, actor) = (t.clone(), state.clock.unix(), admin.principal.audit.clone());
    let created = match scim_tokens::parse_label(&form.label) {
        Ok(label) => {
            let l = label.clone();
            db(&state, move |c| {
                scim_tokens::create(c, &scope, &l, &actor, now)
            })
            .await
            .map(|c| (label, c))
        }
        Err(e) => Err(e.into()),
    };
    match created {
        Ok((label, c)) => {
            tracing::info!(token_id = c.id, tenant = %t.slug, "SCIM token created in the console");
            let p = CreatedPage {
                layout: Layout::new(&admin, Some(&t), "scim-tokens"),
                label,
                token: c.token,
                base_url: base_url(&state, &t),
            };
            pages::render(&p)
        }
        Err(e) => {
            let problem = Problems(Some(Problem::of("create", e)?));
            let label = form.into_inner().label;
            page(&state, &admin, t, label, problem, "").await
        }
    }
}

#[post("/admin/t/{tenant}/scim-tokens/{id}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<(String, i64)>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let (tenant, token) = path.into_inner();
    let t = admin.tenant(&state, tenant).await?;
    let (scope, now, actor) = (t.clone(), state.clock.unix(), admin.principal.audit.clone());
    db(&state, move |c| {
        scim_tokens::revoke(c, &scope, token, &actor, now)
    })
    .await?;
    Ok(see_other(&format!(
        "/admin/t/{}/scim-tokens?done=token-revoked",
        t.slug
    )))
}

#[cfg(test)]
mod tests {
    use crate::service::admin::scim_tokens::parse_label;

    #[test]
    fn labels_are_short_printable_text() {
        assert_eq!(
            parse_label("  Okta provisioning ").unwrap(),
            "Okta provisioning"
        );
        assert!(parse_label("").is_err());
        assert!(parse_label("a\nb").is_err());
        assert!(parse_label(&"x".repeat(101)).is_err());
    }
}
