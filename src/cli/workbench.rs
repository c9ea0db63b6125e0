//! `ssogate workbench list|apply` and `ssogate user link`: the provisioning workbench
//! (`service::admin::workbench`), audited as `cli`.
use anyhow::{Context, bail};

use super::args::WorkbenchCmd;
use super::output::{emit, json, table, when};
use crate::domain::audit::Actor;
use crate::service::admin::users as admin_users;
use crate::service::admin::workbench::{
    self, ActionKind, ApplyRequest, ApplyResult, StagedAction, WorkbenchQuery, WorkbenchView,
};
use crate::service::admin::{self};
use crate::storage::DbConnection;

/// The largest actions file read (200 actions are far less).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

pub fn run(conn: &mut DbConnection, cmd: WorkbenchCmd, now: i64) -> anyhow::Result<()> {
    match cmd {
        WorkbenchCmd::List {
            tenant,
            view,
            limit,
            after,
            json: j,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let view = WorkbenchView::parse(&view).context("view: new, existing or deleted")?;
            let page = workbench::list(conn, &t, &WorkbenchQuery { view, limit, after })?;
            if j {
                return json(&page);
            }
            table(
                &[
                    "ROW",
                    "EMAIL",
                    "IDENTITY",
                    "REASON/STATUS",
                    "ATTEMPTS",
                    "LAST",
                    "ACTIONS",
                ],
                page.rows
                    .iter()
                    .map(|r| {
                        let identity = if r.subject.is_some() {
                            r.identity_label()
                        } else {
                            r.identities
                                .iter()
                                .map(|i| format!("{} / {}", i.connection, i.subject))
                                .collect::<Vec<_>>()
                                .join(", ")
                        };
                        let status = r.reason.clone().unwrap_or_else(|| {
                            r.user
                                .as_ref()
                                .map(|u| u.shown_status().to_owned())
                                .unwrap_or_default()
                        });
                        let last = r.last_try.or(r.last_sign_in.as_ref().map(|l| l.at));
                        vec![
                            r.key.clone(),
                            r.email.clone().unwrap_or_else(|| "-".into()),
                            if identity.is_empty() {
                                "-".into()
                            } else {
                                identity
                            },
                            status,
                            r.attempts
                                .map(|n| n.to_string())
                                .unwrap_or_else(|| "-".into()),
                            when(last),
                            r.actions
                                .iter()
                                .map(|a| a.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                        ]
                    })
                    .collect(),
            );
            if let Some(next) = page.next_after {
                emit(&format!("more: --after {next}"));
            }
            Ok(())
        }
        WorkbenchCmd::Apply {
            tenant,
            file,
            json: j,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let size = std::fs::metadata(&file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .len();
            if size > MAX_FILE_BYTES {
                bail!("{} is larger than {MAX_FILE_BYTES} bytes", file.display());
            }
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let req: ApplyRequest = serde_json::from_str(&text)
                .with_context(|| format!("{}: expected {{\"actions\": [...]}}", file.display()))?;
            let done = workbench::apply(conn, &t, &req, &Actor::Cli, now)?;
            applied(&done, j)
        }
    }
}

fn applied(done: &ApplyResult, j: bool) -> anyhow::Result<()> {
    if j {
        return json(done);
    }
    for a in &done.applied {
        emit(&format!(
            "{} {}: user {}",
            a.row,
            a.action.as_str(),
            a.user_id
        ));
    }
    emit(&format!("{} action(s) applied", done.applied.len()));
    Ok(())
}

/// `ssogate user link`: one workbench action.
pub fn link(
    conn: &mut DbConnection,
    (tenant, user): (&str, &str),
    attempt: Option<i64>,
    (connection, subject): (Option<String>, Option<String>),
    replace: bool,
    j: bool,
    now: i64,
) -> anyhow::Result<()> {
    let t = admin::tenant_by_slug(conn, tenant)?;
    let id = admin_users::find_user(conn, &t, user)?;
    let action = match attempt {
        Some(a) => StagedAction {
            row: format!("attempt:{a}"),
            action: Some(ActionKind::Link),
            user: Some(id),
            replace,
            ..StagedAction::default()
        },
        None if connection.is_some() => StagedAction {
            row: format!("user:{id}"),
            action: Some(ActionKind::Link),
            connection,
            subject,
            replace,
            ..StagedAction::default()
        },
        None => bail!("name the identity: --attempt ID, or --connection SLUG --subject SUBJECT"),
    };
    let req = ApplyRequest {
        actions: vec![action],
    };
    let done = workbench::apply(conn, &t, &req, &Actor::Cli, now)?;
    applied(&done, j)
}
