//! `tenant` and `domain`: flags into `service::admin` commands, views into text or JSON.
use anyhow::{Context, bail};

use super::args::*;
use super::flags::set_or_clear;
use super::output::{emit, json, opt, table};
use crate::domain::audit::Actor;
use crate::service::admin::{self, TenantInput};
use crate::storage::DbConnection;

/// `file:<absolute path>` or `env:NAME`; the file must be readable and not empty now.
fn iwms_secret(f: &TenantFieldArgs) -> anyhow::Result<Option<String>> {
    if let Some(p) = &f.iwms_secret_file {
        let abs = std::fs::canonicalize(p)
            .with_context(|| format!("iwms_secret: cannot read {}", p.display()))?;
        let content = std::fs::read_to_string(&abs)
            .with_context(|| format!("iwms_secret: cannot read {}", abs.display()))?;
        if content.trim().len() < 16 {
            bail!(
                "iwms_secret: {} must hold at least 16 characters",
                abs.display()
            );
        }
        return Ok(Some(format!("file:{}", abs.display())));
    }
    Ok(f.iwms_secret_env.as_ref().map(|v| format!("env:{v}")))
}

fn tenant_input(
    f: TenantFieldArgs,
    clear_iwms: bool,
    clear_scim_iwms: bool,
    clear_origins: bool,
    clear_feed: bool,
) -> anyhow::Result<TenantInput> {
    let secret = iwms_secret(&f)?;
    Ok(TenantInput {
        auto_create_iwms: if clear_feed {
            Some(false)
        } else {
            f.auto_create_iwms.map(bool::from)
        },
        iwms_endpoint: if clear_feed {
            Some(None)
        } else {
            f.iwms_endpoint.clone().map(Some)
        },
        iwms_secret: if clear_feed {
            Some(None)
        } else {
            secret.map(Some)
        },
        iwms_events: f.iwms_events.clone(),
        iwms_join_key: f.iwms_join_key.clone().map(Some),
        scim_iwms_attribute: set_or_clear(f.scim_iwms_attribute, clear_scim_iwms),
        display_name: f.name,
        auto_create_users: f.auto_create_users.map(bool::from),
        iwms_attribute: set_or_clear(f.iwms_attribute, clear_iwms),
        stale_after_days: f.stale_after_days,
        forward_attributes: f.forward_attributes.map(|l| vec![l]),
        allowed_return_origins: if clear_origins {
            Some(Vec::new())
        } else if f.allowed_origins.is_empty() {
            None
        } else {
            Some(f.allowed_origins)
        },
    })
}

fn print_tenant(v: &admin::TenantView, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(v);
    }
    emit(&format!("slug:                   {}", v.slug));
    emit(&format!("display name:           {}", v.display_name));
    emit(&format!(
        "auto-create users:      {}",
        if v.auto_create_users { "on" } else { "off" }
    ));
    emit(&format!(
        "IWMS ID attribute:      {}",
        opt(&v.iwms_attribute)
    ));
    emit(&format!(
        "SCIM IWMS ID attribute: {}",
        opt(&v.scim_iwms_attribute)
    ));
    emit(&format!(
        "IWMS endpoint:          {}",
        opt(&v.iwms_endpoint)
    ));
    emit(&format!("IWMS secret from:       {}", opt(&v.iwms_secret)));
    emit(&format!(
        "IWMS events:            {}",
        v.iwms_events.join(", ")
    ));
    emit(&format!(
        "auto-create IWMS:       {}",
        if v.auto_create_iwms { "on" } else { "off" }
    ));
    emit(&format!(
        "IWMS join key:          {}",
        v.iwms_join_key.unwrap_or("none")
    ));
    emit(&format!("stale after (days):     {}", v.stale_after_days));
    emit(&format!(
        "allowed return origins: {}",
        v.allowed_return_origins.join(", ")
    ));
    emit(&format!(
        "forwarded attributes:   {}",
        v.forward_attributes.join(", ")
    ));
    emit(&format!("domains:                {}", v.domains.join(", ")));
    emit(&format!(
        "connections:            {}",
        v.connections.join(", ")
    ));
    if v.open_enrolment() {
        emit(
            "warning: auto-create is on and no email domain is whitelisted: anyone your IdP signs in gets an account",
        );
    }
    Ok(())
}

pub(super) fn tenant(conn: &mut DbConnection, cmd: TenantCmd, now: i64) -> anyhow::Result<()> {
    match cmd {
        TenantCmd::Create {
            slug,
            fields,
            json: j,
        } => {
            let t = admin::create_tenant(
                conn,
                &slug,
                &tenant_input(fields, false, false, false, false)?,
                &Actor::Cli,
                now,
            )?;
            print_tenant(&admin::tenant_view(conn, &t)?, j)
        }
        TenantCmd::Update {
            slug,
            fields,
            clear_iwms_attribute,
            clear_scim_iwms_attribute,
            clear_allowed_origins,
            clear_iwms,
            json: j,
        } => {
            let t = admin::update_tenant(
                conn,
                &slug,
                &tenant_input(
                    fields,
                    clear_iwms_attribute,
                    clear_scim_iwms_attribute,
                    clear_allowed_origins,
                    clear_iwms,
                )?,
                &Actor::Cli,
                now,
            )?;
            print_tenant(&admin::tenant_view(conn, &t)?, j)
        }
        TenantCmd::List { json: j } => {
            let all = admin::list_tenants(conn)?;
            if j {
                return json(&all);
            }
            table(
                &["SLUG", "NAME", "AUTO-CREATE", "DOMAINS", "CONNECTIONS"],
                all.iter()
                    .map(|t| {
                        vec![
                            t.slug.clone(),
                            t.display_name.clone(),
                            (if t.auto_create_users { "on" } else { "off" }).into(),
                            t.domains.join(","),
                            t.connections.join(","),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        TenantCmd::Show { slug, json: j } => {
            let t = admin::tenant_by_slug(conn, &slug)?;
            print_tenant(&admin::tenant_view(conn, &t)?, j)
        }
    }
}

pub(super) fn domain(conn: &mut DbConnection, cmd: DomainCmd, now: i64) -> anyhow::Result<()> {
    match cmd {
        DomainCmd::Add {
            tenant,
            domain,
            json: j,
        } => {
            let d = admin::add_domain(conn, &tenant, &domain, &Actor::Cli, now)?;
            if j {
                json(&admin::DomainView {
                    tenant,
                    domain: d.to_string(),
                })
            } else {
                emit(&format!("{d} whitelisted for {tenant}"));
                Ok(())
            }
        }
        DomainCmd::Remove { tenant, domain } => {
            let d = admin::remove_domain(conn, &tenant, &domain, &Actor::Cli, now)?;
            emit(&format!("{d} removed from {tenant}"));
            Ok(())
        }
        DomainCmd::List { tenant, json: j } => {
            let all = admin::list_domains(conn, tenant.as_deref())?;
            if j {
                return json(&all);
            }
            table(
                &["TENANT", "DOMAIN"],
                all.into_iter().map(|d| vec![d.tenant, d.domain]).collect(),
            );
            Ok(())
        }
    }
}
