//! PATCH (RFC 7644 §3.5.2) applied to a resource's JSON, as Okta and Entra ID send it:
//! op names in any case, path-less operations with a value object, value filters, booleans
//! as strings, member removal by value. The caller re-validates the result as a whole, so a
//! PATCH can never store what a PUT could not.
//!
//! One cohesive thing: the PATCH operation semantics of RFC 7644 §3.5.2 and the IdPs' dialects
//! of it; splitting the op kinds apart would scatter one specification.
use serde_json::{Map, Value};

use super::error::{ScimError, quote};
use super::eval;
use super::normalize;
use super::path::{PatchPath, Resolved, parse_patch_path};
use super::schema::{self, Mutability, ResourceSchema, Type};

pub const MAX_OPERATIONS: usize = 1000;
/// Values across all operations of one request; checked before any is applied.
pub const MAX_VALUES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Parses a PatchOp message body.
pub fn parse_request(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    let schemas_ok = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .and_then(|(_, v)| v.as_array())
        .is_some_and(|l| {
            l.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(super::schema::PATCH_OP))
            })
        });
    if !schemas_ok {
        return Err(ScimError::invalid_syntax(format!(
            "`schemas` must contain {}",
            super::schema::PATCH_OP
        )));
    }
    let ops = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(|| ScimError::invalid_syntax("`Operations` must be an array"))?;
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_syntax(format!(
            "`Operations` must hold 1 to {MAX_OPERATIONS} operations"
        )));
    }
    let values: usize = ops
        .iter()
        .filter_map(|o| o.as_object())
        .flat_map(|o| o.iter().filter(|(k, _)| k.eq_ignore_ascii_case("value")))
        .map(|(_, v)| v.as_array().map_or(1, Vec::len))
        .sum();
    if values > MAX_VALUES {
        return Err(ScimError::invalid_value(format!(
            "one PATCH carries at most {MAX_VALUES} values"
        )));
    }
    ops.iter()
        .map(|o| {
            let o = o
                .as_object()
                .ok_or_else(|| ScimError::invalid_syntax("each operation must be an object"))?;
            let field = |name: &str| {
                o.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            };
            let op = match field("op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
            {
                Some(s) if s == "add" => OpKind::Add,
                Some(s) if s == "replace" => OpKind::Replace,
                Some(s) if s == "remove" => OpKind::Remove,
                _ => {
                    return Err(ScimError::invalid_syntax(
                        "`op` must be add, replace or remove",
                    ));
                }
            };
            let path = match field("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(p.clone()),
                Some(_) => return Err(ScimError::invalid_path("`path` must be a string")),
            };
            Ok(PatchOp {
                op,
                path,
                value: field("value").cloned(),
            })
        })
        .collect()
}

/// Applies the operations in order to `doc`, the resource as the server would return it.
pub fn apply(
    doc: &mut Map<String, Value>,
    ops: &[PatchOp],
    rs: &ResourceSchema,
) -> Result<(), ScimError> {
    apply_in(doc, ops, rs, &mut None)
}

/// As [`apply`], but a target outside the schema (an attribute a directory added to its
/// mappings) is skipped and its path returned instead of failing the request.
pub fn apply_ignoring_unknown(
    doc: &mut Map<String, Value>,
    ops: &[PatchOp],
    rs: &ResourceSchema,
) -> Result<Vec<String>, ScimError> {
    let mut ignored = Vec::new();
    apply_in(doc, ops, rs, &mut Some(&mut ignored))?;
    Ok(ignored)
}

type Unknown<'a> = Option<&'a mut Vec<String>>;

/// Whether `raw` is an unknown target to skip (recorded), else parsed as a path.
fn target(
    raw: &str,
    rs: &ResourceSchema,
    sink: &mut Unknown<'_>,
) -> Result<Option<PatchPath>, ScimError> {
    if let Some(list) = sink
        && crate::domain::scim::path::names_unknown_attribute(raw, rs)
    {
        let raw: String = raw.trim().chars().take(200).collect();
        if list.len() < super::normalize::MAX_UNKNOWN && !list.contains(&raw) {
            list.push(raw);
        }
        return Ok(None);
    }
    parse_patch_path(raw, rs).map(Some)
}

fn apply_in(
    doc: &mut Map<String, Value>,
    ops: &[PatchOp],
    rs: &ResourceSchema,
    sink: &mut Unknown<'_>,
) -> Result<(), ScimError> {
    for op in ops {
        match &op.path {
            Some(p) if rs.extension(p.trim()).is_some() => extension(doc, op, rs, p.trim(), sink)?,
            Some(p) => {
                if let Some(path) = target(p, rs, sink)? {
                    apply_one(doc, op.op, &path, op.value.as_ref())?;
                }
            }
            None => pathless(doc, op, rs, sink)?,
        }
    }
    Ok(())
}

/// `{"op":"replace","value":{"active":false,"name.givenName":"A","urn:…:User":{…}}}`: each
/// key is a path of its own.
fn pathless(
    doc: &mut Map<String, Value>,
    op: &PatchOp,
    rs: &ResourceSchema,
    sink: &mut Unknown<'_>,
) -> Result<(), ScimError> {
    if op.op == OpKind::Remove {
        return Err(ScimError::no_target("remove needs a path"));
    }
    let Some(Value::Object(value)) = &op.value else {
        return Err(ScimError::invalid_value(
            "an operation without a path needs an object value",
        ));
    };
    for (k, v) in value {
        if k.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some((uri, _)) = rs.extension(k) {
            let Value::Object(ext) = v else {
                return Err(ScimError::invalid_value(format!(
                    "`{uri}` must be an object of extension attributes"
                )));
            };
            for (k2, v2) in ext {
                if let Some(path) = target(&format!("{uri}:{k2}"), rs, sink)? {
                    apply_one(doc, op.op, &path, Some(v2))?;
                }
            }
            continue;
        }
        // A directory's own extension as one object: each of its attributes is unknown.
        if let Value::Object(ext) = v
            && sink.is_some()
            && crate::domain::scim::path::names_unknown_attribute(k, rs)
            && !ext.is_empty()
        {
            for k2 in ext.keys() {
                target(&format!("{k}:{k2}"), rs, sink)?;
            }
            continue;
        }
        if let Some(path) = target(k, rs, sink)? {
            apply_one(doc, op.op, &path, Some(v))?;
        }
    }
    Ok(())
}

/// `"path": "urn:…:enterprise:2.0:User"`: the whole extension. Remove drops it; add and
/// replace set each attribute of the value object (its own `schemas` key is ignored) and keep
/// the ones it does not name.
fn extension(
    doc: &mut Map<String, Value>,
    op: &PatchOp,
    rs: &ResourceSchema,
    path: &str,
    sink: &mut Unknown<'_>,
) -> Result<(), ScimError> {
    let Some((uri, _)) = rs.extension(path) else {
        return Err(ScimError::invalid_path("unknown extension"));
    };
    if op.op == OpKind::Remove {
        doc.remove(uri);
        return Ok(());
    }
    let Some(Value::Object(value)) = &op.value else {
        return Err(ScimError::invalid_value(format!(
            "`{uri}` takes an object of its attributes"
        )));
    };
    // Replace of a complex target sets the given sub-attributes and leaves the others
    // (RFC 7644 §3.5.2.3): dropping the extension would erase e.g. the IWMS ID attribute.
    for (k, v) in value {
        if k.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(path) = target(&format!("{uri}:{k}"), rs, sink)? {
            apply_one(doc, op.op, &path, Some(v))?;
        }
    }
    Ok(())
}

fn container<'a>(
    doc: &'a mut Map<String, Value>,
    t: &Resolved,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    match t.extension {
        None => Ok(doc),
        Some(uri) => {
            let e = doc
                .entry(uri.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !e.is_object() {
                *e = Value::Object(Map::new());
            }
            e.as_object_mut()
                .ok_or_else(|| ScimError::invalid_value("extension is not an object"))
        }
    }
}

/// Read-only targets may be "set" to the value they already have (Okta sends the group's
/// `id` along with a rename); anything else is a mutability error.
fn check_mutability(
    doc: &Map<String, Value>,
    op: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<bool, ScimError> {
    let t = &path.target;
    let ro = t.attr.mutability == Mutability::ReadOnly
        || t.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly);
    if !ro {
        return Ok(false);
    }
    let current = match t.extension {
        None => doc.get(t.attr.name),
        Some(u) => doc.get(u).and_then(|e| e.get(t.attr.name)),
    };
    let current = match (t.sub, current) {
        (Some(s), Some(c)) if !t.attr.multi => c.get(s.name),
        (_, c) => c,
    };
    if op != OpKind::Remove && path.filter.is_none() && current.is_some() && current == value {
        return Ok(true);
    }
    Err(ScimError::mutability(format!(
        "`{}` is read-only",
        t.display()
    )))
}

fn as_items(attr_name: &str, v: &Value) -> Result<Vec<Value>, ScimError> {
    match v {
        Value::Array(items) => Ok(items.clone()),
        Value::Object(_) => Ok(vec![v.clone()]),
        _ => Err(ScimError::invalid_value(format!(
            "`{attr_name}` takes an array of values"
        ))),
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary").and_then(normalize::boolean) == Some(true)
}

/// Adding a primary value demotes the others (RFC 7643 §2.4: at most one primary).
fn push_values(list: &mut Vec<Value>, new: Vec<Value>) {
    let mut seen: std::collections::HashSet<String> = list.iter().map(Value::to_string).collect();
    for n in new {
        if !seen.insert(n.to_string()) {
            continue;
        }
        if is_primary(&n) {
            for v in list.iter_mut() {
                if let Some(o) = v.as_object_mut() {
                    o.remove("primary");
                }
            }
        }
        list.push(n);
    }
}

/// The sub-attributes of `wanted` that identify a value to remove: read-only ones
/// (`display`) and `$ref` (derived from `value`) are echoes of what GET returned, not
/// criteria (RFC 7644 §3.5.2.2); a null constrains nothing (Entra ID sends `"$ref": null`).
fn criteria<'a>(
    attr: &schema::Attr,
    wanted: &'a Value,
) -> Result<Vec<(&'static schema::Attr, &'a Value)>, ScimError> {
    let name = attr.name;
    let bad = || {
        ScimError::invalid_value(format!(
            "remove from `{name}` by value takes objects of sub-attributes"
        ))
    };
    let w = wanted.as_object().ok_or_else(bad)?;
    let mut out = Vec::new();
    for (k, v) in w.iter().filter(|(_, v)| !v.is_null()) {
        let sub = schema::find(attr.sub, k).ok_or_else(|| {
            ScimError::invalid_value(format!("`{name}` has no sub-attribute `{}`", quote(k)))
        })?;
        if sub.mutability != Mutability::ReadOnly && sub.name != "$ref" {
            out.push((sub, v));
        }
    }
    if out.is_empty() {
        return Err(ScimError::invalid_value(format!(
            "remove from `{name}` by value needs the `value` of each value to remove"
        )));
    }
    Ok(out)
}

/// Whether `element` has the value of every criterion (with the schema's case rules).
fn same_value(criteria: &[(&'static schema::Attr, &Value)], element: &Value) -> bool {
    criteria.iter().all(|(sub, wv)| {
        let ev = element.get(sub.name);
        match (wv, ev) {
            (Value::String(a), Some(Value::String(b))) if !sub.case_exact => {
                a.eq_ignore_ascii_case(b)
            }
            (a, Some(b)) if sub.ty == Type::Boolean => {
                normalize::boolean(a) == normalize::boolean(b)
            }
            (a, Some(b)) => *a == b,
            (_, None) => false,
        }
    })
}

/// Spells the sub-attribute names of a complex value (or of each value of a multi-valued
/// one) as the schema does, so `{"GivenName": …}` replaces the stored `givenName` rather
/// than sitting beside it. Unknown names are kept for the re-validation to refuse.
fn canonical_keys(attr: &schema::Attr, v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, sv)| {
                    let name = schema::find(attr.sub, k).map_or(k.as_str(), |s| s.name);
                    (name.to_owned(), sv.clone())
                })
                .collect(),
        ),
        Value::Array(items) if attr.multi => {
            Value::Array(items.iter().map(|i| canonical_keys(attr, i)).collect())
        }
        _ => v.clone(),
    }
}

/// Sets the sub-attributes given in `patch` (a null removes one); names match
/// case-insensitively (RFC 7643 §2.1), so the value sent replaces the stored one.
fn merge_into(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                t.retain(|have, _| !have.eq_ignore_ascii_case(k));
                if !v.is_null() {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn apply_one(
    doc: &mut Map<String, Value>,
    op: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let t = path.target;
    let canonical = value
        .filter(|_| t.sub.is_none() && t.attr.ty == Type::Complex)
        .map(|v| canonical_keys(t.attr, v));
    let value = canonical.as_ref().or(value);
    if check_mutability(doc, op, path, value)? {
        return Ok(());
    }
    let c = container(doc, &t)?;
    if op != OpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_value(format!(
            "`{}` needs a value",
            t.display()
        )));
    }
    match &path.filter {
        None => plain(c, op, &t, value)?,
        Some(f) => filtered(c, op, &t, f, value)?,
    }
    if let Some(uri) = t.extension
        && doc
            .get(uri)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
    {
        doc.remove(uri);
    }
    Ok(())
}

fn plain(
    c: &mut Map<String, Value>,
    op: OpKind,
    t: &Resolved,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let name = t.attr.name;
    match (op, t.sub) {
        (OpKind::Remove, None) => {
            match (t.attr.multi, value) {
                // Entra ID: {"op":"Remove","path":"members","value":[{"value":"id"}]}: the
                // values matching every criterion each given value carries.
                (true, Some(v)) if !v.is_null() => {
                    let drop = as_items(name, v)?;
                    let drop = drop
                        .iter()
                        .map(|d| criteria(t.attr, d))
                        .collect::<Result<Vec<_>, _>>()?;
                    if let Some(Value::Array(list)) = c.get_mut(name) {
                        list.retain(|e| !drop.iter().any(|d| same_value(d, e)));
                        if list.is_empty() {
                            c.remove(name);
                        }
                    }
                }
                _ => {
                    c.remove(name);
                }
            }
        }
        (_, Some(sub)) if t.attr.multi => {
            return Err(ScimError::invalid_path(format!(
                "`{}` is multi-valued: pick values with a filter, e.g. {name}[type eq \"work\"].{}",
                t.display(),
                sub.name
            )));
        }
        (OpKind::Remove, Some(sub)) => {
            if let Some(Value::Object(o)) = c.get_mut(name) {
                o.remove(sub.name);
                if o.is_empty() {
                    c.remove(name);
                }
            }
        }
        (_, Some(sub)) => {
            let v = value.cloned().unwrap_or(Value::Null);
            let entry = c
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Some(o) = entry.as_object_mut() {
                if v.is_null() {
                    o.remove(sub.name);
                } else {
                    o.insert(sub.name.to_owned(), v);
                }
            }
        }
        (OpKind::Add, None) if t.attr.multi => {
            let new = as_items(name, value.unwrap_or(&Value::Null))?;
            let entry = c
                .entry(name.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                *entry = Value::Array(Vec::new());
            }
            if let Value::Array(list) = entry {
                push_values(list, new);
            }
        }
        (OpKind::Replace, None) if t.attr.multi => {
            let v = value.unwrap_or(&Value::Null);
            if v.is_null() {
                c.remove(name);
            } else {
                c.insert(name.to_owned(), Value::Array(as_items(name, v)?));
            }
        }
        (_, None) if t.attr.ty == Type::Complex => {
            // Sub-attributes not given are left unchanged (§3.5.2.1, §3.5.2.3). Entra ID sets
            // `manager` to a bare id: that is the `value` sub-attribute.
            let wrapped;
            let mut v = value.unwrap_or(&Value::Null);
            if (v.is_string() || v.is_number()) && schema::find(t.attr.sub, "value").is_some() {
                wrapped = serde_json::json!({ "value": v });
                v = &wrapped;
            }
            if !v.is_object() {
                return Err(ScimError::invalid_value(format!(
                    "`{name}` must be an object"
                )));
            }
            let entry = c
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            merge_into(entry, v);
        }
        (_, None) => {
            let v = value.cloned().unwrap_or(Value::Null);
            if v.is_null() {
                c.remove(name);
            } else {
                c.insert(name.to_owned(), v);
            }
        }
    }
    Ok(())
}

fn filtered(
    c: &mut Map<String, Value>,
    op: OpKind,
    t: &Resolved,
    f: &super::filter::Filter,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let name = t.attr.name;
    let mut list = match c.remove(name) {
        Some(Value::Array(l)) => l,
        _ => Vec::new(),
    };
    let mut hits = Vec::new();
    let mut hit = vec![false; list.len()];
    for (i, e) in list.iter().enumerate() {
        if eval::matches(f, t.attr, e)? {
            hits.push(i);
            hit[i] = true;
        }
    }
    match op {
        OpKind::Remove => match t.sub {
            None => {
                let mut i = 0;
                list.retain(|_| {
                    let keep = !hit[i];
                    i += 1;
                    keep
                });
            }
            Some(sub) => {
                for &i in &hits {
                    if let Some(o) = list[i].as_object_mut() {
                        o.remove(sub.name);
                    }
                }
            }
        },
        OpKind::Add | OpKind::Replace => {
            let v = value.cloned().unwrap_or(Value::Null);
            if hits.is_empty() {
                // Entra ID adds `addresses[type eq "work"].formatted` before any work
                // address exists: create the value the filter describes.
                let mut element = eval::implied_element(f, t.attr).ok_or_else(|| {
                    ScimError::no_target(format!(
                        "no value of `{name}` matches the filter, and it does not describe a new one (use eq and `and` only)"
                    ))
                })?;
                match t.sub {
                    Some(sub) => {
                        element.insert(sub.name.to_owned(), v);
                    }
                    None => {
                        let mut e = Value::Object(element);
                        merge_into(&mut e, &v);
                        element = e.as_object().cloned().unwrap_or_default();
                    }
                }
                push_values(&mut list, vec![Value::Object(element)]);
            } else {
                for &i in &hits {
                    match t.sub {
                        Some(sub) => {
                            if let Some(o) = list[i].as_object_mut() {
                                if v.is_null() {
                                    o.remove(sub.name);
                                } else {
                                    o.insert(sub.name.to_owned(), v.clone());
                                }
                            }
                        }
                        None if op == OpKind::Replace => list[i] = v.clone(),
                        None => merge_into(&mut list[i], &v),
                    }
                }
                if is_primary(&v)
                    || t.sub.is_some_and(|s| s.name == "primary")
                        && normalize::boolean(&v) == Some(true)
                {
                    for (i, e) in list.iter_mut().enumerate() {
                        if !hit[i]
                            && let Some(o) = e.as_object_mut()
                        {
                            o.remove("primary");
                        }
                    }
                }
            }
        }
    }
    if !list.is_empty() {
        c.insert(name.to_owned(), Value::Array(list));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
