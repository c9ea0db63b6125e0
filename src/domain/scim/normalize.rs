//! A resource body in canonical form: attribute names spelled as the schema spells them
//! (names are case-insensitive, RFC 7643 §2.1), values checked against their types, nulls
//! and empty values removed, read-only attributes dropped (RFC 7644 §3.3: ignored on write).
//! Anything the schema does not define is refused (`resource`), or, for the attributes a
//! directory adds to its mappings, left out and named (`resource_ignoring_unknown`).
use serde_json::{Map, Value};

use super::error::{ScimError, quote};
use super::schema::{self, Attr, Mutability, ResourceSchema, Type};

const MAX_STRING_CHARS: usize = 2048;
const MAX_VALUES: usize = 1000;
/// Groups such as "All employees" are large; every other multi-valued attribute is small.
pub const MAX_MEMBERS: usize = 50_000;

fn type_err(path: &str, what: &str) -> ScimError {
    ScimError::invalid_value(format!("`{path}` must be {what}"))
}

/// Booleans also arrive as the strings "True"/"False" (Entra ID's PATCH bodies).
pub fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn simple(a: &Attr, path: &str, v: &Value) -> Result<Value, ScimError> {
    match a.ty {
        Type::Boolean => boolean(v)
            .map(Value::Bool)
            .ok_or_else(|| type_err(path, "a boolean")),
        Type::Integer => match v {
            Value::Number(n) if n.is_i64() => Ok(v.clone()),
            _ => Err(type_err(path, "an integer")),
        },
        Type::Decimal => match v {
            Value::Number(_) => Ok(v.clone()),
            _ => Err(type_err(path, "a number")),
        },
        Type::DateTime => {
            let s = v
                .as_str()
                .ok_or_else(|| type_err(path, "a dateTime string"))?;
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|_| type_err(path, "an xsd:dateTime such as 2026-01-31T12:00:00Z"))?;
            Ok(v.clone())
        }
        Type::String | Type::Reference | Type::Binary => {
            let s = v.as_str().ok_or_else(|| type_err(path, "a string"))?;
            if s.chars().count() > MAX_STRING_CHARS {
                return Err(ScimError::invalid_value(format!(
                    "`{path}` is longer than {MAX_STRING_CHARS} characters"
                )));
            }
            if s.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                return Err(ScimError::invalid_value(format!(
                    "`{path}` contains control characters"
                )));
            }
            Ok(v.clone())
        }
        Type::Complex => Err(type_err(path, "an object")),
    }
}

/// Where attributes outside the schema go: None refuses them, Some collects their paths.
type Unknown<'a> = Option<&'a mut Vec<String>>;

/// The most unknown attribute paths one body reports (each cut to MAX_UNKNOWN_CHARS).
pub const MAX_UNKNOWN: usize = 50;
const MAX_UNKNOWN_CHARS: usize = 200;

/// Records an unknown attribute, or refuses it with `err`.
fn unknown(sink: &mut Unknown<'_>, path: String, err: ScimError) -> Result<(), ScimError> {
    match sink {
        None => Err(err),
        Some(list) => {
            let path: String = path.chars().take(MAX_UNKNOWN_CHARS).collect();
            if list.len() < MAX_UNKNOWN && !list.contains(&path) {
                list.push(path);
            }
            Ok(())
        }
    }
}

fn complex(
    a: &Attr,
    path: &str,
    v: &Value,
    sink: &mut Unknown<'_>,
) -> Result<Option<Value>, ScimError> {
    let obj = v.as_object().ok_or_else(|| type_err(path, "an object"))?;
    let mut out = Map::new();
    for (k, sv) in obj {
        let Some(sub) = schema::find(a.sub, k) else {
            if !sv.is_null() {
                unknown(
                    sink,
                    format!("{path}.{k}"),
                    ScimError::invalid_value(format!(
                        "`{path}` has no sub-attribute `{}`",
                        quote(k)
                    )),
                )?;
            }
            continue;
        };
        if !writable(sub) || sv.is_null() {
            continue;
        }
        let sp = format!("{path}.{}", sub.name);
        out.insert(sub.name.to_owned(), simple(sub, &sp, sv)?);
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn single(
    a: &Attr,
    path: &str,
    v: &Value,
    sink: &mut Unknown<'_>,
) -> Result<Option<Value>, ScimError> {
    if v.is_null() {
        return Ok(None);
    }
    if a.ty == Type::Complex {
        complex(a, path, v, sink)
    } else {
        simple(a, path, v).map(Some)
    }
}

fn writable(a: &Attr) -> bool {
    !matches!(a.mutability, Mutability::ReadOnly | Mutability::WriteOnly)
}

/// One attribute's value in canonical form; None when it is unassigned.
pub fn value(a: &Attr, path: &str, v: &Value) -> Result<Option<Value>, ScimError> {
    value_in(a, path, v, &mut None)
}

fn value_in(
    a: &Attr,
    path: &str,
    v: &Value,
    sink: &mut Unknown<'_>,
) -> Result<Option<Value>, ScimError> {
    if !a.multi {
        return single(a, path, v, sink);
    }
    let items = match v {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        _ => return Err(type_err(path, "an array")),
    };
    let max = if a.name == "members" {
        MAX_MEMBERS
    } else {
        MAX_VALUES
    };
    if items.len() > max {
        return Err(ScimError::invalid_value(format!(
            "`{path}` has more than {max} values"
        )));
    }
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let needs_value = a.ty == Type::Complex && schema::find(a.sub, "value").is_some();
    for item in items {
        let n = single(a, path, item, sink)?;
        if needs_value && n.as_ref().is_none_or(|n| n.get("value").is_none()) && !item.is_null() {
            return Err(ScimError::invalid_value(format!(
                "each value of `{path}` needs a `value`"
            )));
        }
        if let Some(n) = n
            && seen.insert(n.to_string())
        {
            out.push(n);
        }
    }
    let primaries = out
        .iter()
        .filter(|i| i.get("primary") == Some(&Value::Bool(true)))
        .count();
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "`{path}` has more than one primary value"
        )));
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

fn attrs_into(
    attrs: &[Attr],
    prefix: &str,
    obj: &Map<String, Value>,
    out: &mut Map<String, Value>,
    sink: &mut Unknown<'_>,
) -> Result<(), ScimError> {
    for (k, v) in obj {
        let Some(a) = schema::find(attrs, k) else {
            // Entra ID writes `"department": null` at the top level: a null carries nothing.
            if v.is_null() {
                continue;
            }
            let err = ScimError::invalid_value(format!("unknown attribute `{prefix}{}`", quote(k)));
            match (
                v,
                k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")),
            ) {
                // An extension schema of the directory's own: each of its attributes.
                (Value::Object(ext), true) if !ext.is_empty() => {
                    for (sub, sv) in ext {
                        if !sv.is_null() {
                            unknown(sink, format!("{k}:{sub}"), err.clone())?;
                        }
                    }
                }
                _ => unknown(sink, format!("{prefix}{k}"), err)?,
            }
            continue;
        };
        if !writable(a) {
            continue;
        }
        if let Some(n) = value_in(a, &format!("{prefix}{}", a.name), v, sink)? {
            out.insert(a.name.to_owned(), n);
        }
    }
    Ok(())
}

/// The canonical form of a POST/PUT body (or of a resource after PATCH operations).
pub fn resource(input: &Value, rs: &ResourceSchema) -> Result<Map<String, Value>, ScimError> {
    canonical(input, rs, &mut None)
}

/// As [`resource`], but an attribute outside the schema (an extra mapping a directory added:
/// a top-level name, an extension URN of its own, a sub-attribute) is left out and its path
/// returned, instead of refusing the body. Values of known attributes are checked as ever.
pub fn resource_ignoring_unknown(
    input: &Value,
    rs: &ResourceSchema,
) -> Result<(Map<String, Value>, Vec<String>), ScimError> {
    let mut ignored = Vec::new();
    let doc = canonical(input, rs, &mut Some(&mut ignored))?;
    Ok((doc, ignored))
}

fn canonical(
    input: &Value,
    rs: &ResourceSchema,
    sink: &mut Unknown<'_>,
) -> Result<Map<String, Value>, ScimError> {
    let obj = input
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    let mut declared: Vec<&str> = Vec::new();
    let mut out = Map::new();
    let mut core = Map::new();
    for (k, v) in obj {
        if k.eq_ignore_ascii_case("schemas") {
            let list = v
                .as_array()
                .ok_or_else(|| type_err("schemas", "an array of schema URIs"))?;
            for s in list {
                let s = s
                    .as_str()
                    .ok_or_else(|| type_err("schemas", "an array of schema URIs"))?;
                if s.eq_ignore_ascii_case(rs.core) {
                    declared.push(rs.core);
                } else if let Some((uri, _)) = rs.extension(s) {
                    declared.push(uri);
                }
                // Other URIs (Entra ID lists its ADSCIM Group schema) carry no attributes
                // here; an attribute under one is refused below as unknown.
            }
        } else if k.eq_ignore_ascii_case("id") || k.eq_ignore_ascii_case("meta") {
            // Assigned by the server; ignored on write.
        } else if k.eq_ignore_ascii_case("externalId") {
            if let Some(n) = single(&schema::EXTERNAL_ID, "externalId", v, sink)? {
                out.insert("externalId".into(), n);
            }
        } else if let Some((uri, attrs)) = rs.extension(k) {
            let ext = v
                .as_object()
                .ok_or_else(|| type_err(uri, "an object of extension attributes"))?;
            let mut e = Map::new();
            attrs_into(attrs, &format!("{uri}:"), ext, &mut e, sink)?;
            if !e.is_empty() {
                if !declared.contains(&uri) {
                    declared.push(uri);
                }
                out.insert(uri.to_owned(), Value::Object(e));
            }
        } else {
            let mut one = Map::new();
            one.insert(k.clone(), v.clone());
            attrs_into(rs.core_attrs, "", &one, &mut core, sink)?;
        }
    }
    if !declared.contains(&rs.core) {
        return Err(ScimError::invalid_value(format!(
            "`schemas` must contain {}",
            rs.core
        )));
    }
    out.extend(core);
    let mut schemas = vec![Value::from(rs.core)];
    for (uri, _, _) in rs.extensions {
        if out.contains_key(*uri) {
            schemas.push(Value::from(*uri));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    // Required complex attributes (emails) have fallbacks their resource type checks.
    for a in rs
        .core_attrs
        .iter()
        .filter(|a| a.required && a.ty != Type::Complex)
    {
        if !out.contains_key(a.name) {
            return Err(ScimError::invalid_value(format!(
                "`{}` is required",
                a.name
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scim::schema::{ENTERPRISE_USER, USER, USER_RESOURCE};
    use serde_json::json;

    #[test]
    fn names_fold_to_schema_case_and_nulls_vanish() {
        let r = resource(
            &json!({"SCHEMAS": [USER], "USERNAME": "a@b.c", "name": {"GivenName": "A", "familyName": null},
                    "Active": "False", "nickName": null, "id": "x", "meta": {}, "password": "secret",
                    "groups": [{"value": "1"}]}),
            &USER_RESOURCE,
        )
        .unwrap();
        assert_eq!(
            Value::Object(r),
            json!({"schemas": [USER], "userName": "a@b.c", "name": {"givenName": "A"}, "active": false})
        );
    }

    #[test]
    fn extension_is_declared_and_checked() {
        let r = resource(
            &json!({"schemas": [USER], "userName": "u", ENTERPRISE_USER: {"employeeNumber": "7", "manager": {"value": "3", "displayName": "ro"}}}),
            &USER_RESOURCE,
        )
        .unwrap();
        assert_eq!(r["schemas"], json!([USER, ENTERPRISE_USER]));
        assert_eq!(
            r[ENTERPRISE_USER],
            json!({"employeeNumber": "7", "manager": {"value": "3"}})
        );
    }

    #[test]
    fn groups_may_be_large_other_lists_not() {
        use crate::domain::scim::schema::{GROUP, GROUP_RESOURCE};
        let members = |n: usize| {
            (0..n)
                .map(|i| json!({"value": (i + 1).to_string()}))
                .collect::<Vec<_>>()
        };
        let ok = resource(
            &json!({"schemas": [GROUP], "displayName": "All", "members": members(1001)}),
            &GROUP_RESOURCE,
        );
        assert_eq!(ok.unwrap()["members"].as_array().unwrap().len(), 1001);
        let e = resource(
            &json!({"schemas": [GROUP], "displayName": "All", "members": members(MAX_MEMBERS + 1)}),
            &GROUP_RESOURCE,
        );
        assert!(e.unwrap_err().detail.contains("more than"));
        let emails: Vec<_> = (0..1001)
            .map(|i| json!({"value": format!("{i}@x.y")}))
            .collect();
        assert!(
            resource(
                &json!({"schemas": [USER], "userName": "u", "emails": emails}),
                &USER_RESOURCE
            )
            .is_err()
        );
    }

    #[test]
    fn a_directorys_extra_attributes_are_left_out_and_named() {
        let custom = "urn:ietf:params:scim:schemas:extension:custom:2.0:User";
        let (r, ignored) = resource_ignoring_unknown(
            &json!({"schemas": [USER, custom], "userName": "u", "shoeSize": 9,
                    "name": {"givenName": "A", "middle": "Q"},
                    custom: {"badge": "7", "floor": null},
                    ENTERPRISE_USER: {"department": "R&D", "costCentre": "x"}}),
            &USER_RESOURCE,
        )
        .unwrap();
        assert_eq!(
            Value::Object(r),
            json!({"schemas": [USER, ENTERPRISE_USER], "userName": "u", "name": {"givenName": "A"},
                   ENTERPRISE_USER: {"department": "R&D"}})
        );
        assert_eq!(
            ignored,
            [
                "name.middle".to_owned(),
                "shoeSize".to_owned(),
                format!("{custom}:badge"),
                format!("{ENTERPRISE_USER}:costCentre"),
            ]
        );
        // Known attributes are still checked.
        for body in [
            json!({"schemas": [USER], "userName": "u", "active": "yes", "x": 1}),
            json!({"schemas": [USER], "shoeSize": 9}),
        ] {
            assert!(
                resource_ignoring_unknown(&body, &USER_RESOURCE).is_err(),
                "{body}"
            );
        }
        // At most MAX_UNKNOWN names are kept.
        let mut many = json!({"schemas": [USER], "userName": "u"});
        for i in 0..(MAX_UNKNOWN + 10) {
            many[format!("extra{i}")] = json!(i);
        }
        let (_, ignored) = resource_ignoring_unknown(&many, &USER_RESOURCE).unwrap();
        assert_eq!(ignored.len(), MAX_UNKNOWN);
    }

    #[test]
    fn refuses_what_it_cannot_keep() {
        for (body, why) in [
            (json!({"userName": "u"}), "schemas"),
            (json!({"schemas": [USER]}), "userName` is required"),
            (
                json!({"schemas": [USER], "userName": "u", "shoeSize": 9}),
                "unknown attribute",
            ),
            (
                json!({"schemas": [USER], "userName": "u", "name": {"nick": "x"}}),
                "no sub-attribute",
            ),
            (
                json!({"schemas": [USER], "userName": 5}),
                "must be a string",
            ),
            (
                json!({"schemas": [USER], "userName": "u", "active": "yes"}),
                "boolean",
            ),
            (
                json!({"schemas": [USER], "userName": "u", "emails": {"value": "x"}}),
                "array",
            ),
            (json!({"schemas": [USER], "userName": "u\u{0}"}), "control"),
            (
                json!({"schemas": [USER, "urn:x"], "userName": "u", "urn:x": {"a": 1}}),
                "unknown attribute",
            ),
            (
                json!({"schemas": [USER], "userName": "u", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
                "more than one primary",
            ),
        ] {
            let e = resource(&body, &USER_RESOURCE).unwrap_err();
            assert!(e.detail.contains(why), "{body}: {e}");
            assert_eq!(e.status, 400);
        }
    }
}
