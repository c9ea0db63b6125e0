use super::claims::{self, AdminRoleRule, ClaimMapping};
use super::ids::{ConnectionId, TenantId};
use super::slug::Slug;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Saml,
    Oidc,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Saml => "saml",
            Protocol::Oidc => "oidc",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "saml" => Some(Protocol::Saml),
            "oidc" => Some(Protocol::Oidc),
            _ => None,
        }
    }
}

/// The attribute names configured on a connection; the IWMS attribute may instead come from
/// the tenant (see [`Connection::effective_mapping`]).
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: ConnectionId,
    pub tenant_id: TenantId,
    pub slug: Slug,
    pub protocol: Protocol,
    pub display_name: String,
    pub attr_email: Vec<String>,
    pub attr_first_name: Vec<String>,
    pub attr_last_name: Vec<String>,
    pub attr_iwms_id: Option<String>,
    pub admin_role: Option<AdminRoleRule>,
    /// Overrides of the groups and directory attribute names (`None`: the defaults).
    pub directory: DirectoryAttributes,
    pub removed_at: Option<i64>,
    pub created_at: i64,
}

/// A connection's names for the groups attribute / claim and the directory attributes;
/// each `None` uses the defaults of [`claims`] (Okta, Entra ID, Google).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryAttributes {
    pub groups: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub employee_number: Option<String>,
    pub manager: Option<String>,
}

impl Connection {
    /// The connection's own IWMS attribute wins over the tenant's.
    pub fn effective_mapping(&self, tenant_iwms_attribute: Option<&str>) -> ClaimMapping {
        ClaimMapping {
            email: self.attr_email.clone(),
            first_name: self.attr_first_name.clone(),
            last_name: self.attr_last_name.clone(),
            iwms_id: self
                .attr_iwms_id
                .clone()
                .or_else(|| tenant_iwms_attribute.map(str::to_owned)),
            admin_role: self.admin_role.clone(),
            groups: claims::override_or(self.directory.groups.as_deref(), claims::DEFAULT_GROUPS),
            department: claims::override_or(
                self.directory.department.as_deref(),
                claims::DEFAULT_DEPARTMENT,
            ),
            title: claims::override_or(self.directory.title.as_deref(), claims::DEFAULT_TITLE),
            employee_number: claims::override_or(
                self.directory.employee_number.as_deref(),
                claims::DEFAULT_EMPLOYEE_NUMBER,
            ),
            manager: claims::override_or(
                self.directory.manager.as_deref(),
                claims::DEFAULT_MANAGER,
            ),
        }
    }
}

/// Signature algorithms a connection accepts. SHA-1 is not representable on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureAlgorithm {
    RsaSha256,
    RsaSha384,
    RsaSha512,
    EcdsaSha256,
    EcdsaSha384,
    EcdsaSha512,
}

impl SignatureAlgorithm {
    pub const ALL: [SignatureAlgorithm; 6] = [
        Self::RsaSha256,
        Self::RsaSha384,
        Self::RsaSha512,
        Self::EcdsaSha256,
        Self::EcdsaSha384,
        Self::EcdsaSha512,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::RsaSha256 => "rsa-sha256",
            Self::RsaSha384 => "rsa-sha384",
            Self::RsaSha512 => "rsa-sha512",
            Self::EcdsaSha256 => "ecdsa-sha256",
            Self::EcdsaSha384 => "ecdsa-sha384",
            Self::EcdsaSha512 => "ecdsa-sha512",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == raw.trim())
            .ok_or_else(|| {
                format!(
                    "unknown or disallowed signature algorithm `{}` (allowed: rsa-sha256, rsa-sha384, rsa-sha512, ecdsa-sha256, ecdsa-sha384, ecdsa-sha512)",
                    raw.trim()
                )
            })
    }
}

#[derive(Debug, Clone)]
pub struct SamlIdpSettings {
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    /// DER-encoded X.509 certificates trusted to sign this IdP's responses.
    pub idp_certificates: Vec<Vec<u8>>,
    pub allowed_algorithms: Vec<SignatureAlgorithm>,
    pub allow_idp_initiated: bool,
    pub sign_requests: bool,
    pub clock_skew_secs: i64,
    /// Accept responses to SP-initiated requests from a browser that lacks the cookie set when
    /// the request started (login CSRF protection off; e.g. plain-http development with a
    /// cross-site IdP).
    pub allow_unbound_responses: bool,
}

pub const DEFAULT_CLOCK_SKEW_SECS: i64 = 60;

/// How a sign-in at a tenant proceeds, given its active connections and an optional choice.
#[derive(Debug)]
pub enum Entry {
    Start(Box<Connection>),
    Choose(Vec<Connection>),
    NotConfigured,
    UnknownChoice,
}

pub fn pick(mut active: Vec<Connection>, choice: Option<&str>) -> Entry {
    match choice {
        Some(wanted) => active
            .into_iter()
            .find(|c| c.slug.as_str() == wanted)
            .map_or(Entry::UnknownChoice, |c| Entry::Start(Box::new(c))),
        None if active.is_empty() => Entry::NotConfigured,
        None if active.len() == 1 => Entry::Start(Box::new(active.remove(0))),
        None => Entry::Choose(active),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(slug: &str) -> Connection {
        Connection {
            id: ConnectionId(1),
            tenant_id: TenantId(1),
            slug: Slug::parse(slug).unwrap(),
            protocol: Protocol::Saml,
            display_name: slug.into(),
            attr_email: vec![],
            attr_first_name: vec![],
            attr_last_name: vec![],
            attr_iwms_id: None,
            admin_role: None,
            directory: DirectoryAttributes::default(),
            removed_at: None,
            created_at: 0,
        }
    }

    #[test]
    fn one_goes_straight_there_several_offer_a_choice() {
        assert!(matches!(pick(vec![], None), Entry::NotConfigured));
        assert!(matches!(pick(vec![conn("a")], None), Entry::Start(c) if c.slug.as_str() == "a"));
        assert!(matches!(pick(vec![conn("a"), conn("b")], None), Entry::Choose(v) if v.len() == 2));
        assert!(
            matches!(pick(vec![conn("a"), conn("b")], Some("b")), Entry::Start(c) if c.slug.as_str() == "b")
        );
        assert!(matches!(
            pick(vec![conn("a")], Some("z")),
            Entry::UnknownChoice
        ));
    }
}
