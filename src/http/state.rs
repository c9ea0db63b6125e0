use std::sync::Arc;

use openssl::pkey::{PKey, Private};

use crate::clock::Clock;
use crate::config::{Secret, Settings};
use crate::protocol::saml::SpEndpoints;
use crate::storage::DbPool;

/// The SP key used when a connection signs its AuthnRequests.
pub struct SpSigning {
    pub key: PKey<Private>,
    /// Base64 DER, as it appears in SP metadata.
    pub certificate_b64: String,
}

pub struct AppState {
    pub pool: DbPool,
    pub settings: Settings,
    pub base_url: String,
    pub clock: Arc<dyn Clock>,
    pub session_secret: Secret,
    pub secure_cookies: bool,
    pub sp_signing: Option<SpSigning>,
    /// For calls to OpenID providers: timeouts, no redirects.
    pub oidc_http: reqwest::Client,
    /// Delivers IWMS events; a first sign-in uses it to wait for account creation.
    pub iwms: crate::service::outbox::Deliverer,
    /// The built-in rate limits (`rate_limit.*`); see `http::rate_limit`.
    pub limits: crate::service::rate_limit::RateLimits,
    /// This application's Prometheus registry (`metrics.bind`); bumped by the HTTP layer.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// `/auth/verify`'s recent session lookups (`session.verify_cache_ms`).
    pub verify_cache: crate::service::verify_cache::VerifyCache,
}

impl AppState {
    pub fn oidc_redirect_uri(&self, tenant: &str, connection: &str) -> String {
        crate::protocol::oidc::redirect_uri(&self.base_url, tenant, connection)
    }

    pub fn sp_endpoints(&self, tenant: &str, connection: &str) -> SpEndpoints {
        SpEndpoints::new(&self.base_url, tenant, connection)
    }
}
