//! `connection`: flags and files into `service::admin::connections` commands, its
//! `ConnectionView` into text or the CLI's JSON. Metadata URLs and OpenID discovery are read by
//! the server's own fetcher, under the same address policy as the admin API.
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::args::*;
use super::flags::set_or_clear;
use super::output::{self, emit, table};
use crate::config::Settings;
use crate::domain::audit::Actor;
use crate::domain::connection::Protocol;
use crate::protocol::saml::certificate;
use crate::service::admin::connections::{
    self as conns, CertificateView, ConnectionPatch, ConnectionView, NewOidc, NewSaml, OidcPatch,
    ProtocolName, SamlPatch,
};
use crate::service::admin::metadata::{self, Fetcher};
use crate::service::admin::{self, AdminError};
use crate::storage::DbPool;

pub(super) fn run(
    pool: &DbPool,
    settings: &Settings,
    cmd: ConnectionCmd,
    now: i64,
) -> anyhow::Result<()> {
    let base = settings.base_url();
    match cmd {
        ConnectionCmd::AddSaml(a) => add_saml(pool, settings, *a, now),
        ConnectionCmd::AddOidc(a) => add_oidc(pool, settings, *a, now),
        ConnectionCmd::UpdateOidc(a) => update_oidc(pool, settings, *a, now),
        ConnectionCmd::UpdateSaml(a) => update_saml(pool, settings, *a, now),
        ConnectionCmd::List { tenant, json: j } => {
            let mut conn = pool.get()?;
            let t = admin::tenant_by_slug(&mut conn, &tenant)?;
            let out: Vec<Value> = conns::connection_views(&mut conn, &base, &t, now)?
                .iter()
                .map(cli_json)
                .collect();
            if j {
                return output::json(&out);
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
        ConnectionCmd::Show {
            tenant,
            slug,
            json: j,
        } => {
            let mut conn = pool.get()?;
            let t = admin::tenant_by_slug(&mut conn, &tenant)?;
            let v = conns::show_connection(&mut conn, &base, &t, &slug, now)?;
            if j {
                return output::json(&cli_json(&v));
            }
            print_connection(&v, now);
            Ok(())
        }
        ConnectionCmd::Remove { tenant, slug } => {
            admin::remove_connection(&mut *pool.get()?, &tenant, &slug, &Actor::Cli, now)?;
            emit(&format!(
                "connection {slug} removed from {tenant} (history kept; the slug stays reserved)"
            ));
            Ok(())
        }
    }
}

/// The CLI's JSON for a connection (its own shape, older than the API's).
fn cli_json(v: &ConnectionView) -> Value {
    let m = &v.attribute_mapping;
    let mapping = json!({
        "email": m.email, "first_name": m.first_name, "last_name": m.last_name, "iwms_id": m.iwms_id,
    });
    let setup = &v.idp_setup;
    match (&v.saml, &v.oidc) {
        (Some(s), _) => json!({
            "slug": v.slug,
            "display_name": v.display_name,
            "protocol": v.protocol,
            "idp_entity_id": s.idp_entity_id,
            "idp_sso_url": s.idp_sso_url,
            "idp_certificates": s.idp_certificates.iter().map(cert_json).collect::<Vec<_>>(),
            "allowed_algorithms": s.allowed_algorithms,
            "allow_idp_initiated": s.allow_idp_initiated,
            "allow_unbound_responses": s.allow_unbound_responses,
            "sign_requests": s.sign_requests,
            "clock_skew_secs": s.clock_skew_secs,
            "attribute_mapping": mapping,
            "sp_entity_id": setup.sp_entity_id,
            "acs_url": setup.acs_url,
            "metadata_url": setup.sp_metadata_url,
        }),
        (None, Some(s)) => json!({
            "slug": v.slug,
            "display_name": v.display_name,
            "protocol": v.protocol,
            "issuer": s.issuer,
            "client_id": s.client_id,
            "client_auth": s.client_auth,
            "scopes": s.scopes,
            "allowed_algorithms": s.allowed_algorithms,
            "use_userinfo": s.use_userinfo,
            "clock_skew_secs": s.clock_skew_secs,
            "endpoints": {
                "issuer": s.issuer,
                "authorization_endpoint": s.authorization_endpoint,
                "token_endpoint": s.token_endpoint,
                "jwks_uri": s.jwks_uri,
                "userinfo_endpoint": s.userinfo_endpoint,
            },
            "attribute_mapping": mapping,
            "redirect_uri": setup.redirect_uri,
        }),
        (None, None) => json!({ "slug": v.slug }),
    }
}

/// `connection show` for people: the settings, then the values to enter at the IdP.
fn print_connection(v: &ConnectionView, now: i64) {
    let list = |l: &[String]| {
        if l.is_empty() {
            "-".to_owned()
        } else {
            l.join(", ")
        }
    };
    let yes = |b: bool| if b { "yes" } else { "no" };
    let mut rows: Vec<(&str, String)> = vec![
        ("slug", v.slug.clone()),
        ("display name", v.display_name.clone()),
        (
            "protocol",
            match v.protocol {
                ProtocolName::Saml => "SAML",
                ProtocolName::Oidc => "OpenID Connect",
            }
            .to_owned(),
        ),
    ];
    if let Some(s) = &v.saml {
        rows.extend([
            ("IdP entity ID", s.idp_entity_id.clone()),
            ("IdP SSO URL", s.idp_sso_url.clone()),
            ("algorithms", list(&s.allowed_algorithms)),
            ("IdP-initiated", yes(s.allow_idp_initiated).to_owned()),
            (
                "unbound responses",
                yes(s.allow_unbound_responses).to_owned(),
            ),
            ("signs requests", yes(s.sign_requests).to_owned()),
            ("clock skew (s)", s.clock_skew_secs.to_string()),
        ]);
    }
    if let Some(o) = &v.oidc {
        rows.extend([
            ("issuer", o.issuer.clone()),
            ("client ID", o.client_id.clone()),
            ("client auth", o.client_auth.clone()),
            ("scopes", list(&o.scopes)),
            ("algorithms", list(&o.allowed_algorithms)),
            ("userinfo", yes(o.use_userinfo).to_owned()),
            ("clock skew (s)", o.clock_skew_secs.to_string()),
            ("authorization endpoint", o.authorization_endpoint.clone()),
            ("token endpoint", o.token_endpoint.clone()),
            ("JWKS URI", o.jwks_uri.clone()),
            ("userinfo endpoint", output::opt(&o.userinfo_endpoint)),
            ("keys read", output::when(Some(o.jwks_fetched_at))),
        ]);
    }
    let m = &v.attribute_mapping;
    rows.extend([
        ("email from", list(&m.email)),
        ("first name from", list(&m.first_name)),
        ("last name from", list(&m.last_name)),
        (
            "IWMS ID from",
            m.iwms_id
                .clone()
                .unwrap_or_else(|| "(the tenant's IWMS attribute)".into()),
        ),
        (
            "admin role",
            v.admin_role
                .as_ref()
                .map(|r| format!("{} = {}", r.attribute, r.value))
                .unwrap_or_else(|| "-".into()),
        ),
    ]);
    let setup = &v.idp_setup;
    for (label, value) in [
        ("ACS URL", &setup.acs_url),
        ("SP entity ID", &setup.sp_entity_id),
        ("SP metadata URL", &setup.sp_metadata_url),
        ("redirect URI", &setup.redirect_uri),
    ] {
        if let Some(value) = value {
            rows.push((label, value.clone()));
        }
    }
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 1;
    for (label, value) in rows {
        emit(&format!("{:<width$} {value}", format!("{label}:")));
    }
    if let Some(s) = &v.saml {
        emit("");
        table(
            &["CERTIFICATE", "EXPIRES", "STATE", "SHA-256"],
            s.idp_certificates
                .iter()
                .map(|c| {
                    vec![
                        c.subject.clone(),
                        c.not_after_text.clone().unwrap_or_else(|| "-".into()),
                        c.expiry(now).to_owned(),
                        c.sha256.clone(),
                    ]
                })
                .collect(),
        );
    }
}

/// Subject and expiry of a certificate, for admins comparing with their IdP.
fn cert_json(c: &CertificateView) -> Value {
    match &c.not_after_text {
        Some(not_after) => json!({
            "subject": c.subject_values.join(", "), "not_after": not_after, "sha256": c.sha256,
        }),
        None => json!({ "error": "unparseable certificate" }),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn fetcher(settings: &Settings) -> anyhow::Result<Fetcher> {
    Ok(Fetcher::from_settings(settings)?)
}

/// The service names the fields of the API; name the flags they came from instead.
fn flag_error(e: AdminError, metadata_file: Option<&Path>) -> anyhow::Error {
    match (&e, metadata_file) {
        (AdminError::Invalid { field, message }, Some(p)) if *field == "metadata_xml" => {
            anyhow::anyhow!("--metadata-file {}: {message}", p.display())
        }
        (AdminError::Invalid { field, message }, _) if *field == "metadata_url" => {
            anyhow::anyhow!("--metadata-url: {message}")
        }
        _ => e.into(),
    }
}

fn read_certificates(paths: &[PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for p in paths {
        let bytes = std::fs::read(p)
            .with_context(|| format!("--cert-file {}: cannot read", p.display()))?;
        out.extend(
            certificate::read(&bytes).with_context(|| {
                format!("--cert-file {}: neither PEM nor DER X.509", p.display())
            })?,
        );
    }
    Ok(out)
}

fn read_metadata_file(path: Option<&Path>) -> anyhow::Result<Option<String>> {
    path.map(|p| {
        std::fs::read_to_string(p)
            .with_context(|| format!("--metadata-file {}: cannot read", p.display()))
    })
    .transpose()
}

/// Comma-separated names, blanks dropped; none given means the defaults.
fn names(v: Vec<String>) -> Option<Vec<String>> {
    let v: Vec<String> = v
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    (!v.is_empty()).then_some(v)
}

fn sp_can_sign(settings: &Settings) -> bool {
    settings.saml.sp_private_key_file.is_some()
}

fn add_saml(pool: &DbPool, settings: &Settings, a: AddSamlArgs, now: i64) -> anyhow::Result<()> {
    let file = a.metadata_file.as_deref();
    let xml = read_metadata_file(file)?;
    let metadata = runtime()?
        .block_on(metadata::read(
            &fetcher(settings)?,
            xml.as_deref(),
            a.metadata_url.as_deref(),
        ))
        .map_err(|e| flag_error(e, file))?;
    if metadata.is_none() && a.entity_id.is_none() {
        bail!(
            "give --metadata-file, --metadata-url, or --entity-id with --sso-url and --cert-file"
        );
    }
    let cmd = NewSaml {
        slug: a.slug,
        display_name: a.name,
        metadata,
        idp_entity_id: a.entity_id,
        idp_sso_url: a.sso_url,
        // With metadata, --cert-file adds certificates (e.g. the next one during a rotation).
        idp_certificates: read_certificates(&a.cert_files)?,
        allowed_algorithms: a.allowed_algorithms,
        allow_idp_initiated: a.allow_idp_initiated,
        allow_unbound_responses: a.allow_unbound_responses,
        sign_requests: a.sign_requests,
        clock_skew_secs: a.clock_skew_secs,
        attr_email: names(a.attr_email),
        attr_first_name: names(a.attr_first_name),
        attr_last_name: names(a.attr_last_name),
        attr_iwms_id: a.attr_iwms_id,
        admin_role: None,
    };
    let mut conn = pool.get()?;
    let c = admin::add_saml_connection(
        &mut conn,
        &a.tenant,
        &cmd,
        sp_can_sign(settings),
        &Actor::Cli,
        now,
    )?;
    let t = admin::tenant_by_slug(&mut conn, &a.tenant)?;
    let v = conns::connection_view(&mut conn, &settings.base_url(), &t, &c, now)?;
    if a.json {
        return output::json(&cli_json(&v));
    }
    let setup = &v.idp_setup;
    emit(&format!("SAML connection {} added to {}.", c.slug, t.slug));
    emit("Configure your IdP with:");
    emit(&format!(
        "  ACS URL (single sign-on URL): {}",
        setup.acs_url.as_deref().unwrap_or("")
    ));
    emit(&format!(
        "  SP entity ID (audience):      {}",
        setup.sp_entity_id.as_deref().unwrap_or("")
    ));
    emit(&format!(
        "  SP metadata:                  {}",
        setup.sp_metadata_url.as_deref().unwrap_or("")
    ));
    Ok(())
}

/// Applies `patch` through the service (which reads metadata or rediscovers as it says).
fn update(
    pool: &DbPool,
    settings: &Settings,
    tenant: &str,
    slug: &str,
    patch: ConnectionPatch,
    metadata_file: Option<&Path>,
    now: i64,
) -> anyhow::Result<ConnectionView> {
    let t = admin::tenant_by_slug(&mut *pool.get()?, tenant)?;
    let fetcher = fetcher(settings)?;
    let c = runtime()?
        .block_on(conns::update_connection(
            pool,
            &fetcher,
            &t,
            slug,
            patch,
            sp_can_sign(settings),
            &Actor::Cli,
            now,
        ))
        .map_err(|e| match &e {
            AdminError::Invalid { field, message } if *field == "issuer" => {
                anyhow::anyhow!("--rediscover: {message}")
            }
            _ => flag_error(e, metadata_file),
        })?;
    Ok(conns::connection_view(
        &mut *pool.get()?,
        &settings.base_url(),
        &t,
        &c,
        now,
    )?)
}

fn update_saml(
    pool: &DbPool,
    settings: &Settings,
    a: UpdateSamlArgs,
    now: i64,
) -> anyhow::Result<()> {
    let file = a.metadata_file.as_deref();
    let certs = |paths: &[PathBuf]| -> anyhow::Result<Option<Vec<Vec<u8>>>> {
        (!paths.is_empty())
            .then(|| read_certificates(paths))
            .transpose()
    };
    let patch = ConnectionPatch {
        protocol: Some(Protocol::Saml),
        display_name: a.name,
        attr_email: a.attr_email,
        attr_first_name: a.attr_first_name,
        attr_last_name: a.attr_last_name,
        attr_iwms_id: set_or_clear(a.attr_iwms_id, a.clear_attr_iwms_id),
        admin_role: None,
        allowed_algorithms: a.allowed_algorithms,
        clock_skew_secs: a.clock_skew_secs,
        directory: a.directory.patch(),
        saml: SamlPatch {
            metadata_xml: read_metadata_file(file)?,
            metadata_url: a.metadata_url,
            idp_entity_id: a.entity_id,
            idp_sso_url: a.sso_url,
            idp_certificates: certs(&a.cert_files)?,
            add_idp_certificates: certs(&a.add_cert_files)?,
            allow_idp_initiated: a.allow_idp_initiated.map(bool::from),
            allow_unbound_responses: a.allow_unbound_responses.map(bool::from),
            sign_requests: a.sign_requests.map(bool::from),
        },
        oidc: OidcPatch::default(),
    };
    let v = update(pool, settings, &a.tenant, &a.slug, patch, file, now)?;
    if a.json {
        return output::json(&cli_json(&v));
    }
    emit(&format!(
        "SAML connection {} of {} updated; {} trusted certificate(s).",
        v.slug,
        a.tenant,
        v.saml.as_ref().map_or(0, |s| s.idp_certificates.len())
    ));
    Ok(())
}

fn read_secret(file: Option<&Path>, env: Option<&str>) -> anyhow::Result<String> {
    let secret = match (file, env) {
        (Some(p), _) => std::fs::read_to_string(p)
            .with_context(|| format!("--client-secret-file {}: cannot read", p.display()))?,
        (None, Some(var)) => std::env::var(var)
            .with_context(|| format!("--client-secret-env: `{var}` is not set"))?,
        (None, None) => bail!("give --client-secret-file or --client-secret-env"),
    };
    Ok(secret.trim().to_owned())
}

fn add_oidc(pool: &DbPool, settings: &Settings, a: AddOidcArgs, now: i64) -> anyhow::Result<()> {
    let secret = read_secret(
        a.client_secret_file.as_deref(),
        a.client_secret_env.as_deref(),
    )?;
    let (metadata, jwks_json) = runtime()?
        .block_on(metadata::discover_oidc(&fetcher(settings)?, &a.issuer))
        .map_err(|e| match e {
            AdminError::Invalid { message, .. } => anyhow::anyhow!("--issuer: {message}"),
            other => other.into(),
        })?;
    let cmd = NewOidc {
        slug: a.slug,
        display_name: a.name,
        issuer: a.issuer,
        client_id: a.client_id,
        client_secret: secret,
        client_auth: a.client_auth,
        scopes: a.scopes,
        allowed_algorithms: a.allowed_algorithms,
        allow_hs256: a.allow_hs256,
        use_userinfo: a.userinfo,
        clock_skew_secs: a.clock_skew_secs,
        attr_email: names(a.attr_email),
        attr_first_name: names(a.attr_first_name),
        attr_last_name: names(a.attr_last_name),
        attr_iwms_id: a.attr_iwms_id,
        admin_role: None,
        metadata,
        jwks_json,
    };
    let mut conn = pool.get()?;
    let c = admin::add_oidc_connection(&mut conn, &a.tenant, &cmd, &Actor::Cli, now)?;
    let t = admin::tenant_by_slug(&mut conn, &a.tenant)?;
    let v = conns::connection_view(&mut conn, &settings.base_url(), &t, &c, now)?;
    if a.json {
        return output::json(&cli_json(&v));
    }
    emit(&format!(
        "OpenID Connect connection {} added to {}.",
        c.slug, t.slug
    ));
    emit(&format!(
        "Register this redirect URI at the provider: {}",
        v.idp_setup.redirect_uri.as_deref().unwrap_or("")
    ));
    Ok(())
}

fn update_oidc(
    pool: &DbPool,
    settings: &Settings,
    a: UpdateOidcArgs,
    now: i64,
) -> anyhow::Result<()> {
    let client_secret = match (&a.client_secret_file, &a.client_secret_env) {
        (None, None) => None,
        (file, env) => Some(read_secret(file.as_deref(), env.as_deref())?),
    };
    let patch = ConnectionPatch {
        protocol: Some(Protocol::Oidc),
        display_name: a.name,
        attr_email: a.attr_email,
        attr_first_name: a.attr_first_name,
        attr_last_name: a.attr_last_name,
        attr_iwms_id: set_or_clear(a.attr_iwms_id, a.clear_attr_iwms_id),
        admin_role: None,
        allowed_algorithms: a.allowed_algorithms,
        clock_skew_secs: a.clock_skew_secs,
        directory: a.directory.patch(),
        saml: SamlPatch::default(),
        oidc: OidcPatch {
            client_id: a.client_id,
            client_secret,
            client_auth: a.client_auth,
            scopes: a.scopes,
            allow_hs256: a.allow_hs256.map(bool::from),
            use_userinfo: a.userinfo.map(bool::from),
            rediscover: a.rediscover.then_some(true),
        },
    };
    let v = update(pool, settings, &a.tenant, &a.slug, patch, None, now)?;
    if a.json {
        return output::json(&cli_json(&v));
    }
    emit(&format!(
        "OpenID Connect connection {} of {} updated.",
        v.slug, a.tenant
    ));
    Ok(())
}
