//! The tenant's whitelisted email domains: they route sign-ins to the tenant and bound who is
//! created. A domain belongs to at most one tenant.
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::pages::{self, Layout, Problem, Problems};
use super::{ConsoleAdmin, ConsoleError, Done, db, see_other};
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin;

#[derive(Template)]
#[template(path = "admin/domains.html")]
pub struct DomainsPage {
    pub layout: Layout,
    pub domains: Vec<String>,
    pub open_enrolment: bool,
    /// The add form's value when it is shown again.
    pub domain: String,
    pub problem: Problems,
}

async fn page(
    state: &AppState,
    admin: &ConsoleAdmin,
    t: Tenant,
    domain: String,
    problem: Problems,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let slug = t.slug.to_string();
    let domains = db(state, move |c| admin::list_domains(c, Some(&slug))).await?;
    let p = DomainsPage {
        layout: Layout::new(admin, Some(&t), "domains").done(done),
        open_enrolment: t.auto_create_users && domains.is_empty(),
        domains: domains.into_iter().map(|d| d.domain).collect(),
        domain,
        problem,
    };
    pages::render_status(&p, p.problem.status())
}

#[get("/admin/t/{tenant}/domains")]
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
pub struct DomainForm {
    csrf: String,
    domain: String,
}

#[post("/admin/t/{tenant}/domains")]
pub async fn add(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<DomainForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let (slug, domain, now) = (
        t.slug.to_string(),
        form.domain.trim().to_owned(),
        state.clock.unix(),
    );
    let actor = admin.principal.audit.clone();
    match db(&state, move |c| {
        admin::add_domain(c, &slug, &domain, &actor, now)
    })
    .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/admin/t/{}/domains?done=domain-added",
            t.slug
        ))),
        Err(e) => {
            let problem = Problems(Some(Problem::of("add", e)?));
            let value = form.into_inner().domain;
            page(&state, &admin, t, value, problem, "").await
        }
    }
}

#[post("/admin/t/{tenant}/domains/remove")]
pub async fn remove(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<DomainForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let (slug, domain) = (t.slug.to_string(), form.into_inner().domain);
    let (now, actor) = (state.clock.unix(), admin.principal.audit.clone());
    db(&state, move |c| {
        admin::remove_domain(c, &slug, &domain, &actor, now)
    })
    .await?;
    Ok(see_other(&format!(
        "/admin/t/{}/domains?done=domain-removed",
        t.slug
    )))
}
