//! `ssogate admin ...`: who may use the console and the API.
use anyhow::bail;

use super::args::{AdminCmd, AdminTokenCmd};
use super::output::{emit, json, table, when};
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::service::admin::{self, access};
use crate::storage::DbConnection;

pub fn run(
    conn: &mut DbConnection,
    settings: &Settings,
    cmd: AdminCmd,
    now: i64,
) -> anyhow::Result<()> {
    match cmd {
        AdminCmd::Grant { tenant, email } => {
            if access::grant(conn, &tenant, &email, &Actor::Cli, now)? {
                emit(&format!("{email} is now an admin of `{tenant}`"));
            } else {
                emit(&format!("{email} already was an admin of `{tenant}`"));
            }
            Ok(())
        }
        AdminCmd::Revoke { tenant, email } => {
            access::revoke(conn, &tenant, &email, &Actor::Cli, now)?;
            emit(&format!(
                "{email} is no longer an admin of `{tenant}`; their console sessions ended"
            ));
            Ok(())
        }
        AdminCmd::List { tenant, json: j } => {
            let grants = access::grants(conn, &tenant)?;
            if j {
                return json(&grants);
            }
            table(
                &["EMAIL", "GRANTED BY", "SINCE", "USER"],
                grants
                    .iter()
                    .map(|g| {
                        vec![
                            g.email.clone(),
                            g.granted_by.clone(),
                            when(Some(g.created_at)),
                            // Bound at the first console sign-in that asserted the address.
                            g.user_id
                                .map_or_else(|| "(unclaimed)".to_owned(), |u| u.to_string()),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        AdminCmd::Role {
            tenant,
            connection,
            attribute,
            value,
            clear,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let rule = match (clear, attribute.as_deref(), value.as_deref()) {
                (true, _, _) => None,
                (false, Some(a), Some(v)) => Some((a, v)),
                _ => bail!("give --attribute and --value, or --clear"),
            };
            access::set_admin_role(conn, &t, &connection, rule, &Actor::Cli, now)?;
            match rule {
                Some((a, v)) => emit(&format!(
                    "users signing in through `{connection}` with `{v}` in `{a}` are admins of `{tenant}`"
                )),
                None => emit(&format!("`{connection}` no longer maps an admin role")),
            }
            Ok(())
        }
        AdminCmd::BootstrapLink { json: j } => {
            let ttl = settings.admin.bootstrap_link_ttl_secs;
            let token = access::create_bootstrap_link(conn, now, ttl)?;
            // The token travels in the query string, which the access log never records.
            let link = format!("{}/admin/bootstrap?token={token}", settings.base_url());
            if j {
                return json(&serde_json::json!({ "link": link, "expires_at": now + ttl }));
            }
            emit(&link);
            emit(&format!(
                "Open it within {} minutes; it works once and signs you in as super-admin.",
                ttl / 60
            ));
            Ok(())
        }
        AdminCmd::Token(cmd) => token(conn, cmd, now),
    }
}

fn token(conn: &mut DbConnection, cmd: AdminTokenCmd, now: i64) -> anyhow::Result<()> {
    match cmd {
        AdminTokenCmd::Create {
            tenant,
            all_tenants,
            label,
            expires_in_days,
            no_expiry,
            json: j,
        } => {
            let scope = if all_tenants { None } else { tenant.as_deref() };
            let ttl = (!no_expiry).then_some(expires_in_days);
            let created = access::create_token(conn, scope, &label, ttl, &Actor::Cli, now)?;
            if j {
                return json(&serde_json::json!({
                    "id": created.id, "tenant": scope.unwrap_or("*"), "label": label.trim(),
                    "token": created.token, "expires_at": created.expires_at,
                }));
            }
            emit(&format!("token id: {}", created.id));
            emit(&format!("token:    {}", created.token));
            emit(&format!(
                "expires:  {}",
                created.expires_at.map_or(
                    "never (revoke it when it is no longer needed)".to_owned(),
                    crate::clock::rfc3339
                )
            ));
            emit("The token is shown only this once. Send it as `Authorization: Bearer <token>`.");
            Ok(())
        }
        AdminTokenCmd::List { json: j } => {
            let list = access::tokens(conn)?;
            if j {
                return json(&list);
            }
            table(
                &[
                    "ID",
                    "TENANT",
                    "LABEL",
                    "CREATED",
                    "LAST USED",
                    "EXPIRES",
                    "REVOKED",
                ],
                list.iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.tenant.clone(),
                            t.label.clone(),
                            when(Some(t.created_at)),
                            when(t.last_used_at),
                            t.expires_at
                                .map_or("never".to_owned(), crate::clock::rfc3339),
                            when(t.revoked_at),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        AdminTokenCmd::Revoke { id } => {
            access::revoke_token(conn, id, &Actor::Cli, now)?;
            emit(&format!("admin token {id} revoked"));
            Ok(())
        }
    }
}
