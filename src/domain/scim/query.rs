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

/// An `attributes` / `excludedAttributes` entry resolved against a resource's schemas.
#[derive(Debug, PartialEq)]
enum Name {
    /// A schema URN on its own: all of the core attributes, or the whole extension.
    Schema(Option<&'static str>),
    /// An attribute (of the core when `ext` is None), optionally one sub-attribute of it.
    Attr {
        ext: Option<&'static str>,
        attr: String,
        sub: Option<String>,
    },
}

/// Resolves `emails`, `name.givenName`, `urn:…:core:2.0:Group:members.value` or
/// `urn:…:enterprise:2.0:User:employeeNumber`. The URN is matched against the schema's own
/// (case-insensitively): it contains dots (`2.0`), so no split on `.` can find it.
fn names(raw: &str, rs: &ResourceSchema) -> Name {
    let mut rest = raw;
    let mut ext = None;
    for uri in rs.schema_uris() {
        let extension = (uri != rs.core).then_some(uri);
        if !raw
            .get(..uri.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(uri))
        {
            continue;
        }
        if raw.len() == uri.len() {
            return Name::Schema(extension);
        }
        if raw.as_bytes()[uri.len()] == b':' {
            rest = &raw[uri.len() + 1..];
            ext = extension;
            break;
        }
    }
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s.to_owned())),
        None => (rest, None),
    };
    Name::Attr {
        ext,
        attr: attr.to_owned(),
        sub,
    }
}

fn key_of(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

const ALWAYS: &[&str] = &["id", "schemas"];

/// What `attributes` asks of one attribute: all of it, or some of its sub-attributes.
/// Several entries for one attribute add up; the whole attribute wins.
enum Pick {
    Whole,
    Subs(Vec<String>),
}

struct Picked {
    ext: Option<&'static str>,
    key: String,
    pick: Pick,
}

fn add_pick(picks: &mut Vec<Picked>, ext: Option<&'static str>, key: String, sub: Option<String>) {
    let Some(p) = picks.iter_mut().find(|p| p.ext == ext && p.key == key) else {
        let pick = sub.map_or(Pick::Whole, |s| Pick::Subs(vec![s]));
        picks.push(Picked { ext, key, pick });
        return;
    };
    match (&mut p.pick, sub) {
        (Pick::Whole, _) => {}
        (Pick::Subs(subs), Some(s)) => subs.push(s),
        (pick, None) => *pick = Pick::Whole,
    }
}

/// The requested sub-attributes of a complex value, or of each value of a multi-valued one;
/// None when nothing requested is there.
fn subset(v: &Value, subs: &[String]) -> Option<Value> {
    let keep = |o: &Map<String, Value>| {
        let m: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (!m.is_empty()).then_some(Value::Object(m))
    };
    match v {
        Value::Object(o) => keep(o),
        Value::Array(items) => {
            let l: Vec<Value> = items
                .iter()
                .filter_map(|i| i.as_object().and_then(keep))
                .collect();
            (!l.is_empty()).then_some(Value::Array(l))
        }
        _ => None,
    }
}

fn is_extension(rs: &ResourceSchema, key: &str) -> bool {
    rs.extension(key).is_some()
}

/// `attributes`: only what is asked, plus `id` and `schemas`.
fn keep_only(full: &Map<String, Value>, attributes: &[String], rs: &ResourceSchema) -> Value {
    // The core attributes, or one extension's.
    let section = |ext: Option<&str>| match ext {
        Some(u) => full.get(u).and_then(Value::as_object),
        None => Some(full),
    };
    let mut whole_schemas = Vec::new();
    let mut picks = Vec::new();
    for raw in attributes {
        match names(raw, rs) {
            Name::Schema(ext) => whole_schemas.push(ext),
            Name::Attr { ext, attr, sub } => {
                if let Some(key) = section(ext).and_then(|s| key_of(s, &attr)) {
                    add_pick(&mut picks, ext, key, sub);
                }
            }
        }
    }
    let mut out = Map::new();
    for k in ALWAYS {
        if let Some(v) = full.get(*k) {
            out.insert((*k).to_owned(), v.clone());
        }
    }
    for Picked { ext, key, pick } in picks {
        let Some(v) = section(ext).and_then(|s| s.get(&key)) else {
            continue;
        };
        let v = match pick {
            Pick::Whole => v.clone(),
            Pick::Subs(subs) => match subset(v, &subs) {
                Some(v) => v,
                None => continue,
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
            t.insert(key, v);
        }
    }
    for ext in whole_schemas {
        match ext {
            Some(u) => {
                if let Some(v) = full.get(u) {
                    out.insert(u.to_owned(), v.clone());
                }
            }
            None => {
                for (k, v) in full.iter().filter(|(k, _)| !is_extension(rs, k)) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

/// `excludedAttributes`: all but what is excluded; `id` and `schemas` stay.
fn drop_excluded(mut out: Map<String, Value>, excluded: &[String], rs: &ResourceSchema) -> Value {
    for raw in excluded {
        let (ext, attr, sub) = match names(raw, rs) {
            Name::Schema(Some(u)) => {
                out.remove(u);
                continue;
            }
            // The core cannot go: `id` and `schemas` are always returned.
            Name::Schema(None) => continue,
            Name::Attr { ext, attr, sub } => (ext, attr, sub),
        };
        if ext.is_none() && ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&attr)) && sub.is_none() {
            continue;
        }
        let container = match ext {
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

/// Applies the projection; `id` and `schemas` are always returned.
pub fn project(resource: Value, p: &Projection, rs: &ResourceSchema) -> Value {
    let Value::Object(full) = resource else {
        return resource;
    };
    if !p.attributes.is_empty() {
        return keep_only(&full, &p.attributes, rs);
    }
    drop_excluded(full, &p.excluded, rs)
}

/// Whether the projection asks for the core attribute `name` at all (to skip loading group
/// members); URN-qualified names count.
pub fn wants(p: &Projection, rs: &ResourceSchema, name: &str) -> bool {
    if !p.attributes.is_empty() {
        return p.attributes.iter().any(|a| match names(a, rs) {
            Name::Schema(ext) => ext.is_none(),
            Name::Attr { ext, attr, .. } => ext.is_none() && attr.eq_ignore_ascii_case(name),
        });
    }
    !p.excluded.iter().any(|a| {
        matches!(names(a, rs), Name::Attr { ext: None, attr, sub: None } if attr.eq_ignore_ascii_case(name))
    })
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
        let g = &crate::domain::scim::schema::GROUP_RESOURCE;
        assert!(!wants(
            &Projection::from_params(None, Some("members")),
            g,
            "members"
        ));
        assert!(wants(
            &Projection::from_params(Some("members.value"), None),
            g,
            "members"
        ));
    }

    #[test]
    fn urn_qualified_names_are_split_at_the_schema() {
        let g = &crate::domain::scim::schema::GROUP_RESOURCE;
        for a in [
            "urn:ietf:params:scim:schemas:core:2.0:Group:members",
            "URN:ietf:params:scim:schemas:core:2.0:group:members.value",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
        ] {
            assert!(
                wants(&Projection::from_params(Some(a), None), g, "members"),
                "{a}"
            );
        }
        assert!(!wants(
            &Projection::from_params(
                Some("urn:ietf:params:scim:schemas:core:2.0:Group:displayName"),
                None
            ),
            g,
            "members"
        ));
        assert!(!wants(
            &Projection::from_params(
                None,
                Some("urn:ietf:params:scim:schemas:core:2.0:Group:members")
            ),
            g,
            "members"
        ));
        let p = Projection::from_params(Some("urn:ietf:params:scim:schemas:core:2.0:User"), None);
        let r = project(user(), &p, &USER_RESOURCE);
        assert_eq!(r["userName"], "u");
        assert_eq!(r.get(ENTERPRISE_USER), None);
    }

    #[test]
    fn sub_attributes_of_one_attribute_add_up() {
        let two = json!({"id": "1", "emails": [{"value": "a@b.c", "type": "work", "primary": true}, {"value": "d@e.f"}]});
        let p = Projection::from_params(Some("emails.value,EMAILS.type"), None);
        assert_eq!(
            project(two.clone(), &p, &USER_RESOURCE)["emails"],
            json!([{"value": "a@b.c", "type": "work"}, {"value": "d@e.f"}])
        );
        for whole in ["emails,emails.value", "emails.value,emails"] {
            let p = Projection::from_params(Some(whole), None);
            assert_eq!(
                project(two.clone(), &p, &USER_RESOURCE)["emails"],
                two["emails"],
                "{whole}"
            );
        }
        let p = Projection::from_params(Some("emails.display"), None);
        assert_eq!(project(two, &p, &USER_RESOURCE).get("emails"), None);
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
