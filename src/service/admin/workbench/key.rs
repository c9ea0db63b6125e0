//! A row's key: how actions (and the next page's cursor) name a row.
use std::fmt;

/// What a row's key names: a person's newest refused attempt, or a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKey {
    Attempt(i64),
    User(i64),
}

impl RowKey {
    /// `attempt:<id>` or `user:<id>` (ids are positive).
    pub fn parse(raw: &str) -> Option<Self> {
        let (kind, id) = raw.trim().split_once(':')?;
        let id: i64 = id.parse().ok().filter(|i| *i > 0)?;
        match kind {
            "attempt" => Some(RowKey::Attempt(id)),
            "user" => Some(RowKey::User(id)),
            _ => None,
        }
    }
}

impl fmt::Display for RowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowKey::Attempt(id) => write!(f, "attempt:{id}"),
            RowKey::User(id) => write!(f, "user:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_keys_round_trip_and_refuse_the_rest() {
        for k in [RowKey::Attempt(7), RowKey::User(12)] {
            assert_eq!(RowKey::parse(&k.to_string()), Some(k));
        }
        for bad in [
            "", "user", "user:", "user:0", "user:-1", "group:3", "user:1x", "7",
        ] {
            assert_eq!(RowKey::parse(bad), None, "{bad}");
        }
    }
}
