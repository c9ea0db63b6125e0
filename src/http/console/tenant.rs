//! Tenant settings: display name, user creation, the IWMS ID attribute, staleness, return_to
//! origins; the IWMS feed's endpoint and secret only for super-admins.
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::pages::{self, Layout, Problem, Problems, lines, non_blank};
use super::{ConsoleAdmin, ConsoleError, Done, db, see_other};
use crate::domain::iwms::SecretSource;
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin::{self, TenantInput, invalid};

/// The form's values: the stored settings, or what was sent when it is shown again.
pub struct SettingsValues {
    pub display_name: String,
    pub auto_create_users: bool,
    pub iwms_attribute: String,
    pub scim_iwms_attribute: String,
    pub stale_after_days: String,
    pub allowed_return_origins: String,
    pub iwms_endpoint: String,
    pub iwms_secret: String,
    pub iwms_events: String,
    pub auto_create_iwms: bool,
    /// `iwms_id`, `email`, `employee_number`, `user_name`, or empty (no lookup).
    pub iwms_join_key: String,
}

impl SettingsValues {
    fn of(t: &Tenant) -> Self {
        SettingsValues {
            display_name: t.display_name.clone(),
            auto_create_users: t.auto_create_users,
            iwms_attribute: t.iwms_attribute.clone().unwrap_or_default(),
            scim_iwms_attribute: t
                .scim_iwms_attribute
                .map(|s| s.as_string())
                .unwrap_or_default(),
            stale_after_days: t.stale_after_days.to_string(),
            allowed_return_origins: t
                .allowed_return_origins
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            iwms_endpoint: t.iwms.endpoint.clone().unwrap_or_default(),
            iwms_secret: t
                .iwms
                .secret
                .as_ref()
                .map(SecretSource::as_string)
                .unwrap_or_default(),
            iwms_events: t
                .iwms
                .events
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            auto_create_iwms: t.iwms.auto_create,
            iwms_join_key: t
                .iwms
                .join_key
                .map(|k| k.as_str().to_owned())
                .unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
pub struct SettingsPage {
    pub layout: Layout,
    pub values: SettingsValues,
    /// Auto-create is on and no domain is whitelisted: anyone the IdP signs in gets an account.
    pub open_enrolment: bool,
    /// The stored IWMS feed, for admins who may not change it.
    pub iwms_endpoint: Option<String>,
    pub problem: Problems,
}

async fn page(
    state: &AppState,
    admin: &ConsoleAdmin,
    t: Tenant,
    values: Option<SettingsValues>,
    problem: Problems,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let tenant = t.clone();
    let view = db(state, move |c| admin::tenant_view(c, &tenant)).await?;
    let p = SettingsPage {
        layout: Layout::new(admin, Some(&t), "settings").done(done),
        open_enrolment: view.open_enrolment(),
        iwms_endpoint: t.iwms.endpoint.clone(),
        values: values.unwrap_or_else(|| SettingsValues::of(&t)),
        problem,
    };
    pages::render_status(&p, p.problem.status())
}

#[get("/admin/t/{tenant}")]
pub async fn show(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let t = admin.tenant(&state, path.into_inner()).await?;
    page(&state, &admin, t, None, Problems::none(), &q.done).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    csrf: String,
    display_name: String,
    auto_create_users: Option<String>,
    iwms_attribute: String,
    scim_iwms_attribute: String,
    stale_after_days: String,
    allowed_return_origins: String,
    // Where the IWMS feed goes and what it is signed with: super-admins only.
    iwms_endpoint: Option<String>,
    iwms_secret: Option<String>,
    iwms_events: Option<String>,
    auto_create_iwms: Option<String>,
    iwms_join_key: Option<String>,
}

impl SettingsForm {
    /// The server fetches and signs with these, so a tenant admin must not point them at
    /// internal hosts or server files (the API's rule too).
    fn touches_server_side_feed(&self) -> bool {
        self.iwms_endpoint.is_some() || self.iwms_secret.is_some()
    }

    fn values(&self) -> SettingsValues {
        SettingsValues {
            display_name: self.display_name.clone(),
            auto_create_users: self.auto_create_users.is_some(),
            iwms_attribute: self.iwms_attribute.clone(),
            scim_iwms_attribute: self.scim_iwms_attribute.clone(),
            stale_after_days: self.stale_after_days.clone(),
            allowed_return_origins: self.allowed_return_origins.clone(),
            iwms_endpoint: self.iwms_endpoint.clone().unwrap_or_default(),
            iwms_secret: self.iwms_secret.clone().unwrap_or_default(),
            iwms_events: self.iwms_events.clone().unwrap_or_default(),
            auto_create_iwms: self.auto_create_iwms.is_some(),
            iwms_join_key: self.iwms_join_key.clone().unwrap_or_default(),
        }
    }

    /// The change to apply. The form always carries the feed's choices (an unticked box is
    /// absent, so it means off); a super-admin's also its endpoint and secret.
    fn input(&self, is_super: bool) -> Result<TenantInput, ConsoleError> {
        let days = self.stale_after_days.trim();
        let stale_after_days = days
            .parse::<i64>()
            .map_err(|_| invalid("stale_after_days", "enter a whole number of days"))?;
        let mut input = TenantInput {
            display_name: Some(self.display_name.clone()),
            auto_create_users: Some(self.auto_create_users.is_some()),
            iwms_attribute: Some(non_blank(&self.iwms_attribute)),
            scim_iwms_attribute: Some(non_blank(&self.scim_iwms_attribute)),
            stale_after_days: Some(stale_after_days),
            allowed_return_origins: Some(lines(&self.allowed_return_origins)),
            ..Default::default()
        };
        input.iwms_events = self.iwms_events.as_deref().and_then(non_blank);
        input.auto_create_iwms = Some(self.auto_create_iwms.is_some());
        // Absent (a form of an older page): kept as stored.
        input.iwms_join_key = self
            .iwms_join_key
            .as_deref()
            .map(|k| non_blank(k).filter(|k| k != "none"));
        if is_super {
            input.iwms_endpoint = Some(self.iwms_endpoint.as_deref().and_then(non_blank));
            input.iwms_secret = Some(self.iwms_secret.as_deref().and_then(non_blank));
        }
        Ok(input)
    }
}

#[post("/admin/t/{tenant}")]
pub async fn save(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let is_super = admin.principal.is_super();
    if !is_super && form.touches_server_side_feed() {
        return Err(ConsoleError::Forbidden(
            "Only a super-admin can change where IWMS events are sent.".into(),
        ));
    }
    let now = state.clock.unix();
    let slug = t.slug.to_string();
    let saved = match form.input(is_super) {
        Ok(input) => {
            let actor = admin.principal.audit.clone();
            db(&state, move |c| {
                admin::update_tenant(c, &slug, &input, &actor, now)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(t) => Ok(see_other(&format!("/admin/t/{}?done=saved", t.slug))),
        Err(e) => {
            let problem = Problems(Some(Problem::of("settings", e)?));
            page(&state, &admin, t, Some(form.values()), problem, "").await
        }
    }
}

/// The tenant list (with the super-admin's "create a tenant" form).
pub fn list_page(
    admin: &ConsoleAdmin,
    tenants: &[Tenant],
    new: pages::NewTenant,
) -> Result<HttpResponse, ConsoleError> {
    let p = pages::TenantsPage {
        layout: Layout::new(admin, None, "tenants"),
        tenants: tenants
            .iter()
            .map(|t| (t.slug.to_string(), t.display_name.clone()))
            .collect(),
        new,
    };
    pages::render_status(&p, p.new.problem.status())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewTenantForm {
    csrf: String,
    slug: String,
    display_name: String,
}

/// Creates a tenant (super-admins only) with strict defaults: no user creation, no domains,
/// no connections; its settings page is next.
#[post("/admin/tenants")]
pub async fn create(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    form: web::Form<NewTenantForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    if !admin.principal.is_super() {
        return Err(ConsoleError::Forbidden(
            "Only a super-admin can create tenants.".into(),
        ));
    }
    let form = form.into_inner();
    let (slug, now) = (form.slug.trim().to_owned(), state.clock.unix());
    let input = TenantInput {
        display_name: non_blank(&form.display_name),
        ..Default::default()
    };
    let actor = admin.principal.audit.clone();
    match db(&state, move |c| {
        admin::create_tenant(c, &slug, &input, &actor, now)
    })
    .await
    {
        Ok(t) => Ok(see_other(&format!(
            "/admin/t/{}?done=tenant-created",
            t.slug
        ))),
        Err(e) => {
            let mut problem = Problem::of("create-tenant", e)?;
            if problem.field == "slug" {
                problem.field = "tenant_slug";
            }
            let who = admin.principal.clone();
            let tenants = db(&state, move |c| {
                Ok(admin::access::visible_tenants(c, &who)?)
            })
            .await?;
            let new = pages::NewTenant {
                slug: form.slug,
                display_name: form.display_name,
                problem: Problems(Some(problem)),
            };
            list_page(&admin, &tenants, new)
        }
    }
}
