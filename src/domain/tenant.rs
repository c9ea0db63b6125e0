use super::email::EmailDomain;
use super::ids::TenantId;
use super::iwms::IwmsFeed;
use super::return_to::AllowedOrigin;
use super::scim::user::IwmsSource;
use super::slug::Slug;

pub const DEFAULT_STALE_AFTER_DAYS: u32 = 90;

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: Slug,
    pub display_name: String,
    pub auto_create_users: bool,
    /// The IdP attribute that carries the IWMS ID, if the tenant uses one.
    pub iwms_attribute: Option<String>,
    /// The SCIM attribute that carries the IWMS ID, if SCIM clients send one.
    pub scim_iwms_attribute: Option<IwmsSource>,
    /// Where user changes are sent, and whether IWMS accounts are created.
    pub iwms: IwmsFeed,
    pub stale_after_days: u32,
    pub allowed_return_origins: Vec<AllowedOrigin>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The tenant facts the provisioning decision needs.
#[derive(Debug, Clone)]
pub struct TenantPolicy {
    pub auto_create_users: bool,
    pub whitelisted_domains: Vec<EmailDomain>,
    pub iwms_attribute_configured: bool,
}

impl TenantPolicy {
    pub fn domain_whitelisted(&self, d: &EmailDomain) -> bool {
        self.whitelisted_domains.iter().any(|w| w == d)
    }
}

/// A display name must be something an admin can read back: 1-200 printable characters.
pub fn parse_display_name(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > 200 || t.chars().any(char::is_control) {
        Err("display name must be 1-200 printable characters".into())
    } else {
        Ok(t.to_owned())
    }
}

pub fn parse_stale_after_days(days: i64) -> Result<u32, String> {
    if (1..=3650).contains(&days) {
        Ok(days as u32)
    } else {
        Err(format!(
            "stale_after_days must be between 1 and 3650, got {days}"
        ))
    }
}
