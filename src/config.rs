//! Typed settings: a TOML file, then `SSOGATE_SECTION__KEY` environment overrides. Unknown
//! keys and bad values are errors that name the key. Secrets never appear in Debug output.
//!
//! One cohesive thing: every setting with its default, its validation and the key its error
//! names, so the whole configuration contract reads in one place (its tests are below it).
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

pub const DEFAULT_CONFIG_PATH: &str = "config/default.toml";
const ENV_PREFIX: &str = "SSOGATE_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("config key `{key}`: {message}")]
    Key { key: String, message: String },
}

fn key_err(key: &str, message: impl fmt::Display) -> ConfigError {
    ConfigError::Key {
        key: key.to_owned(),
        message: message.to_string(),
    }
}

/// A value that must never be printed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Self(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A list of networks: a TOML array, or (from an environment variable) one string with the
/// items separated by commas. Each item is a CIDR network (`10.20.0.0/16`) or one address.
fn networks<'de, D>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(v) => v,
        Raw::Text(s) => s.split(',').map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| parse_network(s).map_err(serde::de::Error::custom))
        .collect()
}

/// An IP address or a CIDR range (the host bits dropped): `server.trusted_proxies` and
/// `iwms.allowed_networks` read the same forms.
pub fn parse_network(raw: &str) -> Result<ipnet::IpNet, String> {
    raw.parse::<ipnet::IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            format!(
                "`{}` is neither an IP address nor a CIDR range (like 10.0.0.1 or 10.20.0.0/16)",
                raw.chars().take(64).collect::<String>()
            )
        })
}

/// Numbers and booleans from environment variables arrive as strings.
fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + Deserialize<'de>,
    T::Err: fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<T> {
        Native(T),
        Text(String),
    }
    match Raw::<T>::deserialize(d)? {
        Raw::Native(v) => Ok(v),
        Raw::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub session: SessionSettings,
    pub saml: SamlSettings,
    pub log: LogSettings,
    pub jobs: JobSettings,
    pub oidc: OidcClientSettings,
    pub demo: DemoSettings,
    pub scim: ScimSettings,
    pub iwms: IwmsSettings,
    pub admin: AdminSettings,
    pub rate_limit: RateLimitSettings,
    pub sign_ins: SignInSettings,
    pub metrics: MetricsSettings,
}

/// Prometheus metrics; see docs/production.md "Metrics".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// `address:port` of the metrics listener (`GET /metrics`); empty turns it off.
    pub bind: String,
    /// How often the gauges read from the database (outbox, users, certificates) are refreshed.
    #[serde(deserialize_with = "lenient")]
    pub refresh_interval_secs: u64,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:9464".into(),
            refresh_interval_secs: 60,
        }
    }
}

impl MetricsSettings {
    /// The listener's address; None when `metrics.bind` is empty (metrics off).
    pub fn bind_addr(&self) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        let raw = self.bind.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse().map(Some).map_err(|_| {
            key_err(
                "metrics.bind",
                format!(
                    "`{}` is not an address:port (like 127.0.0.1:9464 or [::1]:9464); empty turns metrics off",
                    raw.chars().take(64).collect::<String>()
                ),
            )
        })
    }
}

/// Built-in rate limits (per instance); see docs/security-model.md "Rate limits". Each limit is a token
/// bucket: `*_per_minute` is the sustained rate, `*_burst` how many may come at once.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    #[serde(deserialize_with = "lenient")]
    pub enabled: bool,
    /// Per client address and tenant on the browser sign-in routes; also per client address
    /// for SCIM and API requests whose token is refused.
    #[serde(deserialize_with = "lenient")]
    pub client_per_minute: u32,
    #[serde(deserialize_with = "lenient")]
    pub client_burst: u32,
    /// Per tenant on the browser sign-in routes, all clients together.
    #[serde(deserialize_with = "lenient")]
    pub tenant_per_minute: u32,
    #[serde(deserialize_with = "lenient")]
    pub tenant_burst: u32,
    /// Per SCIM bearer token.
    #[serde(deserialize_with = "lenient")]
    pub scim_token_per_minute: u32,
    #[serde(deserialize_with = "lenient")]
    pub scim_token_burst: u32,
    /// Per admin API token.
    #[serde(deserialize_with = "lenient")]
    pub api_token_per_minute: u32,
    #[serde(deserialize_with = "lenient")]
    pub api_token_burst: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            client_per_minute: 300,
            client_burst: 100,
            tenant_per_minute: 6000,
            tenant_burst: 2000,
            scim_token_per_minute: 3000,
            scim_token_burst: 1000,
            api_token_per_minute: 600,
            api_token_burst: 200,
        }
    }
}

impl RateLimitSettings {
    /// Every (key, value) pair of limits, for validation.
    fn limits(&self) -> [(&'static str, u32); 8] {
        [
            ("rate_limit.client_per_minute", self.client_per_minute),
            ("rate_limit.client_burst", self.client_burst),
            ("rate_limit.tenant_per_minute", self.tenant_per_minute),
            ("rate_limit.tenant_burst", self.tenant_burst),
            (
                "rate_limit.scim_token_per_minute",
                self.scim_token_per_minute,
            ),
            ("rate_limit.scim_token_burst", self.scim_token_burst),
            ("rate_limit.api_token_per_minute", self.api_token_per_minute),
            ("rate_limit.api_token_burst", self.api_token_burst),
        ]
    }
}

/// `server.trusted_proxies`: the reverse proxies whose `X-Forwarded-For` is believed. A
/// TOML list of addresses and CIDR ranges, or (from the environment) one comma-separated
/// string: `10.0.0.1,192.168.0.0/16,::1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut nets = Vec::new();
        for raw in entries {
            let e = raw.trim();
            if e.is_empty() {
                continue;
            }
            let net = parse_network(e)?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    /// Whether `ip` is one of the trusted proxies (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            List(Vec<String>),
            Text(String),
        }
        let parsed = match Raw::deserialize(d)? {
            Raw::List(l) => TrustedProxies::parse(l.iter().map(String::as_str)),
            Raw::Text(t) => TrustedProxies::parse(t.split(',')),
        };
        parsed.map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignInSettings {
    /// Sign-in attempts and counted refusals older than this are purged by the cleanup job.
    #[serde(deserialize_with = "lenient")]
    pub retention_days: u32,
    /// Sign-ins one client address (an IPv6 /64) may have in progress at once; a further
    /// start is answered 429 until one finishes or expires.
    #[serde(deserialize_with = "lenient")]
    pub max_pending_per_client: i64,
}

impl Default for SignInSettings {
    fn default() -> Self {
        Self {
            retention_days: 180,
            max_pending_per_client: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// Lifetime of an admin console session (also capped by the SSO session it came from).
    #[serde(deserialize_with = "lenient")]
    pub session_ttl_secs: i64,
    /// How long a link from `ssogate admin bootstrap-link` can be used (once).
    #[serde(deserialize_with = "lenient")]
    pub bootstrap_link_ttl_secs: i64,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            session_ttl_secs: 8 * 3600,
            bootstrap_link_ttl_secs: 15 * 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IwmsSettings {
    /// Timeout of each delivery to a tenant's IWMS endpoint.
    #[serde(deserialize_with = "lenient")]
    pub http_timeout_secs: u64,
    /// How long a first sign-in waits for the IWMS to create the account.
    #[serde(deserialize_with = "lenient")]
    pub first_sign_in_wait_ms: u64,
    /// Failed attempts before an event is parked as dead.
    #[serde(deserialize_with = "lenient")]
    pub max_attempts: u32,
    /// Backoff after the first failure; it doubles per failure up to backoff_max_secs.
    #[serde(deserialize_with = "lenient")]
    pub backoff_base_secs: u64,
    #[serde(deserialize_with = "lenient")]
    pub backoff_max_secs: u64,
    /// How often the delivery worker looks for due events.
    #[serde(deserialize_with = "lenient")]
    pub poll_interval_ms: u64,
    /// Deliveries one worker keeps in flight (one per user at a time).
    #[serde(deserialize_with = "lenient")]
    pub batch_size: i64,
    /// Of those, at most this many for one tenant: a slow endpoint holds back only its own.
    #[serde(deserialize_with = "lenient")]
    pub tenant_concurrency: usize,
    /// A lease lasts the HTTP timeout plus this; after a crash, in-flight events are picked
    /// up again once it runs out.
    #[serde(deserialize_with = "lenient")]
    pub lease_grace_secs: u64,
    /// Delivered events older than this are purged by the cleanup job; 0 keeps them forever.
    #[serde(deserialize_with = "lenient")]
    pub delivered_retention_days: u32,
    /// Internal networks an IWMS endpoint may resolve to (an on-premises IWMS); empty: only
    /// public addresses, as for OpenID providers. Loopback only when listed.
    #[serde(deserialize_with = "networks")]
    pub allowed_networks: Vec<ipnet::IpNet>,
}

impl Default for IwmsSettings {
    fn default() -> Self {
        Self {
            http_timeout_secs: 10,
            first_sign_in_wait_ms: 2000,
            max_attempts: 12,
            backoff_base_secs: 2,
            backoff_max_secs: 3600,
            poll_interval_ms: 1000,
            batch_size: 16,
            tenant_concurrency: 8,
            lease_grace_secs: 30,
            delivered_retention_days: 30,
            allowed_networks: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScimSettings {
    /// Request bodies above this are refused with 413 before they are parsed.
    #[serde(deserialize_with = "lenient")]
    pub max_body_bytes: usize,
    /// The largest page a list or search returns (and the page size when `count` is absent).
    #[serde(deserialize_with = "lenient")]
    pub max_page_size: i64,
    /// The most users a trigram filter (`co`/`sw`/`ew`) may match, and the most users a tenant
    /// may have for a filter no index narrows (`ne`, `not`, `pr`, `title eq`, ...) to be
    /// answered; beyond either the list is `400 tooMany`.
    #[serde(deserialize_with = "lenient")]
    pub max_scanned_matches: i64,
}

impl Default for ScimSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_page_size: 200,
            max_scanned_matches: 10_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcClientSettings {
    /// Timeout of every call to a provider (discovery, JWKS, token, userinfo).
    #[serde(deserialize_with = "lenient")]
    pub http_timeout_secs: u64,
    /// An unknown `kid` refetches the JWKS at most this often per connection.
    #[serde(deserialize_with = "lenient")]
    pub jwks_refetch_interval_secs: i64,
    /// A cached JWKS older than this is refetched before use.
    #[serde(deserialize_with = "lenient")]
    pub jwks_max_age_secs: i64,
    /// How long an authorization request may be answered.
    #[serde(deserialize_with = "lenient")]
    pub request_ttl_secs: i64,
    /// Accept http:// and loopback provider endpoints (development and tests only).
    #[serde(deserialize_with = "lenient")]
    pub allow_http_loopback: bool,
}

impl Default for OidcClientSettings {
    fn default() -> Self {
        Self {
            allow_http_loopback: false,
            request_ttl_secs: 600,
            http_timeout_secs: 10,
            jwks_refetch_interval_secs: 60,
            jwks_max_age_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub host: String,
    #[serde(deserialize_with = "lenient")]
    pub port: u16,
    /// The public URL IdPs and browsers use; SAML endpoints are derived from it.
    pub base_url: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub workers: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see `http::client_addr`).
    pub trusted_proxies: TrustedProxies,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            base_url: None,
            workers: 2,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    pub url: String,
    #[serde(deserialize_with = "lenient")]
    pub pool_size: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/ssogate.db".into(),
            pool_size: 8,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    pub secret: Option<Secret>,
    pub secret_file: Option<PathBuf>,
    #[serde(deserialize_with = "lenient")]
    pub ttl_minutes: i64,
    pub cookie_name: String,
    pub cookie_domain: Option<String>,
    /// How long `/auth/verify` may answer a session from this instance's memory, 0-1000 ms
    /// (0: always from the database). A change made elsewhere reaches it within this time.
    #[serde(deserialize_with = "lenient")]
    pub verify_cache_ms: u64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            secret: None,
            secret_file: None,
            ttl_minutes: 480,
            cookie_name: "ssogate_session".into(),
            cookie_domain: None,
            verify_cache_ms: 500,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamlSettings {
    #[serde(deserialize_with = "lenient")]
    pub max_response_bytes: usize,
    #[serde(deserialize_with = "lenient")]
    pub request_ttl_secs: i64,
    /// PEM key and certificate used when a connection signs its AuthnRequests.
    pub sp_private_key_file: Option<PathBuf>,
    pub sp_certificate_file: Option<PathBuf>,
}

impl Default for SamlSettings {
    fn default() -> Self {
        Self {
            max_response_bytes: 256 * 1024,
            request_ttl_secs: 600,
            sp_private_key_file: None,
            sp_certificate_file: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobSettings {
    #[serde(deserialize_with = "lenient")]
    pub stale_check_interval_secs: u64,
    #[serde(deserialize_with = "lenient")]
    pub cleanup_interval_secs: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            stale_check_interval_secs: 3600,
            cleanup_interval_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DemoSettings {
    /// A built-in development IdP and demo tenant; refuses non-loopback listeners.
    #[serde(deserialize_with = "lenient")]
    pub enabled: bool,
}

impl Settings {
    /// Reads `path` (or config/default.toml when present) and applies `SSOGATE_*` overrides.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match path {
            Some(p) => read_table(p)?,
            None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
                read_table(Path::new(DEFAULT_CONFIG_PATH))?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if rest == "CONFIG" {
                continue;
            }
            let parts: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            let [section, key] = parts.as_slice() else {
                return Err(key_err(
                    &name,
                    "environment overrides are SSOGATE_<SECTION>__<KEY>, e.g. SSOGATE_SERVER__PORT",
                ));
            };
            let entry = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => {
                    t.insert(key.clone(), toml::Value::String(value));
                }
                _ => return Err(key_err(section, "must be a table")),
            }
        }
        let settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let path = e.path().to_string();
                key_err(
                    if path == "." { "(top level)" } else { &path },
                    e.into_inner(),
                )
            })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let base = self.base_url();
        let url = url::Url::parse(&base).map_err(|e| key_err("server.base_url", e))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(key_err(
                "server.base_url",
                "must be an http(s) URL without query or fragment",
            ));
        }
        check_database_url(&self.database.url)?;
        if self.database.pool_size == 0 {
            return Err(key_err("database.pool_size", "must be at least 1"));
        }
        if self.server.workers == 0 {
            return Err(key_err("server.workers", "must be at least 1"));
        }
        if !(1..=30 * 24 * 60).contains(&self.session.ttl_minutes) {
            return Err(key_err(
                "session.ttl_minutes",
                "must be between 1 and 43200 (30 days)",
            ));
        }
        if self.session.verify_cache_ms > 1000 {
            return Err(key_err(
                "session.verify_cache_ms",
                "must be between 0 and 1000: a sign-out or deactivation must reach every instance within a second",
            ));
        }
        for (key, secs) in [
            (
                "jobs.stale_check_interval_secs",
                self.jobs.stale_check_interval_secs,
            ),
            (
                "jobs.cleanup_interval_secs",
                self.jobs.cleanup_interval_secs,
            ),
        ] {
            if !(1..=86_400).contains(&secs) {
                return Err(key_err(key, "must be between 1 and 86400"));
            }
        }
        if !(60..=7 * 86400).contains(&self.admin.session_ttl_secs) {
            return Err(key_err(
                "admin.session_ttl_secs",
                "must be between 60 and 604800",
            ));
        }
        if !(60..=86400).contains(&self.admin.bootstrap_link_ttl_secs) {
            return Err(key_err(
                "admin.bootstrap_link_ttl_secs",
                "must be between 60 and 86400",
            ));
        }
        if !(60..=3600).contains(&self.saml.request_ttl_secs) {
            return Err(key_err(
                "saml.request_ttl_secs",
                "must be between 60 and 3600",
            ));
        }
        if self.saml.max_response_bytes < 1024 {
            return Err(key_err("saml.max_response_bytes", "must be at least 1024"));
        }
        if self.saml.sp_private_key_file.is_some() != self.saml.sp_certificate_file.is_some() {
            return Err(key_err(
                "saml.sp_private_key_file",
                "set both saml.sp_private_key_file and saml.sp_certificate_file, or neither",
            ));
        }
        if !(60..=3600).contains(&self.oidc.request_ttl_secs) {
            return Err(key_err(
                "oidc.request_ttl_secs",
                "must be between 60 and 3600",
            ));
        }
        if !(1..=60).contains(&self.oidc.http_timeout_secs) {
            return Err(key_err(
                "oidc.http_timeout_secs",
                "must be between 1 and 60",
            ));
        }
        if self.oidc.jwks_refetch_interval_secs < 0 {
            return Err(key_err(
                "oidc.jwks_refetch_interval_secs",
                "must be 0 or more",
            ));
        }
        if self.oidc.jwks_max_age_secs < 60 {
            return Err(key_err("oidc.jwks_max_age_secs", "must be at least 60"));
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.scim.max_body_bytes) {
            return Err(key_err(
                "scim.max_body_bytes",
                "must be between 1024 and 67108864",
            ));
        }
        let i = &self.iwms;
        if !(1..=120).contains(&i.http_timeout_secs) {
            return Err(key_err(
                "iwms.http_timeout_secs",
                "must be between 1 and 120",
            ));
        }
        if i.first_sign_in_wait_ms > 30_000 {
            return Err(key_err(
                "iwms.first_sign_in_wait_ms",
                "must be at most 30000",
            ));
        }
        if !(1..=100).contains(&i.max_attempts) {
            return Err(key_err("iwms.max_attempts", "must be between 1 and 100"));
        }
        if i.backoff_base_secs == 0 {
            return Err(key_err("iwms.backoff_base_secs", "must be at least 1"));
        }
        // The cap keeps `now + backoff` far from overflow and a parked retry within a week.
        if i.backoff_max_secs < i.backoff_base_secs || i.backoff_max_secs > 7 * 86_400 {
            return Err(key_err(
                "iwms.backoff_max_secs",
                "must be between iwms.backoff_base_secs and 604800 (7 days)",
            ));
        }
        if i.delivered_retention_days > 36_500 {
            return Err(key_err(
                "iwms.delivered_retention_days",
                "must be at most 36500 (0 keeps delivered events forever)",
            ));
        }
        if !(10..=60_000).contains(&i.poll_interval_ms) {
            return Err(key_err(
                "iwms.poll_interval_ms",
                "must be between 10 and 60000",
            ));
        }
        if !(1..=3600).contains(&i.lease_grace_secs) {
            return Err(key_err(
                "iwms.lease_grace_secs",
                "must be between 1 and 3600",
            ));
        }
        if !(1..=1000).contains(&i.batch_size) {
            return Err(key_err("iwms.batch_size", "must be between 1 and 1000"));
        }
        if !(1..=1000).contains(&i.tenant_concurrency) {
            return Err(key_err(
                "iwms.tenant_concurrency",
                "must be between 1 and 1000",
            ));
        }
        if !(1..=1_000_000).contains(&self.scim.max_scanned_matches) {
            return Err(key_err(
                "scim.max_scanned_matches",
                "must be between 1 and 1000000",
            ));
        }
        if !(1..=10_000).contains(&self.scim.max_page_size) {
            return Err(key_err("scim.max_page_size", "must be between 1 and 10000"));
        }
        for (key, value) in self.rate_limit.limits() {
            if !(1..=1_000_000).contains(&value) {
                return Err(key_err(key, "must be between 1 and 1000000"));
            }
        }
        if !(1..=36_500).contains(&self.sign_ins.retention_days) {
            return Err(key_err(
                "sign_ins.retention_days",
                "must be between 1 and 36500",
            ));
        }
        if !(1..=1_000_000).contains(&self.sign_ins.max_pending_per_client) {
            return Err(key_err(
                "sign_ins.max_pending_per_client",
                "must be between 1 and 1000000",
            ));
        }
        self.metrics.bind_addr()?;
        if !(1..=86_400).contains(&self.metrics.refresh_interval_secs) {
            return Err(key_err(
                "metrics.refresh_interval_secs",
                "must be between 1 and 86400",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| key_err("log.level", e))?;
        Ok(())
    }

    pub fn base_url(&self) -> String {
        self.server
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}:{}", self.server.host, self.server.port))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The session secret, from `session.secret` or `session.secret_file`; at least 32 bytes.
    pub fn session_secret(&self) -> Result<Secret, ConfigError> {
        let (key, raw) = match (&self.session.secret, &self.session.secret_file) {
            (Some(s), _) => ("session.secret", s.expose().trim().to_owned()),
            (None, Some(p)) => (
                "session.secret_file",
                std::fs::read_to_string(p)
                    .map_err(|e| {
                        key_err(
                            "session.secret_file",
                            format!("cannot read {}: {e}", p.display()),
                        )
                    })?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => {
                return Err(key_err(
                    "session.secret",
                    "required: set SSOGATE_SESSION__SECRET or session.secret_file (e.g. `openssl rand -base64 48 > data/session.key`)",
                ));
            }
        };
        if raw.len() < 32 {
            return Err(key_err(key, "must be at least 32 characters"));
        }
        Ok(Secret(raw))
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.parse::<toml::Table>().map_err(|e| ConfigError::Toml {
        path: path.to_owned(),
        message: e.message().to_owned(),
    })
}

/// `sqlite://path`, `sqlite:path`, a bare path, or `postgres(ql)://…`: anything else that
/// looks like a URL (another scheme, a quoted value from an env file) would otherwise become
/// an SQLite file of that name.
fn check_database_url(url: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| Err(key_err("database.url", why));
    if url.trim().is_empty() {
        return bad("must not be empty");
    }
    if url.starts_with(['"', '\'']) || url.ends_with(['"', '\'']) {
        return bad("is wrapped in quotes; give the URL without them");
    }
    if let Some((scheme, _)) = url.split_once("://")
        && !matches!(scheme, "sqlite" | "postgres" | "postgresql")
    {
        return bad("must be sqlite://path or postgres://user@host/db");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::maintenance::Retention;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn load_str(toml: &str, e: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, toml).unwrap();
        Settings::load(Some(&p), env(e))
    }

    #[test]
    fn env_overrides_file() {
        let s = load_str(
            "[server]\nport = 9000\n",
            &[("SSOGATE_SERVER__PORT", "9100"), ("OTHER", "x")],
        )
        .unwrap();
        assert_eq!(s.server.port, 9100);
    }

    #[test]
    fn unknown_and_bad_keys_are_named() {
        let e = load_str("[server]\nprot = 1\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("server") && e.contains("prot"), "{e}");
        let e = load_str("", &[("SSOGATE_SERVER__PORT", "eighty")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.port"), "{e}");
        let e = load_str("", &[("SSOGATE_NOPE__X", "1")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope"), "{e}");
        let e = load_str("[server]\nbase_url = \"ftp://x\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.base_url"), "{e}");
    }

    #[test]
    fn scim_limits_are_read_and_checked() {
        let s = load_str(
            "[scim]\nmax_page_size = 50\n",
            &[("SSOGATE_SCIM__MAX_BODY_BYTES", "4096")],
        )
        .unwrap();
        assert_eq!((s.scim.max_page_size, s.scim.max_body_bytes), (50, 4096));
        let e = load_str("[scim]\nmax_page_size = 0\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("scim.max_page_size"), "{e}");
        let e = load_str("", &[("SSOGATE_SCIM__MAX_BODY_BYTES", "10")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("scim.max_body_bytes"), "{e}");
    }

    #[test]
    fn iwms_networks_are_read_from_the_file_or_one_variable() {
        let nets = |s: Settings| {
            s.iwms
                .allowed_networks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert!(
            nets(load_str("", &[]).unwrap()).is_empty(),
            "none by default"
        );
        let s = load_str(
            "[iwms]\nallowed_networks = [\"10.20.5.7/16\", \"::1\"]\n",
            &[],
        )
        .unwrap();
        assert_eq!(nets(s), ["10.20.0.0/16", "::1/128"]);
        let s = load_str(
            "",
            &[(
                "SSOGATE_IWMS__ALLOWED_NETWORKS",
                "127.0.0.0/8, 192.168.1.10",
            )],
        )
        .unwrap();
        assert_eq!(nets(s), ["127.0.0.0/8", "192.168.1.10/32"]);
        let e = load_str("", &[("SSOGATE_IWMS__ALLOWED_NETWORKS", "10.0.0.0/33")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("iwms.allowed_networks"), "{e}");
    }

    #[test]
    fn delivered_outbox_retention_is_read_and_checked() {
        let keep = |s: Settings| Retention::from_settings(&s).delivered_outbox_secs;
        assert_eq!(keep(load_str("", &[]).unwrap()), Some(30 * 86_400));
        let s = load_str("[iwms]\ndelivered_retention_days = 7\n", &[]).unwrap();
        assert_eq!(keep(s), Some(7 * 86_400));
        let s = load_str("", &[("SSOGATE_IWMS__DELIVERED_RETENTION_DAYS", "0")]).unwrap();
        assert_eq!(keep(s), None, "0 keeps delivered events forever");
        for bad in ["-1", "40000", "soon"] {
            let e = load_str("", &[("SSOGATE_IWMS__DELIVERED_RETENTION_DAYS", bad)])
                .unwrap_err()
                .to_string();
            assert!(e.contains("iwms.delivered_retention_days"), "{bad}: {e}");
        }
        let e = load_str("[iwms]\nbackoff_max_secs = 9223372036854775807\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("iwms.backoff_max_secs"), "{e}");
    }

    #[test]
    fn each_bad_value_names_its_own_key() {
        for (env, value, key) in [
            (
                "SSOGATE_IWMS__BACKOFF_BASE_SECS",
                "0",
                "iwms.backoff_base_secs",
            ),
            (
                "SSOGATE_OIDC__JWKS_REFETCH_INTERVAL_SECS",
                "-1",
                "oidc.jwks_refetch_interval_secs",
            ),
            (
                "SSOGATE_OIDC__JWKS_MAX_AGE_SECS",
                "5",
                "oidc.jwks_max_age_secs",
            ),
            (
                "SSOGATE_JOBS__STALE_CHECK_INTERVAL_SECS",
                "0",
                "jobs.stale_check_interval_secs",
            ),
            (
                "SSOGATE_JOBS__CLEANUP_INTERVAL_SECS",
                "0",
                "jobs.cleanup_interval_secs",
            ),
            (
                "SSOGATE_SESSION__TTL_MINUTES",
                "9999999999",
                "session.ttl_minutes",
            ),
            (
                "SSOGATE_SESSION__VERIFY_CACHE_MS",
                "1001",
                "session.verify_cache_ms",
            ),
            ("SSOGATE_DATABASE__URL", "mysql://db/sso", "database.url"),
            ("SSOGATE_DATABASE__URL", "POSTGRES://db/sso", "database.url"),
            (
                "SSOGATE_DATABASE__URL",
                "\"postgres://u:pw@h/db\"",
                "database.url",
            ),
            ("SSOGATE_DATABASE__URL", "", "database.url"),
            ("SSOGATE_METRICS__BIND", "localhost", "metrics.bind"),
            ("SSOGATE_METRICS__BIND", "127.0.0.1:99999", "metrics.bind"),
            (
                "SSOGATE_METRICS__REFRESH_INTERVAL_SECS",
                "0",
                "metrics.refresh_interval_secs",
            ),
        ] {
            let e = load_str("", &[(env, value)]).unwrap_err().to_string();
            assert!(e.contains(&format!("`{key}`")), "{env}={value}: {e}");
        }
        for ok in [
            "sqlite://data/x.db",
            "sqlite:x.db",
            "data/x.db",
            "postgresql://u@h/db",
        ] {
            assert!(
                load_str("", &[("SSOGATE_DATABASE__URL", ok)]).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn sign_in_history_bounds_are_read_and_checked() {
        let s = load_str("", &[]).unwrap();
        assert_eq!(
            Retention::from_settings(&s).sign_ins_secs,
            180 * 86_400,
            "the default"
        );
        assert_eq!(s.sign_ins.max_pending_per_client, 100, "the default");
        let s = load_str(
            "[sign_ins]\nretention_days = 30\n",
            &[("SSOGATE_SIGN_INS__MAX_PENDING_PER_CLIENT", "7")],
        )
        .unwrap();
        assert_eq!(Retention::from_settings(&s).sign_ins_secs, 30 * 86_400);
        assert_eq!(s.sign_ins.max_pending_per_client, 7);
        for (env, bad, key) in [
            (
                "SSOGATE_SIGN_INS__RETENTION_DAYS",
                "0",
                "sign_ins.retention_days",
            ),
            (
                "SSOGATE_SIGN_INS__RETENTION_DAYS",
                "99999",
                "sign_ins.retention_days",
            ),
            (
                "SSOGATE_SIGN_INS__RETENTION_DAYS",
                "-1",
                "sign_ins.retention_days",
            ),
            (
                "SSOGATE_SIGN_INS__MAX_PENDING_PER_CLIENT",
                "0",
                "sign_ins.max_pending_per_client",
            ),
        ] {
            let e = load_str("", &[(env, bad)]).unwrap_err().to_string();
            assert!(e.contains(&format!("`{key}`")), "{env}={bad}: {e}");
        }
    }

    #[test]
    fn secrets_are_redacted_and_checked() {
        let s = load_str("", &[("SSOGATE_SESSION__SECRET", "short")]).unwrap();
        assert!(!format!("{s:?}").contains("short"));
        assert!(
            s.session_secret()
                .unwrap_err()
                .to_string()
                .contains("session.secret")
        );
    }
    #[test]
    fn trusted_proxies_are_parsed_from_a_list_or_a_comma_string() {
        let s = load_str(
            "[server]\ntrusted_proxies = [\"10.0.0.1\", \"192.168.0.0/16\", \"::1\"]\n",
            &[],
        )
        .unwrap();
        let p = &s.server.trusted_proxies;
        assert!(p.contains("10.0.0.1".parse().unwrap()));
        assert!(!p.contains("10.0.0.2".parse().unwrap()));
        assert!(p.contains("192.168.44.5".parse().unwrap()));
        assert!(p.contains("::1".parse().unwrap()));
        assert!(
            p.contains("::ffff:10.0.0.1".parse().unwrap()),
            "IPv4-mapped IPv6 is IPv4"
        );
        let s = load_str(
            "",
            &[(
                "SSOGATE_SERVER__TRUSTED_PROXIES",
                "10.1.0.0/16, 2001:db8::/32",
            )],
        )
        .unwrap();
        assert!(
            s.server
                .trusted_proxies
                .contains("10.1.2.3".parse().unwrap())
        );
        assert!(
            s.server
                .trusted_proxies
                .contains("2001:db8:1::7".parse().unwrap())
        );
        assert!(load_str("", &[]).unwrap().server.trusted_proxies.is_empty());
        for bad in ["proxy.local", "10.0.0.0/33", "10.0.0.1,*"] {
            let e = load_str("", &[("SSOGATE_SERVER__TRUSTED_PROXIES", bad)])
                .unwrap_err()
                .to_string();
            assert!(e.contains("`server.trusted_proxies`"), "{bad}: {e}");
        }
        let e = load_str(
            "[server]\ntrusted_proxies = [\"10.0.0.1\", \"nope\"]\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("server.trusted_proxies") && e.contains("nope"),
            "{e}"
        );
    }

    #[test]
    fn rate_limits_are_read_and_checked() {
        let s = load_str("", &[]).unwrap();
        assert!(s.rate_limit.enabled, "rate limits are on by default");
        let s = load_str(
            "[rate_limit]\nenabled = false\nclient_burst = 5\n",
            &[("SSOGATE_RATE_LIMIT__SCIM_TOKEN_PER_MINUTE", "60")],
        )
        .unwrap();
        assert!(!s.rate_limit.enabled);
        assert_eq!(
            (
                s.rate_limit.client_burst,
                s.rate_limit.scim_token_per_minute
            ),
            (5, 60)
        );
        for key in [
            "client_per_minute",
            "client_burst",
            "tenant_per_minute",
            "tenant_burst",
            "scim_token_per_minute",
            "scim_token_burst",
            "api_token_per_minute",
            "api_token_burst",
        ] {
            let env = format!("SSOGATE_RATE_LIMIT__{}", key.to_ascii_uppercase());
            let e = load_str("", &[(env.as_str(), "0")])
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("`rate_limit.{key}`")), "{key}: {e}");
        }
        let e = load_str("", &[("SSOGATE_RATE_LIMIT__ENABLED", "maybe")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("rate_limit.enabled"), "{e}");
    }
    #[test]
    fn the_shipped_config_file_holds_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH);
        let s = Settings::load(Some(&path), Vec::new()).unwrap();
        let d = RateLimitSettings::default();
        assert_eq!(s.rate_limit.enabled, d.enabled);
        assert_eq!(s.rate_limit.limits(), d.limits());
        assert!(s.server.trusted_proxies.is_empty());
        let d = SignInSettings::default();
        assert_eq!(s.sign_ins.retention_days, d.retention_days);
        assert_eq!(s.sign_ins.max_pending_per_client, d.max_pending_per_client);
        let d = IwmsSettings::default();
        assert_eq!(s.iwms.tenant_concurrency, d.tenant_concurrency);
        assert_eq!(s.iwms.allowed_networks, d.allowed_networks);
        let d = MetricsSettings::default();
        assert_eq!(s.metrics.bind, d.bind);
        assert_eq!(s.metrics.refresh_interval_secs, d.refresh_interval_secs);
    }

    #[test]
    fn metrics_listener_is_read_or_turned_off() {
        let s = load_str("", &[]).unwrap();
        assert_eq!(
            s.metrics.bind_addr().unwrap(),
            Some("127.0.0.1:9464".parse().unwrap())
        );
        let s = load_str("[metrics]\nbind = \"\"\n", &[]).unwrap();
        assert_eq!(s.metrics.bind_addr().unwrap(), None);
        let s = load_str("", &[("SSOGATE_METRICS__BIND", "[::1]:9100")]).unwrap();
        assert_eq!(
            s.metrics.bind_addr().unwrap(),
            Some("[::1]:9100".parse().unwrap())
        );
    }
}
