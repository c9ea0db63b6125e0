//! List parameters (RFC 7644 §3.4.2): filter, 1-based startIndex, count, and the
//! attributes / excludedAttributes projection applied to each returned resource.
use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::{self, Filter};
use super::schema::ResourceSchema;

#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub start_index: i64,
    pub count: i64,
    pub projection: Projection,
}

fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Projection {
    pub fn from_params(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        Self {
            attributes: attributes.map(split_list).unwrap_or_default(),
            excluded: excluded.map(split_list).unwrap_or_default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }
}

fn int_param(name: &str, raw: Option<&str>) -> Result<Option<i64>, ScimError> {
    raw.map(|r| {
        r.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::invalid_value(format!("`{name}` must be an integer")))
    })
    .transpose()
}

impl ListQuery {
    /// `startIndex` below 1 counts as 1; `count` is capped at `max_page` (the default page size
    /// too) and below 0 counts as 0 (RFC 7644 §3.4.2.4).
    pub fn parse(
        filter: Option<&str>,
        start_index: Option<&str>,
        count: Option<&str>,
        projection: Projection,
        max_page: i64,
    ) -> Result<Self, ScimError> {
        let filter = filter
            .filter(|f| !f.trim().is_empty())
            .map(|f| filter::parse(f).map_err(|e| ScimError::invalid_filter(e.0)))
            .transpose()?;
        Ok(Self {
            filter,
            start_index: int_param("startIndex", start_index)?.unwrap_or(1).max(1),
            count: int_param("count", count)?
                .unwrap_or(max_page)
                .clamp(0, max_page),
            projection,
        })
    }

    /// A POST …/.search body (RFC 7644 §3.4.3).
    pub fn from_search(body: &Value, max_page: i64) -> Result<Self, ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
        let field = |n: &str| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v)
        };
        let text = |n: &str| -> Result<Option<String>, ScimError> {
            match field(n) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(x)) => Ok(Some(x.to_string())),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "`{n}` has the wrong type"
                ))),
            }
        };
        let projection = Projection::from_params(
            text("attributes")?.as_deref(),
            text("excludedAttributes")?.as_deref(),
        );
        Self::parse(
            text("filter")?.as_deref(),
            text("startIndex")?.as_deref(),
            text("count")?.as_deref(),
            projection,
            max_page,
        )
    }

    pub fn offset(&self) -> i64 {
        self.start_index - 1
    }
}

/// Matches `name` (`emails`, `name.givenName`, `urn:…:User:employeeNumber`) against a
/// resource key and optional sub-key, case-insensitively.
fn names(raw: &str, rs: &ResourceSchema) -> (Option<&'static str>, String, Option<String>) {
    let mut rest = raw;
    let mut ext = None;
    for uri in rs.schema_uris() {
        if raw
            .get(..uri.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(uri))
        {
            if raw.len() == uri.len() {
                return (Some(uri), String::new(), None);
            }
            if raw.as_bytes()[uri.len()] == b':' {
                rest = &raw[uri.len() + 1..];
                ext = (uri != rs.core).then_some(uri);
            }
        }
    }
    match rest.split_once('.') {
        Some((a, s)) => (ext, a.to_owned(), Some(s.to_owned())),
        None => (ext, rest.to_owned(), None),
    }
}

fn key_of(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

const ALWAYS: &[&str] = &["id", "schemas"];

/// Applies the projection; `id` and `schemas` are always returned.
pub fn project(resource: Value, p: &Projection, rs: &ResourceSchema) -> Value {
    let Value::Object(full) = resource else {
        return resource;
    };
    if !p.attributes.is_empty() {
        let mut out = Map::new();
        for k in ALWAYS {
            if let Some(v) = full.get(*k) {
                out.insert((*k).to_owned(), v.clone());
            }
        }
        for raw in &p.attributes {
            let (ext, attr, sub) = names(raw, rs);
            let source = match ext {
                Some(u) => match full.get(u).and_then(Value::as_object) {
                    Some(o) => o,
                    None => continue,
                },
                None => &full,
            };
            if attr.is_empty() {
                if let Some(u) = ext {
                    out.insert(u.to_owned(), full[u].clone());
                }
                continue;
            }
            let Some(k) = key_of(source, &attr) else {
                continue;
            };
            let picked = match &sub {
                None => source[&k].clone(),
                Some(s) => match &source[&k] {
                    Value::Object(o) => match key_of(o, s) {
                        Some(sk) => Value::Object(Map::from_iter([(sk.clone(), o[&sk].clone())])),
                        None => continue,
                    },
                    Value::Array(items) => Value::Array(
                        items
                            .iter()
                            .filter_map(|i| {
                                let o = i.as_object()?;
                                let sk = key_of(o, s)?;
                                Some(Value::Object(Map::from_iter([(
                                    sk.clone(),
                                    o[&sk].clone(),
                                )])))
                            })
                            .collect(),
                    ),
                    _ => continue,
                },
            };
            let target = match ext {
                Some(u) => out
                    .entry(u.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut(),
                None => Some(&mut out),
            };
            if let Some(t) = target {
                match (t.get_mut(&k), picked) {
                    (Some(Value::Object(have)), Value::Object(more)) => have.extend(more),
                    (_, v) => {
                        t.insert(k, v);
                    }
                }
            }
        }
        return Value::Object(out);
    }
    let mut out = full;
    for raw in &p.excluded {
        let (ext, attr, sub) = names(raw, rs);
        if ext.is_none() && ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&attr)) && sub.is_none() {
            continue;
        }
        let container = match ext {
            Some(u) if attr.is_empty() => {
                out.remove(u);
                continue;
            }
            Some(u) => match out.get_mut(u).and_then(Value::as_object_mut) {
                Some(o) => o,
                None => continue,
            },
            None => &mut out,
        };
        let Some(k) = key_of(container, &attr) else {
            continue;
        };
        match &sub {
            None => {
                container.remove(&k);
            }
            Some(s) => match container.get_mut(&k) {
                Some(Value::Object(o)) => {
                    if let Some(sk) = key_of(o, s) {
                        o.remove(&sk);
                    }
                }
                Some(Value::Array(items)) => {
                    for i in items.iter_mut() {
                        if let Some(o) = i.as_object_mut()
                            && let Some(sk) = key_of(o, s)
                        {
                            o.remove(&sk);
                        }
                    }
                }
                _ => {}
            },
        }
    }
    Value::Object(out)
}

/// Whether the projection asks for `name` at all (to skip loading group members).
pub fn wants(p: &Projection, name: &str) -> bool {
    if !p.attributes.is_empty() {
        return p.attributes.iter().any(|a| {
            a.split('.')
                .next()
                .is_some_and(|h| h.eq_ignore_ascii_case(name))
        });
    }
    !p.excluded.iter().any(|a| a.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scim::schema::{ENTERPRISE_USER, USER_RESOURCE};
    use serde_json::json;

    fn user() -> Value {
        json!({"schemas": ["s"], "id": "1", "userName": "u", "name": {"givenName": "A", "familyName": "B"},
               "emails": [{"value": "a@b.c", "type": "work"}], ENTERPRISE_USER: {"employeeNumber": "7", "department": "D"},
               "meta": {"resourceType": "User"}})
    }

    #[test]
    fn attributes_keep_only_what_is_asked_plus_id() {
        let p = Projection::from_params(
            Some(
                "userName,name.givenName,emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            ),
            None,
        );
        assert_eq!(
            project(user(), &p, &USER_RESOURCE),
            json!({"schemas": ["s"], "id": "1", "userName": "u", "name": {"givenName": "A"},
                   "emails": [{"value": "a@b.c"}], ENTERPRISE_USER: {"employeeNumber": "7"}})
        );
    }

    #[test]
    fn excluded_attributes_drop_but_never_id() {
        let p = Projection::from_params(None, Some("name,id,emails.type,meta"));
        let r = project(user(), &p, &USER_RESOURCE);
        assert_eq!(r.get("name"), None);
        assert_eq!(r["id"], "1");
        assert_eq!(r["emails"], json!([{"value": "a@b.c"}]));
        assert!(!wants(
            &Projection::from_params(None, Some("members")),
            "members"
        ));
        assert!(wants(
            &Projection::from_params(Some("members.value"), None),
            "members"
        ));
    }

    #[test]
    fn multibyte_names_never_panic() {
        let p = Projection::from_params(Some(&format!("a{}", "é".repeat(40))), Some("€€€€€"));
        let _ = project(user(), &p, &USER_RESOURCE);
        let p = Projection::from_params(None, Some(&"é".repeat(40)));
        let _ = project(user(), &p, &USER_RESOURCE);
    }

    #[test]
    fn paging_parameters_follow_the_rfc() {
        let q =
            ListQuery::parse(None, Some("0"), Some("5000"), Projection::default(), 200).unwrap();
        assert_eq!((q.start_index, q.count), (1, 200));
        let q = ListQuery::parse(None, None, Some("-3"), Projection::default(), 200).unwrap();
        assert_eq!(q.count, 0);
        assert!(ListQuery::parse(None, Some("x"), None, Projection::default(), 200).is_err());
        let e = ListQuery::parse(Some("userName eq"), None, None, Projection::default(), 200)
            .unwrap_err();
        assert_eq!(
            e.scim_type,
            Some(crate::domain::scim::error::ScimType::InvalidFilter)
        );
    }
}
