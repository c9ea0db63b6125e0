//! The provisioning workbench: tabs New / Existing / Deleted, a checkbox and an action per
//! row, and one Save that applies every selected row's action in one transaction
//! (`service::admin::workbench`).
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::pages::{self, Layout, Problem, Problems, when};
use super::sign_ins::attempt_href;
use super::users::{LastView, Tab};
use super::{ConsoleAdmin, ConsoleError, db, see_other};
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin::invalid;
use crate::service::admin::roles::list_rules;
use crate::service::admin::users::connection_choices;
use crate::service::admin::workbench::{
    self, ActionKind, ApplyRequest, StagedAction, WorkbenchPage, WorkbenchQuery, WorkbenchRow,
    WorkbenchView,
};

const PAGE_SIZE: i64 = 50;

fn label(view: WorkbenchView) -> &'static str {
    match view {
        WorkbenchView::New => "New",
        WorkbenchView::Existing => "Existing",
        WorkbenchView::Deleted => "Deleted",
    }
}

fn action_label(a: ActionKind) -> &'static str {
    match a {
        ActionKind::Create => "Create user",
        ActionKind::Link => "Link to user",
        ActionKind::Unlink => "Unlink identities",
        ActionKind::Deactivate => "Deactivate",
        ActionKind::Roles => "Set roles",
    }
}

pub struct Row {
    /// The row's key: the checkbox's value and the suffix of its fields' names.
    pub key: String,
    pub person: String,
    pub user_href: Option<String>,
    pub identity: String,
    /// `refused`, `scim` or `user`.
    pub kind: &'static str,
    pub reason: String,
    pub detail: String,
    pub status: String,
    pub attempts: String,
    pub last_try: String,
    pub attempt_href: Option<String>,
    pub last: Option<LastView>,
    pub conflicts_with: String,
    pub conflicts_href: Option<String>,
    pub actions: Vec<(&'static str, &'static str)>,
    /// Linking a user row names the identity (connection and subject).
    pub needs_identity: bool,
    /// Linking a refused row names the user.
    pub needs_user: bool,
    /// Every role, comma-separated (users).
    pub roles: String,
    /// The roles a Save may set by hand (create, link, roles), each with whether its box is
    /// ticked: the user's hand-set roles, or what the refused Save had staged.
    pub role_choices: Vec<(String, bool)>,
    /// What the refused Save had staged on this row, shown again.
    pub staged: Staged,
}

/// One row's fields as the form sent them.
#[derive(Debug, Default)]
pub struct Staged {
    pub selected: bool,
    pub action: String,
    pub user: String,
    pub connection: String,
    pub subject: String,
    pub replace: bool,
    pub roles: Vec<String>,
}

impl Staged {
    fn of(fields: &[(String, String)], key: &str) -> Self {
        let value = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n.strip_prefix(name).and_then(|r| r.strip_prefix(':')) == Some(key))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        Staged {
            selected: fields.iter().any(|(n, v)| n == "select" && v == key),
            action: value("action"),
            user: value("user"),
            connection: value("connection"),
            subject: value("subject"),
            replace: !value("replace").is_empty(),
            roles: fields
                .iter()
                .filter(|(n, _)| n.strip_prefix("role:") == Some(key))
                .map(|(_, v)| v.trim().to_owned())
                .collect(),
        }
    }

    pub fn is(&self, action: &str) -> bool {
        self.action == action
    }

    pub fn on(&self, connection: &str) -> bool {
        self.connection == connection
    }
}

#[derive(Template)]
#[template(path = "admin/workbench.html")]
pub struct WorkbenchPageView {
    pub layout: Layout,
    pub tabs: Vec<Tab>,
    pub view: &'static str,
    pub rows: Vec<Row>,
    pub connections: Vec<String>,
    pub first_href: Option<String>,
    pub next_href: Option<String>,
    pub problem: Problems,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WorkbenchParams {
    view: String,
    after: String,
    done: String,
}

fn href(slug: &str, view: &str, after: Option<&str>) -> String {
    format!(
        "/admin/t/{slug}/workbench?{}",
        pages::query(&[("view", view), ("after", after.unwrap_or(""))])
    )
}

/// The role boxes of a row: "provision as employee and/or manager", the roles the tenant's
/// rules give, and whatever the user holds by hand, once each, in that order.
fn role_choices(r: &WorkbenchRow, tenant_roles: &[String], staged: &Staged) -> Vec<(String, bool)> {
    let mut names: Vec<String> = ["employee", "manager"].map(String::from).to_vec();
    for n in tenant_roles.iter().chain(&r.manual_roles) {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    names
        .into_iter()
        .map(|n| {
            let on = if staged.selected {
                staged.roles.contains(&n)
            } else {
                r.manual_roles.contains(&n)
            };
            (n, on)
        })
        .collect()
}

fn row(slug: &str, r: &WorkbenchRow, tenant_roles: &[String], form: &[(String, String)]) -> Row {
    let user = r.user.as_ref();
    let staged = Staged::of(form, &r.key);
    let sets_roles = r
        .actions
        .iter()
        .any(|a| matches!(a, ActionKind::Create | ActionKind::Link | ActionKind::Roles));
    let identity = if r.subject.is_some() {
        r.identity_label()
    } else {
        r.identities
            .iter()
            .map(|i| format!("{} / {}", i.connection, i.subject))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Row {
        key: r.key.clone(),
        person: user.map_or_else(
            || {
                r.email
                    .clone()
                    .unwrap_or_else(|| "(no email asserted)".into())
            },
            |u| {
                let name = u.full_name();
                if name.is_empty() {
                    u.email.clone()
                } else {
                    format!("{name} <{}>", u.email)
                }
            },
        ),
        user_href: user.map(|u| format!("/admin/t/{slug}/users/{}", u.id)),
        identity,
        kind: match r.kind {
            workbench::RowKind::Refused => "refused",
            workbench::RowKind::Scim => "scim",
            workbench::RowKind::User => "user",
        },
        reason: r.reason.clone().unwrap_or_default(),
        detail: r.detail.clone().unwrap_or_default(),
        status: user
            .map(|u| u.shown_status().to_owned())
            .unwrap_or_default(),
        attempts: r.attempts.map(|n| n.to_string()).unwrap_or_default(),
        last_try: r.last_try.map(when).unwrap_or_default(),
        attempt_href: r.attempt_id.map(|id| attempt_href(slug, id)),
        last: r.last_sign_in.as_ref().map(|l| LastView::of(slug, l)),
        conflicts_with: r.conflicts_with.map(|u| u.to_string()).unwrap_or_default(),
        conflicts_href: r
            .conflicts_with
            .map(|u| format!("/admin/t/{slug}/users/{u}")),
        actions: r
            .actions
            .iter()
            .map(|a| (a.as_str(), action_label(*a)))
            .collect(),
        needs_identity: user.is_some() && r.actions.contains(&ActionKind::Link),
        needs_user: user.is_none(),
        roles: r.roles.join(", "),
        role_choices: if sets_roles {
            role_choices(r, tenant_roles, &staged)
        } else {
            Vec::new()
        },
        staged,
    }
}

fn page(
    admin: &ConsoleAdmin,
    t: &Tenant,
    (view, listed): (WorkbenchView, WorkbenchPage),
    (connections, tenant_roles): (Vec<String>, Vec<String>),
    after: bool,
    (problem, done, form): (Problems, &str, &[(String, String)]),
) -> Result<HttpResponse, ConsoleError> {
    let slug = t.slug.as_str();
    let p = WorkbenchPageView {
        layout: Layout::new(admin, Some(t), "workbench").done(done),
        tabs: WorkbenchView::ALL
            .into_iter()
            .map(|v| Tab {
                label: label(v),
                count: listed.counts.of(v),
                href: href(slug, v.as_str(), None),
                current: v == view,
            })
            .collect(),
        view: view.as_str(),
        rows: listed
            .rows
            .iter()
            .map(|r| row(slug, r, &tenant_roles, form))
            .collect(),
        connections,
        first_href: after.then(|| href(slug, view.as_str(), None)),
        next_href: listed
            .next_after
            .as_deref()
            .map(|n| href(slug, view.as_str(), Some(n))),
        problem,
    };
    pages::render_status(&p, p.problem.status())
}

async fn load(
    state: &AppState,
    t: &Tenant,
    view: WorkbenchView,
    after: Option<String>,
) -> Result<(WorkbenchPage, (Vec<String>, Vec<String>)), ConsoleError> {
    let tenant = t.clone();
    db(state, move |c| {
        let q = WorkbenchQuery {
            view,
            limit: PAGE_SIZE,
            after,
        };
        let listed = workbench::list(c, &tenant, &q)?;
        let connections = connection_choices(c, &tenant)?
            .into_iter()
            .filter(|c| !c.removed)
            .map(|c| c.slug)
            .collect();
        let mut roles: Vec<String> = list_rules(c, &tenant)?
            .into_iter()
            .map(|r| r.role)
            .collect();
        roles.sort();
        roles.dedup();
        Ok((listed, (connections, roles)))
    })
    .await
}

fn parse_view(raw: &str) -> Result<WorkbenchView, ConsoleError> {
    match raw {
        "" => Ok(WorkbenchView::New),
        v => {
            WorkbenchView::parse(v).ok_or_else(|| invalid("view", "choose one of the tabs").into())
        }
    }
}

#[get("/admin/t/{tenant}/workbench")]
pub async fn show(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    query: web::Query<WorkbenchParams>,
) -> Result<HttpResponse, ConsoleError> {
    let t = admin.tenant(&state, path.into_inner()).await?;
    let q = query.into_inner();
    let view = parse_view(&q.view)?;
    let after = Some(q.after.trim().to_owned()).filter(|a| !a.is_empty());
    let has_after = after.is_some();
    let (listed, connections) = load(&state, &t, view, after).await?;
    page(
        &admin,
        &t,
        (view, listed),
        connections,
        has_after,
        (Problems::none(), &q.done, &[]),
    )
}

/// The form's fields: `csrf`, `view`, `select` (a row key, once per checked row), and per row
/// `action:<key>`, `user:<key>`, `connection:<key>`, `subject:<key>`, `replace:<key>`, and
/// `role:<key>` once per ticked role (for `roles` no box means no hand-set role; for
/// `create` and `link` it leaves them as they are).
fn staged(fields: &[(String, String)]) -> Result<Vec<StagedAction>, ConsoleError> {
    let mut out = Vec::new();
    for (_, key) in fields.iter().filter(|(n, _)| n == "select") {
        let s = Staged::of(fields, key);
        let action = match s.action.as_str() {
            "" => None,
            a => Some(ActionKind::parse(a).ok_or_else(|| {
                invalid(
                    "actions",
                    format!("row {key}: choose an action from the list"),
                )
            })?),
        };
        let user = match s.user.as_str() {
            "" => None,
            u => Some(u.parse::<i64>().map_err(|_| {
                invalid(
                    "actions",
                    format!("row {key}: the user is a user ID (a number)"),
                )
            })?),
        };
        let linking = action == Some(ActionKind::Link);
        let roles = match action {
            Some(ActionKind::Roles) => Some(s.roles.clone()),
            Some(ActionKind::Create | ActionKind::Link) => {
                Some(s.roles.clone()).filter(|r| !r.is_empty())
            }
            _ => None,
        };
        let given = |v: String| Some(v).filter(|v| linking && !v.is_empty());
        out.push(StagedAction {
            row: key.clone(),
            action,
            user: user.filter(|_| linking),
            connection: given(s.connection),
            subject: given(s.subject),
            identity: None,
            replace: linking && s.replace,
            roles,
        });
    }
    Ok(out)
}

#[post("/admin/t/{tenant}/workbench")]
pub async fn save(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let fields = form.into_inner();
    let field = |n: &str| {
        fields
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    admin.check_csrf(&field("csrf"))?;
    let t = admin.tenant(&state, path.into_inner()).await?;
    let view = parse_view(&field("view"))?;
    let (tenant, actor, now) = (t.clone(), admin.principal.audit.clone(), state.clock.unix());
    let applied = match staged(&fields) {
        Ok(actions) => {
            db(&state, move |c| {
                workbench::apply(c, &tenant, &ApplyRequest { actions }, &actor, now)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match applied {
        Ok(_) => Ok(see_other(&format!(
            "/admin/t/{}/workbench?view={}&done=workbench-saved",
            t.slug,
            view.as_str()
        ))),
        Err(e) => {
            let problem = Problems(Some(Problem::of("save", e)?));
            let (listed, connections) = load(&state, &t, view, None).await?;
            page(
                &admin,
                &t,
                (view, listed),
                connections,
                false,
                (problem, "", &fields),
            )
        }
    }
}
