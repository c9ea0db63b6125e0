//! `ssogate audit`: who changed what, newest first.
use super::output::{emit, json, table, when};
use crate::service::admin::audit::{self, AuditQuery};
use crate::service::admin::tenant_by_slug;
use crate::storage::DbConnection;

pub fn run(
    conn: &mut DbConnection,
    tenant: Option<&str>,
    limit: i64,
    before: Option<i64>,
    as_json: bool,
) -> anyhow::Result<()> {
    let tenant = tenant.map(|t| tenant_by_slug(conn, t)).transpose()?;
    let page = audit::list(conn, tenant.as_ref(), &AuditQuery { limit, before })?;
    if as_json {
        return json(&page);
    }
    table(
        &["ID", "AT", "TENANT", "BY", "ACTION", "TARGET"],
        page.items
            .iter()
            .map(|e| {
                vec![
                    e.id.to_string(),
                    when(Some(e.at)),
                    e.tenant.clone().unwrap_or_else(|| "-".into()),
                    format!("{} {}", e.actor.kind, e.actor.name),
                    e.action.clone(),
                    e.target.clone(),
                ]
            })
            .collect(),
    );
    if let Some(next) = page.next_before {
        emit(&format!("more: --before {next}"));
    }
    Ok(())
}
