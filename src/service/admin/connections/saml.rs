//! SAML connections: the command to add one, the patch to change one, and the rules for
//! both (metadata against explicit settings, certificate merging, defaults, validation).
use super::{Common, ConnectionPatch, Settings, Valid, create, role_rule};
use crate::domain::audit::Actor;
use crate::domain::claims::{DEFAULT_EMAIL, DEFAULT_FIRST_NAME, DEFAULT_LAST_NAME, default_list};
use crate::domain::connection::{
    Connection, DEFAULT_CLOCK_SKEW_SECS, Protocol, SamlIdpSettings, SignatureAlgorithm,
};
use crate::domain::slug::Slug;
use crate::domain::tenant::{self, Tenant};
use crate::protocol::saml::certificate;
use crate::protocol::saml::idp_metadata::IdpMetadata;
use crate::service::admin::connections::view::AdminRole;
use crate::service::admin::fields::{check_names, check_url, parse_attribute_name};
use crate::service::admin::{AdminError, invalid, parse_slug, tenant_by_slug};
use crate::storage::{DbConnection, connections};

/// A new SAML connection. The IdP's settings come from `metadata` or from `idp_entity_id` +
/// `idp_sso_url` + `idp_certificates`; with metadata, `idp_certificates` adds certificates
/// (e.g. the next one during a rotation).
#[derive(Debug, Default, Clone)]
pub struct NewSaml {
    pub slug: String,
    /// Defaults to the slug.
    pub display_name: Option<String>,
    /// Pasted or fetched, read by `metadata::read`.
    pub metadata: Option<IdpMetadata>,
    pub idp_entity_id: Option<String>,
    pub idp_sso_url: Option<String>,
    /// DER.
    pub idp_certificates: Vec<Vec<u8>>,
    /// Defaults to every supported algorithm.
    pub allowed_algorithms: Option<Vec<String>>,
    pub allow_idp_initiated: bool,
    pub allow_unbound_responses: bool,
    pub sign_requests: bool,
    pub clock_skew_secs: Option<i64>,
    /// `None`: the names common IdPs use.
    pub attr_email: Option<Vec<String>>,
    pub attr_first_name: Option<Vec<String>>,
    pub attr_last_name: Option<Vec<String>>,
    pub attr_iwms_id: Option<String>,
    pub admin_role: Option<AdminRole>,
}

/// The SAML part of a [`ConnectionPatch`]; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct SamlPatch {
    /// New metadata: entity ID, SSO URL and certificates from it.
    pub metadata_xml: Option<String>,
    pub metadata_url: Option<String>,
    pub idp_entity_id: Option<String>,
    pub idp_sso_url: Option<String>,
    /// Replaces the trusted certificates (DER).
    pub idp_certificates: Option<Vec<Vec<u8>>>,
    /// Adds trusted certificates (DER), e.g. the IdP's next one during a rotation.
    pub add_idp_certificates: Option<Vec<Vec<u8>>>,
    pub allow_idp_initiated: Option<bool>,
    pub allow_unbound_responses: Option<bool>,
    pub sign_requests: Option<bool>,
}

impl SamlPatch {
    /// The first field set, to refuse it on an OpenID Connect connection.
    pub(super) fn first_set(&self) -> Option<&'static str> {
        [
            ("metadata_xml", self.metadata_xml.is_some()),
            ("metadata_url", self.metadata_url.is_some()),
            ("idp_entity_id", self.idp_entity_id.is_some()),
            ("idp_sso_url", self.idp_sso_url.is_some()),
            ("idp_certificates", self.idp_certificates.is_some()),
            ("add_idp_certificates", self.add_idp_certificates.is_some()),
            ("allow_idp_initiated", self.allow_idp_initiated.is_some()),
            (
                "allow_unbound_responses",
                self.allow_unbound_responses.is_some(),
            ),
            ("sign_requests", self.sign_requests.is_some()),
        ]
        .into_iter()
        .find_map(|(f, set)| set.then_some(f))
    }
}

/// Every setting, after defaults, metadata and the patch are applied.
struct Full {
    display_name: Option<String>,
    idp_entity_id: String,
    idp_sso_url: String,
    idp_certificates: Vec<Vec<u8>>,
    allowed_algorithms: Option<Vec<String>>,
    allow_idp_initiated: bool,
    allow_unbound_responses: bool,
    sign_requests: bool,
    clock_skew_secs: Option<i64>,
    attr_email: Vec<String>,
    attr_first_name: Vec<String>,
    attr_last_name: Vec<String>,
    attr_iwms_id: Option<String>,
}

fn from_metadata_refused(field: &'static str) -> AdminError {
    invalid(
        field,
        "comes from the metadata; leave it out or give no metadata",
    )
}

fn validate(input: Full, slug: &Slug, sp_can_sign: bool) -> Result<Valid, AdminError> {
    let display =
        tenant::parse_display_name(input.display_name.as_deref().unwrap_or(slug.as_str()))
            .map_err(|e| invalid("display_name", e))?;
    if input.idp_entity_id.trim().is_empty() {
        return Err(invalid("idp_entity_id", "is required"));
    }
    check_url("idp_sso_url", &input.idp_sso_url)?;
    // samael skips signature checks when it has no certificate: never store such a connection.
    if input.idp_certificates.is_empty() {
        return Err(invalid(
            "idp_certificates",
            "at least one IdP signing certificate is required",
        ));
    }
    for (i, der) in input.idp_certificates.iter().enumerate() {
        if !certificate::is_certificate(der) {
            return Err(invalid(
                "idp_certificates",
                format!("certificate #{} is not a valid X.509 certificate", i + 1),
            ));
        }
    }
    let algs = match &input.allowed_algorithms {
        None => SignatureAlgorithm::ALL.to_vec(),
        Some(list) if list.is_empty() => {
            return Err(invalid("allowed_algorithms", "must not be empty"));
        }
        Some(list) => list
            .iter()
            .map(|a| SignatureAlgorithm::parse(a).map_err(|e| invalid("allowed_algorithms", e)))
            .collect::<Result<_, _>>()?,
    };
    let skew = input.clock_skew_secs.unwrap_or(DEFAULT_CLOCK_SKEW_SECS);
    if !(0..=600).contains(&skew) {
        return Err(invalid("clock_skew_secs", "must be between 0 and 600"));
    }
    if input.sign_requests && !sp_can_sign {
        return Err(invalid(
            "sign_requests",
            "requires saml.sp_private_key_file and saml.sp_certificate_file in the config",
        ));
    }
    check_names("attr_email", &input.attr_email)?;
    check_names("attr_first_name", &input.attr_first_name)?;
    check_names("attr_last_name", &input.attr_last_name)?;
    let iwms = parse_attribute_name("attr_iwms_id", input.attr_iwms_id.as_deref())?;
    let settings = SamlIdpSettings {
        idp_entity_id: input.idp_entity_id.trim().to_owned(),
        idp_sso_url: input.idp_sso_url.trim().to_owned(),
        idp_certificates: input.idp_certificates,
        allowed_algorithms: algs,
        allow_idp_initiated: input.allow_idp_initiated,
        sign_requests: input.sign_requests,
        clock_skew_secs: skew,
        allow_unbound_responses: input.allow_unbound_responses,
    };
    Ok(Valid {
        common: Common {
            display,
            attr_email: input.attr_email,
            attr_first_name: input.attr_first_name,
            attr_last_name: input.attr_last_name,
            iwms,
        },
        settings: Settings::Saml(settings),
    })
}

/// Entity ID, SSO URL and certificates of a new connection: from the metadata (plus any extra
/// certificates), or given explicitly.
fn idp_of(cmd: &NewSaml) -> Result<(String, String, Vec<Vec<u8>>), AdminError> {
    let extra = cmd.idp_certificates.clone();
    match &cmd.metadata {
        Some(m) => {
            if cmd.idp_entity_id.is_some() {
                return Err(from_metadata_refused("idp_entity_id"));
            }
            if cmd.idp_sso_url.is_some() {
                return Err(from_metadata_refused("idp_sso_url"));
            }
            let mut certs = m.signing_certificates.clone();
            for der in extra {
                if !certs.contains(&der) {
                    certs.push(der);
                }
            }
            Ok((m.entity_id.clone(), m.sso_url.clone(), certs))
        }
        None => {
            let required = |field, v: &Option<String>| {
                v.clone().ok_or_else(|| {
                    invalid(field, "is required without metadata_xml or metadata_url")
                })
            };
            Ok((
                required("idp_entity_id", &cmd.idp_entity_id)?,
                required("idp_sso_url", &cmd.idp_sso_url)?,
                extra,
            ))
        }
    }
}

pub fn add_saml_connection(
    conn: &mut DbConnection,
    tenant: &str,
    cmd: &NewSaml,
    sp_can_sign: bool,
    actor: &Actor,
    now: i64,
) -> Result<Connection, AdminError> {
    let role = role_rule(cmd.admin_role.as_ref())?;
    let (entity_id, sso_url, certs) = idp_of(cmd)?;
    let t = tenant_by_slug(conn, tenant)?;
    let slug = parse_slug("slug", &cmd.slug)?;
    let names = |v: &Option<Vec<String>>, d: &[&str]| v.clone().unwrap_or_else(|| default_list(d));
    let full = Full {
        display_name: cmd.display_name.clone(),
        idp_entity_id: entity_id,
        idp_sso_url: sso_url,
        idp_certificates: certs,
        allowed_algorithms: cmd.allowed_algorithms.clone(),
        allow_idp_initiated: cmd.allow_idp_initiated,
        allow_unbound_responses: cmd.allow_unbound_responses,
        sign_requests: cmd.sign_requests,
        clock_skew_secs: cmd.clock_skew_secs,
        attr_email: names(&cmd.attr_email, DEFAULT_EMAIL),
        attr_first_name: names(&cmd.attr_first_name, DEFAULT_FIRST_NAME),
        attr_last_name: names(&cmd.attr_last_name, DEFAULT_LAST_NAME),
        attr_iwms_id: cmd.attr_iwms_id.clone(),
    };
    let valid = validate(full, &slug, sp_can_sign)?;
    create(conn, &t, &slug, &valid, role.as_ref(), actor, now)
}

/// The connection `c` after `patch`, validated; `metadata` is what the patch's metadata source
/// held.
pub(super) fn merge(
    conn: &mut DbConnection,
    t: &Tenant,
    c: &Connection,
    patch: &ConnectionPatch,
    metadata: Option<IdpMetadata>,
    sp_can_sign: bool,
) -> Result<Valid, AdminError> {
    debug_assert_eq!(c.protocol, Protocol::Saml);
    let p = &patch.saml;
    let cur = connections::saml_settings(conn, t.id, c.id)?;
    let (mut entity_id, mut sso_url) = (p.idp_entity_id.clone(), p.idp_sso_url.clone());
    let mut certs = None;
    if let Some(m) = metadata {
        if p.idp_entity_id.is_some() {
            return Err(from_metadata_refused("idp_entity_id"));
        }
        if p.idp_sso_url.is_some() {
            return Err(from_metadata_refused("idp_sso_url"));
        }
        entity_id = Some(m.entity_id);
        sso_url = Some(m.sso_url);
        certs = Some(m.signing_certificates);
    }
    if let Some(replace) = &p.idp_certificates {
        let mut c = certs.unwrap_or_default();
        c.extend(replace.iter().cloned());
        certs = Some(c);
    }
    if let Some(add) = &p.add_idp_certificates {
        let mut c = certs.unwrap_or_else(|| cur.idp_certificates.clone());
        for der in add {
            if !c.contains(der) {
                c.push(der.clone());
            }
        }
        certs = Some(c);
    }
    let full = Full {
        display_name: Some(
            patch
                .display_name
                .clone()
                .unwrap_or_else(|| c.display_name.clone()),
        ),
        idp_entity_id: entity_id.unwrap_or(cur.idp_entity_id),
        idp_sso_url: sso_url.unwrap_or(cur.idp_sso_url),
        idp_certificates: certs.unwrap_or(cur.idp_certificates),
        allowed_algorithms: Some(patch.allowed_algorithms.clone().unwrap_or_else(|| {
            cur.allowed_algorithms
                .iter()
                .map(|a| a.name().to_owned())
                .collect()
        })),
        allow_idp_initiated: p.allow_idp_initiated.unwrap_or(cur.allow_idp_initiated),
        allow_unbound_responses: p
            .allow_unbound_responses
            .unwrap_or(cur.allow_unbound_responses),
        sign_requests: p.sign_requests.unwrap_or(cur.sign_requests),
        clock_skew_secs: Some(patch.clock_skew_secs.unwrap_or(cur.clock_skew_secs)),
        attr_email: patch.attr_email.clone().unwrap_or(c.attr_email.clone()),
        attr_first_name: patch
            .attr_first_name
            .clone()
            .unwrap_or(c.attr_first_name.clone()),
        attr_last_name: patch
            .attr_last_name
            .clone()
            .unwrap_or(c.attr_last_name.clone()),
        attr_iwms_id: patch.attr_iwms_id.clone().unwrap_or(c.attr_iwms_id.clone()),
    };
    validate(full, &c.slug, sp_can_sign)
}
