//! OpenID Connect connections: the command to add one, the patch to change one, and the
//! rules for both (defaults, HS256 only on request, discovery naming the same issuer).
use super::{Common, ConnectionPatch, Settings, Valid, create, role_rule};
use crate::domain::audit::Actor;
use crate::domain::claims::default_list;
use crate::domain::connection::{Connection, DEFAULT_CLOCK_SKEW_SECS, Protocol};
use crate::domain::oidc::{
    ClientAuth, DEFAULT_EMAIL_CLAIMS, DEFAULT_FIRST_NAME_CLAIMS, DEFAULT_LAST_NAME_CLAIMS,
    DEFAULT_SCOPES, JwsAlgorithm, OidcSettings, ProviderMetadata,
};
use crate::domain::slug::Slug;
use crate::domain::tenant::{self, Tenant};
use crate::service::admin::connections::view::AdminRole;
use crate::service::admin::fields::{check_names, parse_attribute_name};
use crate::service::admin::{AdminError, invalid, parse_slug, tenant_by_slug};
use crate::storage::{DbConnection, oidc};

/// A new OpenID Connect connection, with the provider's discovery document and keys as read
/// by `metadata::discover_oidc` (this module does no network I/O).
#[derive(Clone)]
pub struct NewOidc {
    pub slug: String,
    /// Defaults to the slug.
    pub display_name: Option<String>,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Defaults to client_secret_basic.
    pub client_auth: Option<String>,
    /// Defaults to openid, email, profile.
    pub scopes: Option<Vec<String>>,
    /// Defaults to RS256, ES256, PS256.
    pub allowed_algorithms: Option<Vec<String>>,
    /// HS256 (signed with the client secret) must be asked for explicitly.
    pub allow_hs256: bool,
    pub use_userinfo: bool,
    pub clock_skew_secs: Option<i64>,
    /// `None`: the standard claims.
    pub attr_email: Option<Vec<String>>,
    pub attr_first_name: Option<Vec<String>>,
    pub attr_last_name: Option<Vec<String>>,
    pub attr_iwms_id: Option<String>,
    pub admin_role: Option<AdminRole>,
    pub metadata: ProviderMetadata,
    pub jwks_json: String,
}

impl std::fmt::Debug for NewOidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOidc")
            .field("slug", &self.slug)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The OpenID Connect part of a [`ConnectionPatch`]; `None` keeps the current value.
#[derive(Default, Clone)]
pub struct OidcPatch {
    pub client_id: Option<String>,
    /// A new client secret (rotation).
    pub client_secret: Option<String>,
    pub client_auth: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub allow_hs256: Option<bool>,
    pub use_userinfo: Option<bool>,
    /// Read the discovery document and keys again.
    pub rediscover: Option<bool>,
}

impl std::fmt::Debug for OidcPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcPatch")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl OidcPatch {
    /// The first field set, to refuse it on a SAML connection.
    pub(super) fn first_set(&self) -> Option<&'static str> {
        [
            ("client_id", self.client_id.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("client_auth", self.client_auth.is_some()),
            ("scopes", self.scopes.is_some()),
            ("allow_hs256", self.allow_hs256.is_some()),
            ("use_userinfo", self.use_userinfo.is_some()),
            ("rediscover", self.rediscover.is_some()),
        ]
        .into_iter()
        .find_map(|(f, set)| set.then_some(f))
    }
}

/// What a form must hold before the server reads the provider's discovery document.
pub fn require_before_discovery(
    issuer: &str,
    client_id: &str,
    client_secret: &str,
) -> Result<(), AdminError> {
    for (field, v) in [
        ("issuer", issuer),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ] {
        if v.trim().is_empty() {
            return Err(invalid(field, "is required"));
        }
    }
    Ok(())
}

/// Every setting, after defaults, discovery and the patch are applied.
struct Full {
    display_name: Option<String>,
    issuer: String,
    client_id: String,
    client_secret: String,
    client_auth: Option<String>,
    scopes: Option<Vec<String>>,
    allowed_algorithms: Option<Vec<String>>,
    allow_hs256: bool,
    use_userinfo: bool,
    clock_skew_secs: Option<i64>,
    attr_email: Vec<String>,
    attr_first_name: Vec<String>,
    attr_last_name: Vec<String>,
    attr_iwms_id: Option<String>,
    metadata: ProviderMetadata,
    jwks_json: String,
}

fn validate(input: Full, slug: &Slug, now: i64) -> Result<Valid, AdminError> {
    let display =
        tenant::parse_display_name(input.display_name.as_deref().unwrap_or(slug.as_str()))
            .map_err(|e| invalid("display_name", e))?;
    if input.metadata.issuer != input.issuer.trim() {
        return Err(invalid(
            "issuer",
            "the discovery document names another issuer",
        ));
    }
    if input.client_id.trim().is_empty() {
        return Err(invalid("client_id", "is required"));
    }
    if input.client_secret.trim().is_empty() {
        return Err(invalid(
            "client_secret",
            "is required (from a file or an environment variable)",
        ));
    }
    let client_auth = ClientAuth::parse(
        input
            .client_auth
            .as_deref()
            .unwrap_or("client_secret_basic"),
    )
    .map_err(|e| invalid("client_auth", e))?;
    let scopes = input
        .scopes
        .clone()
        .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect());
    if !scopes.iter().any(|s| s == "openid")
        || scopes
            .iter()
            .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        return Err(invalid(
            "scopes",
            "must include `openid`; one scope per item, no spaces",
        ));
    }
    let algs: Vec<JwsAlgorithm> = match &input.allowed_algorithms {
        None => JwsAlgorithm::DEFAULT.to_vec(),
        Some(list) if list.is_empty() => {
            return Err(invalid("allowed_algorithms", "must not be empty"));
        }
        Some(list) => list
            .iter()
            .map(|a| JwsAlgorithm::parse(a).map_err(|e| invalid("allowed_algorithms", e)))
            .collect::<Result<_, _>>()?,
    };
    let mut algs = algs;
    if input.allow_hs256 && !algs.contains(&JwsAlgorithm::Hs256) {
        algs.push(JwsAlgorithm::Hs256);
    }
    if algs.contains(&JwsAlgorithm::Hs256) && !input.allow_hs256 {
        return Err(invalid(
            "allowed_algorithms",
            "HS256 needs the explicit allow_hs256 setting",
        ));
    }
    // An HS256 key is the client secret: short ones fall to offline guessing.
    if input.allow_hs256 && input.client_secret.trim().len() < 32 {
        return Err(invalid(
            "client_secret",
            "HS256 needs a client secret of at least 32 characters",
        ));
    }
    let skew = input.clock_skew_secs.unwrap_or(DEFAULT_CLOCK_SKEW_SECS);
    if !(0..=600).contains(&skew) {
        return Err(invalid("clock_skew_secs", "must be between 0 and 600"));
    }
    crate::protocol::oidc::jose::parse_jwks(&input.jwks_json)
        .map_err(|e| invalid("jwks", e.detail))?;
    check_names("attr_email", &input.attr_email)?;
    check_names("attr_first_name", &input.attr_first_name)?;
    check_names("attr_last_name", &input.attr_last_name)?;
    let iwms = parse_attribute_name("attr_iwms_id", input.attr_iwms_id.as_deref())?;
    let settings = OidcSettings {
        issuer: input.issuer.trim().to_owned(),
        client_id: input.client_id.trim().to_owned(),
        client_secret: input.client_secret.trim().to_owned(),
        client_auth,
        scopes,
        allowed_algorithms: algs,
        use_userinfo: input.use_userinfo,
        clock_skew_secs: skew,
        metadata: input.metadata,
        jwks_json: input.jwks_json,
        jwks_fetched_at: now,
    };
    Ok(Valid {
        common: Common {
            display,
            attr_email: input.attr_email,
            attr_first_name: input.attr_first_name,
            attr_last_name: input.attr_last_name,
            iwms,
        },
        settings: Settings::Oidc(settings),
    })
}

pub fn add_oidc_connection(
    conn: &mut DbConnection,
    tenant: &str,
    cmd: &NewOidc,
    actor: &Actor,
    now: i64,
) -> Result<Connection, AdminError> {
    let role = role_rule(cmd.admin_role.as_ref())?;
    let t = tenant_by_slug(conn, tenant)?;
    let slug = parse_slug("slug", &cmd.slug)?;
    let names = |v: &Option<Vec<String>>, d: &[&str]| v.clone().unwrap_or_else(|| default_list(d));
    let full = Full {
        display_name: cmd.display_name.clone(),
        issuer: cmd.issuer.clone(),
        client_id: cmd.client_id.clone(),
        client_secret: cmd.client_secret.clone(),
        client_auth: cmd.client_auth.clone(),
        scopes: cmd.scopes.clone(),
        allowed_algorithms: cmd.allowed_algorithms.clone(),
        allow_hs256: cmd.allow_hs256,
        use_userinfo: cmd.use_userinfo,
        clock_skew_secs: cmd.clock_skew_secs,
        attr_email: names(&cmd.attr_email, DEFAULT_EMAIL_CLAIMS),
        attr_first_name: names(&cmd.attr_first_name, DEFAULT_FIRST_NAME_CLAIMS),
        attr_last_name: names(&cmd.attr_last_name, DEFAULT_LAST_NAME_CLAIMS),
        attr_iwms_id: cmd.attr_iwms_id.clone(),
        metadata: cmd.metadata.clone(),
        jwks_json: cmd.jwks_json.clone(),
    };
    let valid = validate(full, &slug, now)?;
    create(conn, &t, &slug, &valid, role.as_ref(), actor, now)
}

/// The connection `c` after `patch`, validated; `discovery` is what rediscovery read.
pub(super) fn merge(
    conn: &mut DbConnection,
    t: &Tenant,
    c: &Connection,
    patch: &ConnectionPatch,
    discovery: Option<(ProviderMetadata, String)>,
    now: i64,
) -> Result<Valid, AdminError> {
    debug_assert_eq!(c.protocol, Protocol::Oidc);
    let p = &patch.oidc;
    let cur = oidc::settings(conn, t.id, c.id)?;
    let had_hs256 = cur.allowed_algorithms.contains(&JwsAlgorithm::Hs256);
    let (metadata, jwks_json, fetched_at) = match discovery {
        Some((m, j)) => (m, j, now),
        None => (
            cur.metadata.clone(),
            cur.jwks_json.clone(),
            cur.jwks_fetched_at,
        ),
    };
    let full = Full {
        display_name: Some(
            patch
                .display_name
                .clone()
                .unwrap_or_else(|| c.display_name.clone()),
        ),
        issuer: cur.issuer.clone(),
        client_id: p.client_id.clone().unwrap_or(cur.client_id.clone()),
        client_secret: p.client_secret.clone().unwrap_or(cur.client_secret.clone()),
        client_auth: Some(
            p.client_auth
                .clone()
                .unwrap_or_else(|| cur.client_auth.name().to_owned()),
        ),
        scopes: Some(p.scopes.clone().unwrap_or(cur.scopes.clone())),
        allowed_algorithms: Some(patch.allowed_algorithms.clone().unwrap_or_else(|| {
            cur.allowed_algorithms
                .iter()
                .filter(|a| **a != JwsAlgorithm::Hs256)
                .map(|a| a.name().to_owned())
                .collect()
        })),
        allow_hs256: p.allow_hs256.unwrap_or(had_hs256),
        use_userinfo: p.use_userinfo.unwrap_or(cur.use_userinfo),
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
        metadata,
        jwks_json,
    };
    let mut valid = validate(full, &c.slug, now)?;
    if let Settings::Oidc(s) = &mut valid.settings {
        s.jwks_fetched_at = fetched_at;
    }
    Ok(valid)
}
