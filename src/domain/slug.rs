use std::fmt;

/// A URL-safe identifier for tenants and connections: 1-63 of `a-z 0-9 -`, starting
/// with a letter or digit. It appears in public URLs, so it is restrictive on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{0}` is not a valid slug: use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit"
)]
pub struct InvalidSlug(pub String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, InvalidSlug> {
        let ok = !raw.is_empty()
            && raw.len() <= 63
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && raw.as_bytes()[0] != b'-';
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidSlug(truncate_for_message(raw)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn truncate_for_message(raw: &str) -> String {
    raw.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_simple_slugs() {
        assert_eq!(Slug::parse("acme-2").unwrap().as_str(), "acme-2");
    }

    #[test]
    fn rejects_unsafe_slugs() {
        for bad in ["", "-acme", "Acme", "a/b", "a b", "../x", &"a".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
