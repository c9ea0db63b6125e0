//! The tenant's roles: rules mapping groups to roles, roles set by hand on a user, and which
//! directory attributes apps receive as `X-Auth-Request-*` headers.
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::pages::{self, Layout, Problem, Problems};
use super::{ConsoleAdmin, ConsoleError, Done, db, see_other};
use crate::domain::roles::ForwardedAttribute;
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin::roles::{self, ManualRolesInput, RoleRuleInput, RoleRuleView};
use crate::service::admin::{self, TenantInput, users as admin_users};

#[derive(Template)]
#[template(path = "admin/roles.html")]
pub struct RolesPage {
    pub layout: Layout,
    pub rules: Vec<RoleRuleView>,
    /// (name, chosen) for every attribute that can be forwarded.
    pub forwarded: Vec<(&'static str, bool)>,
    /// The forms' values when shown again.
    pub group: String,
    pub role: String,
    pub user: String,
    pub user_roles: String,
    pub problem: Problems,
}

#[derive(Default)]
struct Values {
    group: String,
    role: String,
    user: String,
    user_roles: String,
}

async fn page(
    state: &AppState,
    admin: &ConsoleAdmin,
    t: Tenant,
    v: Values,
    problem: Problems,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let tenant = t.clone();
    let (rules, view) = db(state, move |c| {
        Ok((
            roles::list_rules(c, &tenant)?,
            admin::tenant_view(c, &tenant)?,
        ))
    })
    .await?;
    let p = RolesPage {
        layout: Layout::new(admin, Some(&t), "roles").done(done),
        rules,
        forwarded: ForwardedAttribute::ALL
            .into_iter()
            .map(|a| (a.as_str(), view.forward_attributes.contains(&a.as_str())))
            .collect(),
        group: v.group,
        role: v.role,
        user: v.user,
        user_roles: v.user_roles,
        problem,
    };
    pages::render_status(&p, p.problem.status())
}

#[get("/admin/t/{tenant}/roles")]
pub async fn show(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let t = admin.tenant(&state, path.into_inner()).await?;
    page(
        &state,
        &admin,
        t,
        Values::default(),
        Problems::none(),
        &q.done,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    csrf: String,
    group: String,
    role: String,
    id: i64,
}

#[post("/admin/t/{tenant}/roles/rules")]
pub async fn add_rule(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<RuleForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let form = form.into_inner();
    let input = RoleRuleInput {
        group: form.group.clone(),
        role: form.role.clone(),
    };
    let (now, actor, tenant) = (state.clock.unix(), admin.principal.audit.clone(), t.clone());
    match db(&state, move |c| {
        roles::add_rule(c, &tenant, &input, &actor, now)
    })
    .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/admin/t/{}/roles?done=rule-added",
            t.slug
        ))),
        Err(e) => {
            let problem = Problems(Some(Problem::of("rule", e)?));
            let v = Values {
                group: form.group,
                role: form.role,
                ..Values::default()
            };
            page(&state, &admin, t, v, problem, "").await
        }
    }
}

#[post("/admin/t/{tenant}/roles/rules/remove")]
pub async fn remove_rule(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<RuleForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let (now, actor, tenant, id) = (
        state.clock.unix(),
        admin.principal.audit.clone(),
        t.clone(),
        form.id,
    );
    db(&state, move |c| {
        roles::remove_rule(c, &tenant, id, &actor, now)
    })
    .await?;
    Ok(see_other(&format!(
        "/admin/t/{}/roles?done=rule-removed",
        t.slug
    )))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserRolesForm {
    csrf: String,
    user: String,
    roles: String,
}

#[post("/admin/t/{tenant}/roles/user")]
pub async fn set_user_roles(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<UserRolesForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let form = form.into_inner();
    let (who, wanted) = (form.user.trim().to_owned(), form.roles.clone());
    let (now, actor, tenant) = (state.clock.unix(), admin.principal.audit.clone(), t.clone());
    let result = db(&state, move |c| {
        let id = admin_users::find_user(c, &tenant, &who)?;
        let input = ManualRolesInput {
            roles: wanted
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        roles::set_user_roles(c, &tenant, id, &input, &actor, now)
    })
    .await;
    match result {
        Ok(v) => Ok(see_other(&format!(
            "/admin/t/{}/users/{}?done=roles-set",
            t.slug, v.user_id
        ))),
        Err(e) => {
            let problem = Problems(Some(Problem::of("user-roles", e)?));
            let v = Values {
                user: form.user,
                user_roles: form.roles,
                ..Values::default()
            };
            page(&state, &admin, t, v, problem, "").await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ForwardForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default, rename = "employee-number")]
    employee_number: Option<String>,
    #[serde(default)]
    manager: Option<String>,
}

#[post("/admin/t/{tenant}/roles/forwarded")]
pub async fn save_forwarded(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<ForwardForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let chosen: Vec<String> = [
        ("department", &form.department),
        ("title", &form.title),
        ("employee-number", &form.employee_number),
        ("manager", &form.manager),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_some())
    .map(|(n, _)| n.to_owned())
    .collect();
    let input = TenantInput {
        forward_attributes: Some(chosen),
        ..Default::default()
    };
    let (now, actor, slug) = (
        state.clock.unix(),
        admin.principal.audit.clone(),
        t.slug.to_string(),
    );
    db(&state, move |c| {
        admin::update_tenant(c, &slug, &input, &actor, now)
    })
    .await?;
    Ok(see_other(&format!(
        "/admin/t/{}/roles?done=forwarded-saved",
        t.slug
    )))
}
