//! The audit trail in the console: a tenant's admin changes (its admins), and every tenant's
//! (super-admins), newest first in keyset pages, each with the fields it changed.
use actix_web::{HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::pages::{self, Layout, when};
use super::{ConsoleAdmin, ConsoleError, db};
use crate::domain::tenant::Tenant;
use crate::http::AppState;
use crate::service::admin::audit::{self, AuditItem, AuditQuery};

const PAGE_SIZE: i64 = 50;
/// A changed value longer than this is cut for the table (the API has it whole).
const SHOWN_CHARS: usize = 120;

pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub tenant: String,
    pub by: String,
    pub action: String,
    pub target: String,
    /// "field: before → after" for each top-level field that differs.
    pub changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPageView {
    pub layout: Layout,
    pub all_tenants: bool,
    pub rows: Vec<AuditRow>,
    pub next_href: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Params {
    before: Option<i64>,
}

fn shown(v: Option<&Value>) -> String {
    let text = match v {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if text.chars().count() > SHOWN_CHARS {
        text.chars().take(SHOWN_CHARS).chain(['…']).collect()
    } else {
        text
    }
}

/// The top-level fields whose values differ between the two snapshots.
fn changes(before: Option<&Value>, after: Option<&Value>) -> Vec<String> {
    let empty = serde_json::Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .map(|k| format!("{k}: {} → {}", shown(b.get(k)), shown(a.get(k))))
        .collect()
}

fn row(e: AuditItem) -> AuditRow {
    AuditRow {
        changes: changes(e.before.as_ref(), e.after.as_ref()),
        id: e.id,
        at: when(e.at),
        tenant: e.tenant.unwrap_or_else(|| "—".into()),
        by: format!("{} ({})", e.actor.name, e.actor.kind),
        action: e.action,
        target: e.target,
    }
}

async fn render(
    state: &AppState,
    admin: &ConsoleAdmin,
    tenant: Option<Tenant>,
    before: Option<i64>,
    base: String,
) -> Result<HttpResponse, ConsoleError> {
    let scope = tenant.clone();
    let page = db(state, move |c| {
        audit::list(
            c,
            scope.as_ref(),
            &AuditQuery {
                limit: PAGE_SIZE,
                before,
            },
        )
    })
    .await?;
    let view = AuditPageView {
        layout: Layout::new(admin, tenant.as_ref(), "audit"),
        all_tenants: tenant.is_none(),
        next_href: page.next_before.map(|b| format!("{base}?before={b}")),
        rows: page.items.into_iter().map(row).collect(),
    };
    pages::render(&view)
}

#[get("/admin/t/{tenant}/audit")]
pub async fn for_tenant(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    path: web::Path<String>,
    q: web::Query<Params>,
) -> Result<HttpResponse, ConsoleError> {
    let t = admin.tenant(&state, path.into_inner()).await?;
    let base = format!("/admin/t/{}/audit", t.slug);
    render(&state, &admin, Some(t), q.before, base).await
}

#[get("/admin/audit")]
pub async fn everywhere(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    q: web::Query<Params>,
) -> Result<HttpResponse, ConsoleError> {
    if !admin.principal.is_super() {
        return Err(ConsoleError::Forbidden(
            "Only a super-admin sees every tenant's audit trail.".into(),
        ));
    }
    render(&state, &admin, None, q.before, "/admin/audit".into()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_listed() {
        let b = serde_json::json!({"a": 1, "b": "x", "gone": true});
        let a = serde_json::json!({"a": 1, "b": "y", "new": [1]});
        assert_eq!(
            changes(Some(&b), Some(&a)),
            vec!["b: x → y", "gone: true → —", "new: — → [1]"]
        );
        assert_eq!(
            changes(None, Some(&serde_json::json!({"k": 2}))),
            vec!["k: — → 2"]
        );
    }
}
