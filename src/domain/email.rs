use std::fmt;

use super::slug::truncate_for_message;

/// A DNS domain as admins whitelist it: lower-case ASCII labels (IDNs in punycode form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailDomain(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidEmail {
    #[error("`{0}` is not a valid domain name (use lower-case ASCII labels, punycode for IDNs)")]
    Domain(String),
    #[error("`{0}` is not a valid email address")]
    Address(String),
}

impl EmailDomain {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let labels_ok = d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if d.len() <= 253 && d.contains('.') && labels_ok {
            Ok(Self(d))
        } else {
            Err(InvalidEmail::Domain(truncate_for_message(raw)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, normalised to lower case. Only the shape is checked: the IdP vouches
/// for the mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    full: String,
    at: usize,
}

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        // ASCII case folding only: Unicode folding would make "\u{212A}eith" (Kelvin sign)
        // collide with "keith".
        // A fully qualified domain's trailing dot names the same domain: drop it, as
        // EmailDomain does, so `domain()` matches the whitelist.
        let full = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let bad = || InvalidEmail::Address(truncate_for_message(raw));
        let at = full.rfind('@').ok_or_else(bad)?;
        let local = &full[..at];
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local.chars().all(|c| !c.is_control() && !c.is_whitespace());
        if !local_ok || full.len() > 254 {
            return Err(bad());
        }
        EmailDomain::parse(&full[at + 1..]).map_err(|_| bad())?;
        Ok(Self { full, at })
    }

    pub fn as_str(&self) -> &str {
        &self.full
    }

    pub fn domain(&self) -> EmailDomain {
        EmailDomain(self.full[self.at + 1..].to_owned())
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_extracts_domain() {
        let e = EmailAddress::parse(" Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ada.lovelace@example.com");
        assert_eq!(e.domain().as_str(), "example.com");
        let fqdn = EmailAddress::parse("ada@example.com.").unwrap();
        assert_eq!(fqdn.as_str(), "ada@example.com");
        assert_eq!(fqdn.domain().as_str(), "example.com");
    }

    #[test]
    fn only_ascii_letters_are_case_folded() {
        let kelvin = EmailAddress::parse("\u{212A}eith@acme.test").unwrap();
        assert_ne!(kelvin, EmailAddress::parse("keith@acme.test").unwrap());
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a@-x.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn domains_are_lowercased_and_validated() {
        assert_eq!(
            EmailDomain::parse("Example.COM.").unwrap().as_str(),
            "example.com"
        );
        assert!(EmailDomain::parse("localhost").is_err());
        assert!(EmailDomain::parse("ex_ample.com").is_err());
    }
}
