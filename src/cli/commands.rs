use std::sync::Arc;

use anyhow::bail;

use super::args::*;
use super::output::{emit, json, opt, table, when};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::service::admin;
use crate::service::stale;
use crate::startup::{Application, open_database};
use crate::storage::DbConnection;

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref(), std::env::vars())?;
    let clock = SystemClock;
    match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            let pool = open_database(&settings)?;
            drop(pool);
            emit("migrations applied");
            Ok(())
        }
        Command::Audit {
            tenant,
            limit,
            before,
            json,
        } => {
            let pool = open_database(&settings)?;
            let mut conn = pool.get()?;
            super::audit::run(&mut conn, tenant.as_deref(), limit, before, json)
        }
        Command::Connection(cmd) => {
            let pool = open_database(&settings)?;
            super::connections::run(&pool, &settings, cmd, clock.unix())
        }
        other => {
            let pool = open_database(&settings)?;
            let mut conn = pool.get()?;
            admin_command(other, &mut conn, &settings, clock.unix())
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    crate::telemetry::init(&settings.log);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let app = Application::build_with_clock(settings, Arc::new(SystemClock)).await?;
        tracing::info!(port = app.port(), "ssogate listening");
        if let Some(port) = app.metrics_port() {
            tracing::info!(port, "metrics listening at /metrics");
        }
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn outbox_command(conn: &mut DbConnection, cmd: OutboxCmd, now: i64) -> anyhow::Result<()> {
    use crate::service::admin::outbox::{self, Retry};
    match cmd {
        OutboxCmd::List {
            tenant,
            status,
            limit,
            json: j,
        } => {
            let t = tenant
                .map(|s| admin::tenant_by_slug(conn, &s))
                .transpose()?;
            let status = match status {
                OutboxStatus::Pending => outbox::OutboxStatus::Pending,
                OutboxStatus::Delivered => outbox::OutboxStatus::Delivered,
                OutboxStatus::Dead => outbox::OutboxStatus::Dead,
                OutboxStatus::All => outbox::OutboxStatus::All,
            };
            let rows = outbox::list(conn, t.as_ref(), status, limit.clamp(1, 10_000))?;
            if j {
                return json(&rows);
            }
            table(
                &[
                    "ID",
                    "TIME",
                    "EVENT",
                    "USER",
                    "STATUS",
                    "ATTEMPTS",
                    "NEXT TRY",
                    "LAST ERROR",
                ],
                rows.iter()
                    .map(|r| {
                        vec![
                            r.id.to_string(),
                            when(Some(r.created_at)),
                            r.event.clone(),
                            r.user_id.to_string(),
                            r.status.clone(),
                            r.attempts.to_string(),
                            if r.status == "pending" {
                                when(Some(r.next_attempt_at))
                            } else {
                                "-".into()
                            },
                            opt(&r.last_error),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        OutboxCmd::Retry {
            id,
            all_dead,
            tenant,
        } => {
            let t = tenant
                .map(|s| admin::tenant_by_slug(conn, &s))
                .transpose()?;
            let which = match (all_dead, id) {
                (false, Some(id)) => Retry::One(id),
                _ => Retry::AllDead,
            };
            let n = match outbox::retry(conn, t.as_ref(), which, &Actor::Cli, now) {
                Err(admin::AdminError::NotFound(_)) => bail!(
                    "event {} is not dead (or does not exist); only dead events are retried",
                    id.unwrap_or_default()
                ),
                other => other?,
            };
            emit(&format!("{n} event(s) queued again"));
            Ok(())
        }
    }
}

fn scim_token(
    conn: &mut DbConnection,
    settings: &Settings,
    cmd: ScimTokenCmd,
    now: i64,
) -> anyhow::Result<()> {
    use crate::service::admin::scim_tokens as tokens;
    match cmd {
        ScimTokenCmd::Create {
            tenant,
            label,
            json: j,
        } => {
            let label = tokens::parse_label(&label)?;
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let created = tokens::create(conn, &t, &label, &Actor::Cli, now)?;
            let base = format!("{}/t/{}/scim/v2", settings.base_url(), t.slug);
            if j {
                return json(&serde_json::json!({
                    "id": created.id, "tenant": t.slug.as_str(), "label": label,
                    "token": created.token, "base_url": base,
                }));
            }
            emit(&format!("token id:  {}", created.id));
            emit(&format!("base URL:  {base}"));
            emit(&format!("token:     {}", created.token));
            emit("The token is shown only this once; paste it into the IdP's SCIM settings now.");
            Ok(())
        }
        ScimTokenCmd::List { tenant, json: j } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let list = tokens::list(conn, &t)?;
            if j {
                return json(&list);
            }
            table(
                &["ID", "LABEL", "CREATED", "LAST USED", "REVOKED"],
                list.iter()
                    .map(|k| {
                        vec![
                            k.id.to_string(),
                            k.label.clone(),
                            crate::clock::rfc3339(k.created_at),
                            k.last_used_at
                                .map(crate::clock::rfc3339)
                                .unwrap_or_else(|| "never".into()),
                            k.revoked_at.map(crate::clock::rfc3339).unwrap_or_default(),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        ScimTokenCmd::Revoke { tenant, id } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            match tokens::revoke(conn, &t, id, &Actor::Cli, now) {
                Err(admin::AdminError::NotFound(_)) => {
                    bail!("token {id} of tenant `{tenant}` does not exist or is already revoked")
                }
                other => other?,
            }
            emit(&format!("token {id} revoked"));
            Ok(())
        }
    }
}

fn admin_command(
    cmd: Command,
    conn: &mut DbConnection,
    settings: &Settings,
    now: i64,
) -> anyhow::Result<()> {
    match cmd {
        Command::User(cmd) => super::users::run(conn, cmd, now),
        Command::Workbench(cmd) => super::workbench::run(conn, cmd, now),
        Command::SignIns {
            tenant,
            limit,
            json: j,
        } => super::users::sign_ins(conn, &tenant, limit, j),
        Command::FlagStale { json: j } => {
            let r = stale::flag_all(conn, now)?;
            if j {
                return json(&r);
            }
            table(
                &["TENANT", "STALE AFTER (DAYS)", "NEWLY FLAGGED"],
                r.iter()
                    .map(|t| {
                        vec![
                            t.tenant.clone(),
                            t.stale_after_days.to_string(),
                            t.flagged.to_string(),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        Command::Tenant(cmd) => super::tenants::tenant(conn, cmd, now),
        Command::Domain(cmd) => super::tenants::domain(conn, cmd, now),
        Command::Role(cmd) => super::roles::run(conn, cmd, now),
        Command::Connection(_) => unreachable_command(),
        Command::ScimToken(cmd) => scim_token(conn, settings, cmd, now),
        Command::Admin(cmd) => super::admin::run(conn, settings, cmd, now),
        Command::Outbox(cmd) => outbox_command(conn, cmd, now),
        Command::Serve | Command::Migrate | Command::Audit { .. } => unreachable_command(),
    }
}

fn unreachable_command() -> anyhow::Result<()> {
    bail!("internal: serve, migrate and connection are handled before opening an admin connection")
}
