//! The audit trail's vocabulary: who changed something, and what kind of change it was.
use serde::Serialize;

/// Who made a change: a console admin (their email), an admin API token (its label), or an
/// operator at the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Console { email: String },
    Api { token_id: i64, token_label: String },
    Cli,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Console { .. } => "console",
            Actor::Api { .. } => "api",
            Actor::Cli => "cli",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Actor::Console { email } => email,
            Actor::Api { token_label, .. } => token_label,
            Actor::Cli => "cli",
        }
    }

    /// How grants and user timelines name them ("by whom").
    pub fn label(&self) -> String {
        match self {
            Actor::Console { email } => email.clone(),
            Actor::Api {
                token_id,
                token_label,
            } => format!("api token {token_id} ({token_label})"),
            Actor::Cli => "cli".to_owned(),
        }
    }
}

/// What an admin changed. The stored and rendered form is `as_str` (`connection.updated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuditAction {
    TenantCreated,
    TenantUpdated,
    DomainAdded,
    DomainRemoved,
    ConnectionCreated,
    ConnectionUpdated,
    ConnectionRemoved,
    AdminGranted,
    AdminRevoked,
    AdminTokenCreated,
    AdminTokenRevoked,
    ScimTokenCreated,
    ScimTokenRevoked,
    UserCreated,
    UserDeactivated,
    UserReactivated,
    IdentityUnlinked,
    IdentityLinked,
    OutboxRetried,
    RoleRuleAdded,
    RoleRuleRemoved,
    UserRolesSet,
    ForwardedAttributesSet,
}

impl AuditAction {
    pub const ALL: [AuditAction; 23] = [
        AuditAction::TenantCreated,
        AuditAction::TenantUpdated,
        AuditAction::DomainAdded,
        AuditAction::DomainRemoved,
        AuditAction::ConnectionCreated,
        AuditAction::ConnectionUpdated,
        AuditAction::ConnectionRemoved,
        AuditAction::AdminGranted,
        AuditAction::AdminRevoked,
        AuditAction::AdminTokenCreated,
        AuditAction::AdminTokenRevoked,
        AuditAction::ScimTokenCreated,
        AuditAction::ScimTokenRevoked,
        AuditAction::UserCreated,
        AuditAction::UserDeactivated,
        AuditAction::UserReactivated,
        AuditAction::IdentityUnlinked,
        AuditAction::IdentityLinked,
        AuditAction::OutboxRetried,
        AuditAction::RoleRuleAdded,
        AuditAction::RoleRuleRemoved,
        AuditAction::UserRolesSet,
        AuditAction::ForwardedAttributesSet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::TenantCreated => "tenant.created",
            AuditAction::TenantUpdated => "tenant.updated",
            AuditAction::DomainAdded => "domain.added",
            AuditAction::DomainRemoved => "domain.removed",
            AuditAction::ConnectionCreated => "connection.created",
            AuditAction::ConnectionUpdated => "connection.updated",
            AuditAction::ConnectionRemoved => "connection.removed",
            AuditAction::AdminGranted => "admin.granted",
            AuditAction::AdminRevoked => "admin.revoked",
            AuditAction::AdminTokenCreated => "admin_token.created",
            AuditAction::AdminTokenRevoked => "admin_token.revoked",
            AuditAction::ScimTokenCreated => "scim_token.created",
            AuditAction::ScimTokenRevoked => "scim_token.revoked",
            AuditAction::UserCreated => "user.created",
            AuditAction::UserDeactivated => "user.deactivated",
            AuditAction::UserReactivated => "user.reactivated",
            AuditAction::IdentityUnlinked => "user.identity_unlinked",
            AuditAction::IdentityLinked => "user.identity_linked",
            AuditAction::OutboxRetried => "outbox.retried",
            AuditAction::RoleRuleAdded => "role_rule.added",
            AuditAction::RoleRuleRemoved => "role_rule.removed",
            AuditAction::UserRolesSet => "user.roles_set",
            AuditAction::ForwardedAttributesSet => "tenant.forwarded_attributes_set",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

/// Keys whose values are never written to the trail, at any depth of a snapshot.
const SECRET_KEYS: [&str; 6] = [
    "client_secret",
    "secret",
    "token",
    "token_hash",
    "iwms_secret",
    "password",
];

/// A snapshot with every secret-named value replaced by `"(secret)"`, so a view that grows a
/// secret field later still cannot leak it into the trail.
pub fn redact(mut v: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    if SECRET_KEYS.contains(&k.as_str()) && !val.is_null() {
                        *val = serde_json::Value::String("(secret)".into());
                    } else {
                        walk(val);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(AuditAction::parse("tenant.deleted"), None);
    }

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let v = serde_json::json!({"oidc": {"client_secret": "s3"}, "list": [{"token": "t"}], "name": "n"});
        let r = redact(v);
        assert_eq!(r["oidc"]["client_secret"], "(secret)");
        assert_eq!(r["list"][0]["token"], "(secret)");
        assert_eq!(r["name"], "n");
    }
}
