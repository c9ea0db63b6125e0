//! A SCIM Group: a display name, the client's externalId, and member users.
use serde_json::{Map, Value, json};

use super::error::{ScimError, quote};
use super::normalize;
use super::schema::{GROUP, GROUP_RESOURCE};
use crate::clock::rfc3339;

const MAX_NAME_CHARS: usize = 256;

#[derive(Debug, Clone)]
pub struct GroupFields {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Member user ids, in the order given, without repeats.
    pub members: Vec<i64>,
    /// The `$ref`s members were sent with; they must point at the member (see [`check_refs`]).
    pub refs: Vec<(i64, String)>,
}

impl GroupFields {
    /// A member's `$ref` is derived from its id; one pointing anywhere else is an error,
    /// not silently replaced.
    pub fn check_refs(&self, base: &str) -> Result<(), ScimError> {
        for (id, r) in &self.refs {
            let canonical = format!("{base}/Users/{id}");
            let relative = format!("Users/{id}");
            if r != &canonical && r.trim_start_matches('/') != relative {
                return Err(ScimError::invalid_value(format!(
                    "member {id}: `$ref` must be {canonical}"
                )));
            }
        }
        Ok(())
    }
}

impl GroupFields {
    pub fn from_body(body: &Value) -> Result<Self, ScimError> {
        let doc = normalize::resource(body, &GROUP_RESOURCE)?;
        let display_name = doc
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        if display_name.is_empty()
            || display_name.chars().count() > MAX_NAME_CHARS
            || display_name.chars().any(char::is_control)
        {
            return Err(ScimError::invalid_value(format!(
                "`displayName` must be one line of 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        let mut members = Vec::new();
        let mut refs = Vec::new();
        for m in doc
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = m.get("type").and_then(Value::as_str)
                && !t.eq_ignore_ascii_case("User")
            {
                return Err(ScimError::invalid_value(format!(
                    "member type `{}` is not supported: members are users (no nested groups)",
                    quote(t)
                )));
            }
            let raw = m.get("value").and_then(Value::as_str).ok_or_else(|| {
                ScimError::invalid_value("each member needs a `value` (a user id)")
            })?;
            let id = raw.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "member `{}` is not a user of this tenant",
                    quote(raw)
                ))
            })?;
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                refs.push((id, r.to_owned()));
            }
            members.push(id);
        }
        let mut seen = std::collections::HashSet::with_capacity(members.len());
        members.retain(|id| seen.insert(*id));
        Ok(Self {
            refs,
            display_name,
            external_id: doc
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            members,
        })
    }
}

#[derive(Debug, Clone)]
pub struct StoredGroup {
    pub id: i64,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: i64,
    pub display: Option<String>,
}

/// The group as GET returns it; `members` is None when the client excluded them (they are
/// not even loaded then).
pub fn render(g: &StoredGroup, members: Option<&[Member]>, base: &str) -> Value {
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([GROUP]));
    doc.insert("id".into(), Value::from(g.id.to_string()));
    doc.insert("displayName".into(), Value::from(g.display_name.as_str()));
    if let Some(e) = &g.external_id {
        doc.insert("externalId".into(), Value::from(e.as_str()));
    }
    if let Some(ms) = members.filter(|m| !m.is_empty()) {
        doc.insert(
            "members".into(),
            ms.iter()
                .map(|m| {
                    let mut v = json!({"value": m.user_id.to_string(), "$ref": format!("{base}/Users/{}", m.user_id), "type": "User"});
                    if let Some(d) = &m.display {
                        v["display"] = Value::from(d.as_str());
                    }
                    v
                })
                .collect(),
        );
    }
    doc.insert(
        "meta".into(),
        json!({"resourceType": "Group", "created": rfc3339(g.created_at),
               "lastModified": rfc3339(g.updated_at), "location": format!("{base}/Groups/{}", g.id)}),
    );
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_refs_must_point_at_the_member() {
        let base = "https://sso.test/t/acme/scim/v2";
        let g = |r: &str| {
            GroupFields::from_body(&json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": "7", "$ref": r}]})).unwrap()
        };
        assert!(g(&format!("{base}/Users/7")).check_refs(base).is_ok());
        assert!(g("/Users/7").check_refs(base).is_ok());
        assert!(g(&format!("{base}/Users/8")).check_refs(base).is_err());
        assert!(g("https://evil.test/Users/7").check_refs(base).is_err());
    }

    #[test]
    fn members_are_user_ids_without_repeats() {
        let g = GroupFields::from_body(&json!({"schemas": [GROUP], "displayName": " Eng ",
            "members": [{"value": "2", "display": "ignored"}, {"value": "2"}, {"value": "5", "type": "User"}]}))
        .unwrap();
        assert_eq!((g.display_name.as_str(), g.members), ("Eng", vec![2, 5]));
        for bad in [
            json!({"schemas": [GROUP]}),
            json!({"schemas": [GROUP], "displayName": "x", "members": [{"value": "abc"}]}),
            json!({"schemas": [GROUP], "displayName": "x", "members": [{"value": "1", "type": "Group"}]}),
            json!({"schemas": [GROUP], "displayName": "x", "members": [{"display": "no value"}]}),
        ] {
            assert_eq!(
                GroupFields::from_body(&bad).unwrap_err().status,
                400,
                "{bad}"
            );
        }
    }
}
