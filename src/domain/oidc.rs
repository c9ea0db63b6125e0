//! OpenID Connect connection settings.

/// ID-token signature algorithms. `none` is not representable; HS256 (signed with the client
/// secret) is accepted only when an admin enables it explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlgorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Hs256,
}

impl JwsAlgorithm {
    pub const ALL: [JwsAlgorithm; 9] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::Hs256,
    ];
    pub const DEFAULT: [JwsAlgorithm; 3] = [Self::Rs256, Self::Es256, Self::Ps256];

    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Hs256 => "HS256",
        }
    }

    /// An `alg` as a JOSE header names it: exactly, case and whitespace included (RFC 7515
    /// §4.1.1 values are case-sensitive strings); `" RS256"` is no algorithm.
    pub fn from_header(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == raw)
    }

    /// An algorithm an admin typed (surrounding blanks ignored).
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|a| a.name() == raw.trim()).ok_or_else(|| {
            format!(
                "unknown or disallowed ID-token algorithm `{}` (allowed: RS256/384/512, PS256/384/512, ES256/384, HS256; never none)",
                raw.trim()
            )
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    ClientSecretBasic,
    ClientSecretPost,
}

impl ClientAuth {
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            other => Err(format!(
                "client authentication `{other}` is not supported (client_secret_basic, client_secret_post)"
            )),
        }
    }
}

/// The endpoints of a provider, from its discovery document (validated when fetched).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
}

#[derive(Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub client_auth: ClientAuth,
    pub scopes: Vec<String>,
    pub allowed_algorithms: Vec<JwsAlgorithm>,
    pub use_userinfo: bool,
    pub clock_skew_secs: i64,
    pub metadata: ProviderMetadata,
    /// The provider's JWKS document as last fetched, and when.
    pub jwks_json: String,
    pub jwks_fetched_at: i64,
}

pub const DEFAULT_SCOPES: &[&str] = &["openid", "email", "profile"];
/// Only `email`: `preferred_username` is no verified address at every provider (OpenID
/// Connect Core §5.1 says not to rely on it), and an address taken from it would match and
/// create accounts by email. Entra ID tokens without the optional `email` claim carry the
/// address in `preferred_username`/`upn`; such connections name them explicitly.
pub const DEFAULT_EMAIL_CLAIMS: &[&str] = &["email"];
pub const DEFAULT_FIRST_NAME_CLAIMS: &[&str] = &["given_name"];
pub const DEFAULT_LAST_NAME_CLAIMS: &[&str] = &["family_name"];

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("client_auth", &self.client_auth)
            .field("scopes", &self.scopes)
            .field("allowed_algorithms", &self.allowed_algorithms)
            .finish_non_exhaustive()
    }
}
