//! Users: the views (active, stale, deactivated, deprovisioned, all) with search and keyset
//! paging, each user's page with their attributes, identities, groups and timeline, and the
//! lifecycle actions. There is no deletion.
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::pages::{self, Layout, Problem, Problems, non_blank, when, when_or_dash};
use super::sign_ins::attempt_href;
use super::{ConsoleAdmin, ConsoleError, CsrfOnly, Done, db, see_other};
use crate::domain::tenant::Tenant;
use crate::domain::user_event::UserEvent;
use crate::http::AppState;
use crate::service::admin::invalid;
use crate::service::admin::users::{
    self as admin_users, Happening, LastSignIn, UserCounts, UserDetailView, UserPage, UserQuery,
    UserViewKind,
};

const PAGE_SIZE: i64 = 50;

/// The tab's label.
fn label(view: UserViewKind) -> &'static str {
    match view {
        UserViewKind::Active => "Active",
        UserViewKind::Stale => "Stale",
        UserViewKind::Deactivated => "Deactivated",
        UserViewKind::Deprovisioned => "Deprovisioned",
        UserViewKind::All => "All",
    }
}

pub struct Tab {
    pub label: &'static str,
    pub count: i64,
    pub href: String,
    pub current: bool,
}

/// A user's most recent sign-in attempt, as a badge that links to it in the history.
pub struct LastView {
    pub ok: bool,
    pub reason: String,
    pub at: String,
    pub href: String,
}

impl LastView {
    pub(super) fn of(slug: &str, l: &LastSignIn) -> Self {
        LastView {
            ok: l.succeeded(),
            reason: l.reason.clone(),
            at: when(l.at),
            href: attempt_href(slug, l.attempt_id),
        }
    }
}

pub struct UserRow {
    pub href: String,
    pub email: String,
    pub name: String,
    pub iwms_id: String,
    pub status: &'static str,
    pub stale: bool,
    pub last: Option<LastView>,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub tabs: Vec<Tab>,
    pub view: &'static str,
    pub q: String,
    pub rows: Vec<UserRow>,
    pub first_href: Option<String>,
    pub next_href: Option<String>,
    pub problem: Problems,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UsersQuery {
    view: String,
    q: String,
    after: String,
}

fn parse_view(raw: &str) -> Result<(&'static str, UserViewKind), ConsoleError> {
    let raw = if raw.is_empty() { "active" } else { raw };
    UserViewKind::parse(raw)
        .map(|kind| (kind.as_str(), kind))
        .ok_or_else(|| invalid("view", "choose one of the tabs").into())
}

fn parse_cursor(field: &'static str, raw: &str) -> Result<Option<i64>, ConsoleError> {
    match raw.trim() {
        "" => Ok(None),
        s => s
            .parse()
            .map(Some)
            .map_err(|_| invalid(field, "must be an id from the previous page").into()),
    }
}

fn users_href(slug: &str, view: &str, q: &str, after: Option<i64>) -> String {
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    format!(
        "/admin/t/{slug}/users?{}",
        pages::query(&[("view", view), ("q", q), ("after", &after)])
    )
}

#[get("/admin/t/{tenant}/users")]
pub async fn list(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let t = admin.tenant(&state, path.into_inner()).await?;
    let UsersQuery { view, q, after } = query.into_inner();
    let q = q.trim().to_owned();
    let tenant = t.clone();
    let counts = db(&state, move |c| admin_users::user_counts(c, &tenant)).await?;
    let asked = parse_view(&view).and_then(|v| Ok((v, parse_cursor("after", &after)?)));
    let ((view, kind), after) = match asked {
        Ok(a) => a,
        Err(e) => {
            let problem = Problems(Some(Problem::of("search", e)?));
            return users_page(&admin, &t, counts, ("active", None), &q, None, problem);
        }
    };
    let (tenant, search) = (t.clone(), non_blank(&q));
    let listed = db(&state, move |c| {
        admin_users::list_users(
            c,
            &tenant,
            &UserQuery {
                view: kind,
                search,
                limit: PAGE_SIZE,
                after,
            },
        )
    })
    .await;
    match listed {
        Ok(page) => users_page(
            &admin,
            &t,
            counts,
            (view, Some(page)),
            &q,
            after,
            Problems::none(),
        ),
        Err(e) => {
            let problem = Problems(Some(Problem::of("search", e)?));
            users_page(&admin, &t, counts, (view, None), &q, after, problem)
        }
    }
}

fn users_page(
    admin: &ConsoleAdmin,
    t: &Tenant,
    counts: UserCounts,
    (view, page): (&'static str, Option<UserPage>),
    q: &str,
    after: Option<i64>,
    problem: Problems,
) -> Result<HttpResponse, ConsoleError> {
    let slug = t.slug.as_str();
    let (rows, next) = match page {
        Some(p) => (p.users, p.next_after),
        None => (Vec::new(), None),
    };
    let p = UsersPage {
        layout: Layout::new(admin, Some(t), "users"),
        tabs: UserViewKind::ALL
            .into_iter()
            .map(|kind| Tab {
                label: label(kind),
                count: counts.of(kind),
                href: users_href(slug, kind.as_str(), q, None),
                current: kind.as_str() == view,
            })
            .collect(),
        view,
        q: q.to_owned(),
        rows: rows
            .iter()
            .map(|item| {
                let u = &item.user;
                UserRow {
                    href: format!("/admin/t/{slug}/users/{}", u.id),
                    email: u.email.clone(),
                    name: u.full_name(),
                    iwms_id: u.iwms_id.clone().unwrap_or_default(),
                    status: u.shown_status(),
                    stale: u.stale,
                    last: item.last_sign_in.as_ref().map(|l| LastView::of(slug, l)),
                    created: when(u.created_at),
                }
            })
            .collect(),
        first_href: after.map(|_| users_href(slug, view, q, None)),
        next_href: next.map(|n| users_href(slug, view, q, Some(n))),
        problem,
    };
    pages::render_status(&p, p.problem.status())
}

// ---------------------------------------------------------------------------------------------
// One user.

pub struct IdentityRow {
    pub id: i64,
    pub connection: String,
    pub protocol: String,
    pub subject: String,
    pub created: String,
    pub last_used: String,
}

pub struct TimelineRow {
    pub at: String,
    pub summary: String,
    /// `success`, `failure` or `neutral`: the badge's colour.
    pub tone: &'static str,
    pub label: &'static str,
    /// A sign-in attempt's place in the history.
    pub href: Option<String>,
}

/// The badge's tone and label.
fn timeline_label(what: &Happening) -> (&'static str, &'static str) {
    let e = match what {
        Happening::SignIn(a) if a.succeeded() => return ("success", "sign-in"),
        Happening::SignIn(_) => return ("failure", "sign-in failed"),
        Happening::Event(e) => e,
    };
    match e {
        UserEvent::Created { .. } => ("neutral", "created"),
        UserEvent::AttributesUpdated { .. } => ("neutral", "changed"),
        UserEvent::Deactivated { .. } | UserEvent::Deprovisioned { .. } => {
            ("failure", "deactivated")
        }
        UserEvent::Reactivated { .. } => ("success", "reactivated"),
        UserEvent::StaleFlagged { .. } => ("warn", "stale"),
        UserEvent::StaleCleared { .. } => ("neutral", "stale cleared"),
        UserEvent::IdentityLinked { .. } | UserEvent::IdentityUnlinked { .. } => {
            ("neutral", "identity")
        }
        UserEvent::GroupAdded { .. } | UserEvent::GroupRemoved { .. } => ("neutral", "group"),
        UserEvent::RoleAdded { .. } | UserEvent::RoleRemoved { .. } => ("neutral", "role"),
        UserEvent::IwmsAccountCreated { .. }
        | UserEvent::IwmsAccountIgnored { .. }
        | UserEvent::IwmsAccountLinked { .. } => ("neutral", "IWMS"),
        UserEvent::IwmsLinkRefused { .. } => ("warn", "IWMS"),
        UserEvent::ScimLinked { .. } | UserEvent::Unknown { .. } => ("neutral", "event"),
    }
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserDetailPage {
    pub layout: Layout,
    pub id: i64,
    pub email: String,
    pub name: String,
    pub status: &'static str,
    pub stale: bool,
    pub facts: Vec<(&'static str, String)>,
    /// Every value of the SCIM document, as `path: value` (e.g. `phoneNumbers[0].value`).
    pub scim_values: Vec<(String, String)>,
    /// Attributes outside the SCIM schema the directory sent, ignored.
    pub scim_ignored: Vec<String>,
    pub last: Option<LastView>,
    pub identities: Vec<IdentityRow>,
    pub groups: Vec<String>,
    /// Newest first.
    pub timeline: Vec<TimelineRow>,
    pub timeline_truncated: bool,
    pub can_deactivate: bool,
    pub can_reactivate: bool,
    pub sign_ins_href: String,
    pub problem: Problems,
}

fn or_dash(v: &Option<String>) -> String {
    v.clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "—".into())
}

fn detail_page(
    admin: &ConsoleAdmin,
    t: &Tenant,
    d: UserDetailView,
    problem: Problems,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let slug = t.slug.as_str();
    let u = &d.user.user;
    let r = &d.user;
    let status = u.shown_status();
    let scim_values = r.scim_values();
    let facts = vec![
        ("User ID", u.id.to_string()),
        ("Email", u.email.clone()),
        ("First name", or_dash(&u.first_name)),
        ("Last name", or_dash(&u.last_name)),
        ("IWMS ID", or_dash(&u.iwms_id)),
        ("Status", status.to_owned()),
        ("Stale since", when_or_dash(u.stale_since)),
        (
            "Created",
            format!("{} (via {})", when(u.created_at), u.created_via),
        ),
        ("Last sign-in", when_or_dash(u.last_login_at)),
        ("Updated", when(r.updated_at)),
        ("Deprovisioned", when_or_dash(u.deprovisioned_at)),
        ("SCIM userName", or_dash(&r.user_name)),
        ("SCIM externalId", or_dash(&r.external_id)),
        ("Display name", or_dash(&r.display_name)),
        ("Nickname", or_dash(&r.nick_name)),
        ("Title", or_dash(&r.title)),
        ("Department", or_dash(&r.department)),
        ("Employee number", or_dash(&r.employee_number)),
        ("Manager", or_dash(&r.manager)),
        (
            "Roles",
            if d.roles.is_empty() {
                "—".to_owned()
            } else {
                d.roles.join(", ")
            },
        ),
    ];
    let p = UserDetailPage {
        layout: Layout::new(admin, Some(t), "users").done(done),
        id: u.id,
        email: u.email.clone(),
        name: u.full_name(),
        status,
        stale: u.stale,
        facts,
        last: d.last_sign_in.as_ref().map(|l| LastView::of(slug, l)),
        identities: d
            .identities
            .iter()
            .map(|i| IdentityRow {
                id: i.id,
                connection: i.connection.clone(),
                protocol: i.protocol.to_uppercase(),
                subject: i.subject.clone(),
                created: when(i.created_at),
                last_used: when(i.last_used_at),
            })
            .collect(),
        groups: d.groups.clone(),
        timeline: d
            .timeline
            .iter()
            .rev()
            .map(|e| {
                let (tone, label) = timeline_label(&e.what);
                TimelineRow {
                    at: when(e.at),
                    summary: e.summary.clone(),
                    tone,
                    label,
                    href: match &e.what {
                        Happening::SignIn(a) => Some(attempt_href(slug, a.id)),
                        Happening::Event(_) => None,
                    },
                }
            })
            .collect(),
        scim_values,
        scim_ignored: r.scim_ignored_attributes.clone(),
        timeline_truncated: d.timeline_truncated,
        can_deactivate: d.can_deactivate(),
        can_reactivate: d.can_reactivate(),
        sign_ins_href: format!("/admin/t/{slug}/sign-ins?user={}", u.id),
        problem,
    };
    pages::render_status(&p, p.problem.status())
}

async fn load(state: &AppState, t: &Tenant, id: i64) -> Result<UserDetailView, ConsoleError> {
    let tenant = t.clone();
    db(state, move |c| admin_users::user_detail(c, &tenant, id)).await
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
pub struct NewUserPage {
    pub layout: Layout,
    pub form: NewUserForm,
    pub problem: Problems,
}

/// The "Add a user" form; its values come back when it is shown again.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewUserForm {
    csrf: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub iwms_id: String,
}

fn new_user_page(
    admin: &ConsoleAdmin,
    t: &Tenant,
    form: NewUserForm,
    problem: Problems,
) -> Result<HttpResponse, ConsoleError> {
    let p = NewUserPage {
        layout: Layout::new(admin, Some(t), "users"),
        form,
        problem,
    };
    pages::render_status(&p, p.problem.status())
}

/// Registered before `show`, whose `{id}` would otherwise take "new".
#[get("/admin/t/{tenant}/users/new")]
pub async fn new_form(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let t = admin.tenant(&state, path.into_inner()).await?;
    new_user_page(&admin, &t, NewUserForm::default(), Problems::none())
}

#[post("/admin/t/{tenant}/users")]
pub async fn create(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let form = form.into_inner();
    let some = |v: &str| Some(v.to_owned());
    let input = admin_users::NewUserInput {
        email: form.email.clone(),
        first_name: some(&form.first_name),
        last_name: some(&form.last_name),
        iwms_id: some(&form.iwms_id),
    };
    let (tenant, actor, now) = (t.clone(), admin.principal.audit.clone(), state.clock.unix());
    match db(&state, move |c| {
        admin_users::create_user(c, &tenant, &input, &actor, now)
    })
    .await
    {
        Ok(u) => Ok(see_other(&format!(
            "/admin/t/{}/users/{}?done=user-created",
            t.slug, u.user.id
        ))),
        Err(e) => new_user_page(&admin, &t, form, Problems(Some(Problem::of("add", e)?))),
    }
}

#[get("/admin/t/{tenant}/users/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<(String, i64)>,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let (tenant, id) = path.into_inner();
    let t = admin.tenant(&state, tenant).await?;
    let d = load(&state, &t, id).await?;
    detail_page(&admin, &t, d, Problems::none(), &q.done)
}

#[derive(Clone, Copy)]
enum Action {
    Deactivate,
    Reactivate,
}

async fn act(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    (tenant, id): (String, i64),
    form: CsrfOnly,
    action: Action,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let t = admin.tenant(&state, tenant).await?;
    let (tenant, actor, now) = (t.clone(), admin.principal.audit.clone(), state.clock.unix());
    let done = db(&state, move |c| match action {
        Action::Deactivate => admin_users::deactivate_user(c, &tenant, id, &actor, now),
        Action::Reactivate => admin_users::reactivate_user(c, &tenant, id, &actor, now),
    })
    .await;
    match done {
        Ok(_) => {
            let what = match action {
                Action::Deactivate => "deactivated",
                Action::Reactivate => "reactivated",
            };
            Ok(see_other(&format!(
                "/admin/t/{}/users/{id}?done={what}",
                t.slug
            )))
        }
        Err(e) => {
            let problem = Problems(Some(Problem::of("actions", e)?));
            let d = load(&state, &t, id).await?;
            detail_page(&admin, &t, d, problem, "")
        }
    }
}

#[post("/admin/t/{tenant}/users/{id}/deactivate")]
pub async fn deactivate(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<(String, i64)>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    act(
        state,
        admin,
        path.into_inner(),
        form.into_inner(),
        Action::Deactivate,
    )
    .await
}

#[post("/admin/t/{tenant}/users/{id}/reactivate")]
pub async fn reactivate(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<(String, i64)>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    act(
        state,
        admin,
        path.into_inner(),
        form.into_inner(),
        Action::Reactivate,
    )
    .await
}

#[post("/admin/t/{tenant}/users/{id}/identities/{identity}/unlink")]
pub async fn unlink(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<(String, i64, i64)>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    admin.check_csrf(&form.csrf)?;
    let (tenant, id, identity) = path.into_inner();
    let t = admin.tenant(&state, tenant).await?;
    let (tenant, actor, now) = (t.clone(), admin.principal.audit.clone(), state.clock.unix());
    db(&state, move |c| {
        admin_users::unlink_identity(c, &tenant, id, identity, &actor, now)
    })
    .await?;
    Ok(see_other(&format!(
        "/admin/t/{}/users/{id}?done=unlinked",
        t.slug
    )))
}
