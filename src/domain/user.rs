use super::email::EmailAddress;
use super::ids::{TenantId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Deactivated,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Self::Active),
            "deactivated" => Some(Self::Deactivated),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CreatedVia {
    Sso,
    Scim,
    Admin,
}

impl CreatedVia {
    pub fn as_str(self) -> &'static str {
        match self {
            CreatedVia::Sso => "sso",
            CreatedVia::Scim => "scim",
            CreatedVia::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: EmailAddress,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub iwms_id: Option<String>,
    pub status: UserStatus,
    pub created_via: String,
    pub stale_since: Option<i64>,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set by SCIM DELETE: hidden from SCIM, deactivated, kept.
    pub deprovisioned_at: Option<i64>,
}

// The one definition of the user-list statuses, for the console's tabs, the API's `view` and
// the CLI's `--status`. Deactivated excludes SCIM-deprovisioned users: they are their own
// status. (The doc line below is the OpenAPI description: keep it.)
/// The console's tabs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum UserViewKind {
    /// Status active, not flagged stale, not deprovisioned.
    Active,
    /// Flagged stale (no sign-in for the tenant's `stale_after_days`), not deprovisioned.
    Stale,
    /// Status deactivated (by SCIM or an admin), not deprovisioned.
    Deactivated,
    /// Deprovisioned by SCIM DELETE.
    Deprovisioned,
    All,
}

impl UserViewKind {
    /// In the order of the console's tabs.
    pub const ALL: [UserViewKind; 5] = [
        UserViewKind::Active,
        UserViewKind::Stale,
        UserViewKind::Deactivated,
        UserViewKind::Deprovisioned,
        UserViewKind::All,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserViewKind::Active => "active",
            UserViewKind::Stale => "stale",
            UserViewKind::Deactivated => "deactivated",
            UserViewKind::Deprovisioned => "deprovisioned",
            UserViewKind::All => "all",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == raw)
    }
}
