//! What a person types at `/`: a work email or a tenant ID (Spacewell's "Workplace ID or
//! e-mail address").
use super::email::EmailAddress;
use super::slug::Slug;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInName {
    Email(EmailAddress),
    TenantId(Slug),
}

impl SignInName {
    /// An `@` makes it an email; anything else must be a tenant ID. Tenant IDs are matched
    /// without regard to case or surrounding blanks, as people type them.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.contains('@') {
            return EmailAddress::parse(raw).ok().map(Self::Email);
        }
        Slug::parse(&raw.to_ascii_lowercase())
            .ok()
            .map(Self::TenantId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_tenant_ids() {
        assert!(matches!(
            SignInName::parse("a@acme.test"),
            Some(SignInName::Email(_))
        ));
        assert_eq!(
            SignInName::parse("  Acme-2 "),
            Some(SignInName::TenantId(Slug::parse("acme-2").unwrap()))
        );
        for bad in ["", "not an email", "a@", "-acme", "acme/x", "ac me", "../t"] {
            assert_eq!(SignInName::parse(bad), None, "{bad}");
        }
    }
}
