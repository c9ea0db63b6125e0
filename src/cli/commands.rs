use std::sync::Arc;

use anyhow::{Context, bail};

use super::args::*;
use super::output::{self, emit, json, opt, table, when};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::domain::claims::{DEFAULT_EMAIL, DEFAULT_FIRST_NAME, DEFAULT_LAST_NAME, default_list};
use crate::protocol::saml::SpEndpoints;
use crate::protocol::saml::idp_metadata::{self, parse_idp_metadata};
use crate::service::admin::{self, SamlConnectionInput, TenantInput};
use crate::service::stale;
use crate::startup::{Application, open_database};
use crate::storage::{DbConnection, connections};

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
        app.run_until_stopped().await?;
        Ok(())
    })
}

/// An optional setting from `--x VALUE` / `--clear-x`: None keeps it, Some(None) clears it.
fn set_or_clear(value: Option<String>, clear: bool) -> Option<Option<String>> {
    if clear { Some(None) } else { value.map(Some) }
}

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
        scim_iwms_attribute: set_or_clear(f.scim_iwms_attribute, clear_scim_iwms),
        display_name: f.name,
        auto_create_users: f.auto_create_users.map(bool::from),
        iwms_attribute: set_or_clear(f.iwms_attribute, clear_iwms),
        stale_after_days: f.stale_after_days,
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
    emit(&format!("stale after (days):     {}", v.stale_after_days));
    emit(&format!(
        "allowed return origins: {}",
        v.allowed_return_origins.join(", ")
    ));
    emit(&format!("domains:                {}", v.domains.join(", ")));
    emit(&format!(
        "connections:            {}",
        v.connections.join(", ")
    ));
    if v.auto_create_users && v.domains.is_empty() {
        emit(
            "warning: auto-create is on and no email domain is whitelisted: anyone your IdP signs in gets an account",
        );
    }
    Ok(())
}

fn outbox_command(conn: &mut DbConnection, cmd: OutboxCmd, now: i64) -> anyhow::Result<()> {
    use crate::storage::outbox;
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
                OutboxStatus::Pending => Some("pending"),
                OutboxStatus::Delivered => Some("delivered"),
                OutboxStatus::Dead => Some("dead"),
                OutboxStatus::All => None,
            };
            let rows = outbox::list(conn, t.map(|t| t.id), status, limit.clamp(1, 10_000))?;
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
            let n = outbox::retry(conn, if all_dead { None } else { id }, t.map(|t| t.id), now)?;
            if n == 0 && !all_dead {
                bail!(
                    "event {} is not dead (or does not exist); only dead events are retried",
                    id.unwrap_or_default()
                );
            }
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
    use crate::service::scim::tokens;
    match cmd {
        ScimTokenCmd::Create {
            tenant,
            label,
            json: j,
        } => {
            let label = label.trim();
            if label.is_empty()
                || label.chars().count() > 100
                || label.chars().any(char::is_control)
            {
                bail!("label: must be 1-100 printable characters");
            }
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let created = tokens::create(conn, t.id, label, now)?;
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
            let list = tokens::list(conn, t.id)?;
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
            if !tokens::revoke(conn, t.id, id, now)? {
                bail!("token {id} of tenant `{tenant}` does not exist or is already revoked");
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
        Command::Tenant(TenantCmd::Create {
            slug,
            fields,
            json: j,
        }) => {
            let t = admin::create_tenant(
                conn,
                &slug,
                &tenant_input(fields, false, false, false, false)?,
                now,
            )?;
            print_tenant(&admin::tenant_view(conn, &t)?, j)
        }
        Command::Tenant(TenantCmd::Update {
            slug,
            fields,
            clear_iwms_attribute,
            clear_scim_iwms_attribute,
            clear_allowed_origins,
            clear_iwms,
            json: j,
        }) => {
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
                now,
            )?;
            print_tenant(&admin::tenant_view(conn, &t)?, j)
        }
        Command::Tenant(TenantCmd::List { json: j }) => {
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
        Command::Tenant(TenantCmd::Show { slug, json: j }) => {
            let t = admin::tenant_by_slug(conn, &slug)?;
            print_tenant(&admin::tenant_view(conn, &t)?, j)
        }
        Command::Domain(DomainCmd::Add {
            tenant,
            domain,
            json: j,
        }) => {
            let d = admin::add_domain(conn, &tenant, &domain, now)?;
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
        Command::Domain(DomainCmd::Remove { tenant, domain }) => {
            let d = admin::remove_domain(conn, &tenant, &domain)?;
            emit(&format!("{d} removed from {tenant}"));
            Ok(())
        }
        Command::Domain(DomainCmd::List { tenant, json: j }) => {
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
        Command::Connection(ConnectionCmd::AddSaml(a)) => add_saml(conn, settings, *a, now),
        Command::Connection(ConnectionCmd::AddOidc(a)) => add_oidc(conn, settings, *a, now),
        Command::Connection(ConnectionCmd::UpdateOidc(a)) => update_oidc(conn, settings, *a, now),
        Command::Connection(ConnectionCmd::UpdateSaml(a)) => update_saml(conn, settings, *a, now),
        Command::Connection(ConnectionCmd::List { tenant, json: j }) => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let list = connections::list_active(conn, t.id)?;
            let mut out = Vec::new();
            for c in &list {
                out.push(admin::connection_view(conn, &settings.base_url(), &t, c)?);
            }
            if j {
                return json(&out);
            }
            table(
                &["SLUG", "PROTOCOL", "IDP", "RETURN URL (ACS / REDIRECT URI)"],
                out.iter()
                    .map(|v| {
                        let pick = |a: &str, b: &str| {
                            v[a].as_str().or(v[b].as_str()).unwrap_or("").to_owned()
                        };
                        vec![
                            pick("slug", "slug"),
                            pick("protocol", "protocol"),
                            pick("idp_entity_id", "issuer"),
                            pick("acs_url", "redirect_uri"),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        Command::Connection(ConnectionCmd::Show {
            tenant,
            slug,
            json: j,
        }) => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let c = admin::connection_by_slug(conn, &t, &slug)?;
            let v = admin::connection_view(conn, &settings.base_url(), &t, &c)?;
            if j {
                return json(&v);
            }
            emit(&serde_json::to_string_pretty(&v)?.to_string());
            Ok(())
        }
        Command::Connection(ConnectionCmd::Remove { tenant, slug }) => {
            admin::remove_connection(conn, &tenant, &slug, now)?;
            emit(&format!(
                "connection {slug} removed from {tenant} (history kept; the slug stays reserved)"
            ));
            Ok(())
        }
        Command::User(cmd) => super::users::run(conn, cmd),
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
        Command::ScimToken(cmd) => scim_token(conn, settings, cmd, now),
        Command::Admin(cmd) => super::admin::run(conn, settings, cmd, now),
        Command::Outbox(cmd) => outbox_command(conn, cmd, now),
        Command::Serve | Command::Migrate => unreachable_command(),
    }
}

fn unreachable_command() -> anyhow::Result<()> {
    bail!("internal: serve and migrate are handled before opening an admin connection")
}

fn read_certificates(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for p in paths {
        let bytes = std::fs::read(p)
            .with_context(|| format!("--cert-file {}: cannot read", p.display()))?;
        match openssl::x509::X509::stack_from_pem(&bytes) {
            Ok(stack) if !stack.is_empty() => {
                for c in stack {
                    out.push(c.to_der()?);
                }
            }
            _ => {
                let c = openssl::x509::X509::from_der(&bytes).with_context(|| {
                    format!("--cert-file {}: neither PEM nor DER X.509", p.display())
                })?;
                out.push(c.to_der()?);
            }
        }
    }
    Ok(out)
}

fn fetch_metadata(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url).context("--metadata-url is not a URL")?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("--metadata-url must be http(s)");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()?;
        let res = client
            .get(parsed)
            .send()
            .await
            .context("--metadata-url: request failed")?;
        if !res.status().is_success() {
            bail!("--metadata-url answered HTTP {}", res.status());
        }
        let body = res.bytes().await?;
        if body.len() > 2 * 1024 * 1024 {
            bail!("--metadata-url: metadata over 2 MiB");
        }
        String::from_utf8(body.to_vec()).context("--metadata-url: metadata is not UTF-8")
    })
}

fn or_default(v: Vec<String>, d: &[&str]) -> Vec<String> {
    let v: Vec<String> = v
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if v.is_empty() { default_list(d) } else { v }
}

fn add_saml(
    conn: &mut DbConnection,
    settings: &Settings,
    a: AddSamlArgs,
    now: i64,
) -> anyhow::Result<()> {
    let mut certs = Vec::new();
    let (entity_id, sso_url) = match metadata_from(
        a.metadata_file.as_deref(),
        a.metadata_url.as_deref(),
    )? {
        Some(m) => {
            certs = m.signing_certificates;
            (m.entity_id, m.sso_url)
        }
        None => match a.entity_id.clone() {
            Some(entity) => (entity, a.sso_url.clone().unwrap_or_default()),
            None => bail!(
                "give --metadata-file, --metadata-url, or --entity-id with --sso-url and --cert-file"
            ),
        },
    };
    // With metadata, --cert-file adds certificates (e.g. the next one during a rotation).
    certs.extend(read_certificates(&a.cert_files)?);
    let input = SamlConnectionInput {
        slug: a.slug.clone(),
        display_name: a.name.clone(),
        idp_entity_id: entity_id,
        idp_sso_url: sso_url,
        idp_certificates: certs,
        allowed_algorithms: a.allowed_algorithms.clone(),
        allow_idp_initiated: a.allow_idp_initiated,
        allow_unbound_responses: a.allow_unbound_responses,
        sign_requests: a.sign_requests,
        clock_skew_secs: a.clock_skew_secs,
        attr_email: or_default(a.attr_email, DEFAULT_EMAIL),
        attr_first_name: or_default(a.attr_first_name, DEFAULT_FIRST_NAME),
        attr_last_name: or_default(a.attr_last_name, DEFAULT_LAST_NAME),
        attr_iwms_id: a.attr_iwms_id.clone(),
    };
    let sp_can_sign = settings.saml.sp_private_key_file.is_some();
    let c = admin::add_saml_connection(conn, &a.tenant, &input, sp_can_sign, now)?;
    let (t, _, v) = connection_view(conn, settings, &a.tenant, &c)?;
    if a.json {
        return output::json(&v);
    }
    emit(&format!("SAML connection {} added to {}.", c.slug, t.slug));
    emit("Configure your IdP with:");
    emit(&format!(
        "  ACS URL (single sign-on URL): {}",
        v["acs_url"].as_str().unwrap_or("")
    ));
    emit(&format!(
        "  SP entity ID (audience):      {}",
        v["sp_entity_id"].as_str().unwrap_or("")
    ));
    emit(&format!(
        "  SP metadata:                  {}",
        v["metadata_url"].as_str().unwrap_or("")
    ));
    Ok(())
}

fn metadata_from(
    file: Option<&std::path::Path>,
    url: Option<&str>,
) -> anyhow::Result<Option<idp_metadata::IdpMetadata>> {
    Ok(match (file, url) {
        (Some(path), _) => {
            let xml = std::fs::read_to_string(path)
                .with_context(|| format!("--metadata-file {}: cannot read", path.display()))?;
            Some(
                parse_idp_metadata(&xml)
                    .with_context(|| format!("--metadata-file {}", path.display()))?,
            )
        }
        (None, Some(url)) => {
            Some(parse_idp_metadata(&fetch_metadata(url)?).context("--metadata-url")?)
        }
        (None, None) => None,
    })
}

fn update_saml(
    conn: &mut DbConnection,
    settings: &Settings,
    a: UpdateSamlArgs,
    now: i64,
) -> anyhow::Result<()> {
    let mut patch = admin::SamlConnectionPatch {
        display_name: a.name.clone(),
        idp_entity_id: a.entity_id.clone(),
        idp_sso_url: a.sso_url.clone(),
        allowed_algorithms: a.allowed_algorithms.clone(),
        allow_idp_initiated: a.allow_idp_initiated.map(bool::from),
        allow_unbound_responses: a.allow_unbound_responses.map(bool::from),
        sign_requests: a.sign_requests.map(bool::from),
        clock_skew_secs: a.clock_skew_secs,
        attr_email: a.attr_email.clone(),
        attr_first_name: a.attr_first_name.clone(),
        attr_last_name: a.attr_last_name.clone(),
        attr_iwms_id: set_or_clear(a.attr_iwms_id.clone(), a.clear_attr_iwms_id),
        ..Default::default()
    };
    let mut certs = None;
    if let Some(m) = metadata_from(a.metadata_file.as_deref(), a.metadata_url.as_deref())? {
        patch.idp_entity_id = Some(m.entity_id);
        patch.idp_sso_url = Some(m.sso_url);
        certs = Some(m.signing_certificates);
    }
    if !a.cert_files.is_empty() {
        let mut c = certs.unwrap_or_default();
        c.extend(read_certificates(&a.cert_files)?);
        certs = Some(c);
    }
    if !a.add_cert_files.is_empty() {
        let mut c = match certs {
            Some(c) => c,
            None => {
                let t = admin::tenant_by_slug(conn, &a.tenant)?;
                let existing = admin::connection_by_slug(conn, &t, &a.slug)?;
                connections::saml_settings(conn, t.id, existing.id)?.idp_certificates
            }
        };
        for der in read_certificates(&a.add_cert_files)? {
            if !c.contains(&der) {
                c.push(der);
            }
        }
        certs = Some(c);
    }
    patch.idp_certificates = certs;
    let sp_can_sign = settings.saml.sp_private_key_file.is_some();
    let c = admin::update_saml_connection(conn, &a.tenant, &a.slug, &patch, sp_can_sign, now)?;
    let (t, s, v) = connection_view(conn, settings, &a.tenant, &c)?;
    if a.json {
        return output::json(&v);
    }
    emit(&format!(
        "SAML connection {} of {} updated; {} trusted certificate(s).",
        c.slug,
        t.slug,
        s.idp_certificates.len()
    ));
    Ok(())
}

/// A connection as printed by the CLI, with the SP values to paste into the IdP.
fn connection_view(
    conn: &mut DbConnection,
    settings: &Settings,
    tenant: &str,
    c: &crate::domain::connection::Connection,
) -> anyhow::Result<(
    crate::domain::tenant::Tenant,
    crate::domain::connection::SamlIdpSettings,
    serde_json::Value,
)> {
    let t = admin::tenant_by_slug(conn, tenant)?;
    let s = connections::saml_settings(conn, t.id, c.id)?;
    let sp = SpEndpoints::new(&settings.base_url(), t.slug.as_str(), c.slug.as_str());
    let v = admin::connection_json(c, &s, &sp);
    Ok((t, s, v))
}

fn read_secret(file: Option<&std::path::Path>, env: Option<&str>) -> anyhow::Result<String> {
    let secret = match (file, env) {
        (Some(p), _) => std::fs::read_to_string(p)
            .with_context(|| format!("--client-secret-file {}: cannot read", p.display()))?,
        (None, Some(var)) => std::env::var(var)
            .with_context(|| format!("--client-secret-env: `{var}` is not set"))?,
        (None, None) => bail!("give --client-secret-file or --client-secret-env"),
    };
    Ok(secret.trim().to_owned())
}

fn add_oidc(
    conn: &mut DbConnection,
    settings: &Settings,
    a: AddOidcArgs,
    now: i64,
) -> anyhow::Result<()> {
    use crate::domain::oidc::{
        DEFAULT_EMAIL_CLAIMS, DEFAULT_FIRST_NAME_CLAIMS, DEFAULT_LAST_NAME_CLAIMS,
    };
    use crate::protocol::oidc::client;
    let secret = read_secret(
        a.client_secret_file.as_deref(),
        a.client_secret_env.as_deref(),
    )?;
    let http = client::http_client(
        std::time::Duration::from_secs(settings.oidc.http_timeout_secs),
        settings.oidc.allow_http_loopback,
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (metadata, jwks_json) = rt.block_on(async {
        let m = client::discover(&http, &a.issuer, settings.oidc.allow_http_loopback)
            .await
            .map_err(|e| anyhow::anyhow!("--issuer: {}", e.detail))?;
        let jwks = client::fetch_jwks(&http, &m.jwks_uri)
            .await
            .map_err(|e| anyhow::anyhow!("jwks_uri: {}", e.detail))?;
        Ok::<_, anyhow::Error>((m, jwks))
    })?;
    let input = admin::OidcConnectionInput {
        slug: a.slug.clone(),
        display_name: a.name.clone(),
        issuer: a.issuer.clone(),
        client_id: a.client_id.clone(),
        client_secret: secret,
        client_auth: a.client_auth.clone(),
        scopes: a.scopes.clone(),
        allowed_algorithms: a.allowed_algorithms.clone(),
        allow_hs256: a.allow_hs256,
        use_userinfo: a.userinfo,
        clock_skew_secs: a.clock_skew_secs,
        attr_email: or_default(a.attr_email, DEFAULT_EMAIL_CLAIMS),
        attr_first_name: or_default(a.attr_first_name, DEFAULT_FIRST_NAME_CLAIMS),
        attr_last_name: or_default(a.attr_last_name, DEFAULT_LAST_NAME_CLAIMS),
        attr_iwms_id: a.attr_iwms_id.clone(),
        metadata,
        jwks_json,
    };
    let c = admin::add_oidc_connection(conn, &a.tenant, &input, now)?;
    let t = admin::tenant_by_slug(conn, &a.tenant)?;
    let v = admin::connection_view(conn, &settings.base_url(), &t, &c)?;
    if a.json {
        return output::json(&v);
    }
    emit(&format!(
        "OpenID Connect connection {} added to {}.",
        c.slug, t.slug
    ));
    emit(&format!(
        "Register this redirect URI at the provider: {}",
        v["redirect_uri"].as_str().unwrap_or("")
    ));
    Ok(())
}

fn update_oidc(
    conn: &mut DbConnection,
    settings: &Settings,
    a: UpdateOidcArgs,
    now: i64,
) -> anyhow::Result<()> {
    use crate::protocol::oidc::client;
    let client_secret = match (&a.client_secret_file, &a.client_secret_env) {
        (None, None) => None,
        (file, env) => Some(read_secret(file.as_deref(), env.as_deref())?),
    };
    let rediscovered = if a.rediscover {
        let t = admin::tenant_by_slug(conn, &a.tenant)?;
        let c = admin::connection_by_slug(conn, &t, &a.slug)?;
        let issuer = crate::storage::oidc::settings(conn, t.id, c.id)?.issuer;
        let http = client::http_client(
            std::time::Duration::from_secs(settings.oidc.http_timeout_secs),
            settings.oidc.allow_http_loopback,
        )?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Some(rt.block_on(async {
            let m = client::discover(&http, &issuer, settings.oidc.allow_http_loopback)
                .await
                .map_err(|e| anyhow::anyhow!("--rediscover: {}", e.detail))?;
            let jwks = client::fetch_jwks(&http, &m.jwks_uri)
                .await
                .map_err(|e| anyhow::anyhow!("jwks_uri: {}", e.detail))?;
            Ok::<_, anyhow::Error>((m, jwks))
        })?)
    } else {
        None
    };
    let patch = admin::OidcConnectionPatch {
        display_name: a.name.clone(),
        client_id: a.client_id.clone(),
        client_secret,
        client_auth: a.client_auth.clone(),
        scopes: a.scopes.clone(),
        allowed_algorithms: a.allowed_algorithms.clone(),
        allow_hs256: a.allow_hs256.map(bool::from),
        use_userinfo: a.userinfo.map(bool::from),
        clock_skew_secs: a.clock_skew_secs,
        attr_email: a.attr_email.clone(),
        attr_first_name: a.attr_first_name.clone(),
        attr_last_name: a.attr_last_name.clone(),
        attr_iwms_id: set_or_clear(a.attr_iwms_id.clone(), a.clear_attr_iwms_id),
        rediscovered,
    };
    let c = admin::update_oidc_connection(conn, &a.tenant, &a.slug, &patch, now)?;
    let t = admin::tenant_by_slug(conn, &a.tenant)?;
    let v = admin::connection_view(conn, &settings.base_url(), &t, &c)?;
    if a.json {
        return output::json(&v);
    }
    emit(&format!(
        "OpenID Connect connection {} of {} updated.",
        c.slug, t.slug
    ));
    Ok(())
}
