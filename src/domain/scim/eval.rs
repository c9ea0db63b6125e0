//! Evaluating a value filter (`emails[type eq "work"]`) against one value of a multi-valued
//! attribute, in memory: PATCH picks the values it changes this way.
use std::cmp::Ordering;

use serde_json::Value as Json;

use super::error::{ScimError, quote};
use super::filter::{CompareOp, Filter, Value};
use super::schema::{self, Attr};

fn sub_of<'a>(attr: &'a Attr, name: &str) -> Result<&'a Attr, ScimError> {
    schema::find(attr.sub, name).ok_or_else(|| {
        ScimError::invalid_filter(format!(
            "`{}` has no sub-attribute `{}`",
            attr.name,
            quote(name)
        ))
    })
}

fn compare_str(a: &str, b: &str, case_exact: bool, op: CompareOp) -> bool {
    let (a, b) = if case_exact {
        (a.to_owned(), b.to_owned())
    } else {
        (a.to_lowercase(), b.to_lowercase())
    };
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        CompareOp::Gt => a > b,
        CompareOp::Ge => a >= b,
        CompareOp::Lt => a < b,
        CompareOp::Le => a <= b,
    }
}

fn ordered(ord: Option<Ordering>, op: CompareOp) -> bool {
    match (ord, op) {
        (Some(o), CompareOp::Eq) => o.is_eq(),
        (Some(o), CompareOp::Ne) => o.is_ne(),
        (Some(o), CompareOp::Gt) => o.is_gt(),
        (Some(o), CompareOp::Ge) => o.is_ge(),
        (Some(o), CompareOp::Lt) => o.is_lt(),
        (Some(o), CompareOp::Le) => o.is_le(),
        (None, CompareOp::Ne) => true,
        _ => false,
    }
}

fn compare(a: &Attr, actual: Option<&Json>, op: CompareOp, expected: &Value) -> bool {
    match (actual, expected) {
        (None | Some(Json::Null), Value::Null) => op == CompareOp::Eq,
        (None | Some(Json::Null), _) => op == CompareOp::Ne,
        (Some(_), Value::Null) => op == CompareOp::Ne,
        (Some(Json::String(s)), Value::Str(e)) => compare_str(s, e, a.case_exact, op),
        (Some(j), Value::Bool(e)) => match super::normalize::boolean(j) {
            Some(b) => ordered(Some(b.cmp(e)), op) && matches!(op, CompareOp::Eq | CompareOp::Ne),
            None => op == CompareOp::Ne,
        },
        (Some(Json::Number(n)), Value::Num(e)) => ordered(
            n.as_f64()
                .zip(e.as_f64())
                .and_then(|(x, y)| x.partial_cmp(&y)),
            op,
        ),
        _ => op == CompareOp::Ne,
    }
}

/// Whether `element` (one value of the multi-valued `attr`) satisfies `f`.
pub fn matches(f: &Filter, attr: &Attr, element: &Json) -> Result<bool, ScimError> {
    Ok(match f {
        Filter::Compare { path, op, value } => {
            if path.uri.is_some() || path.sub_attr.is_some() {
                return Err(ScimError::invalid_filter(
                    "inside `[...]`, name sub-attributes only (e.g. `type eq \"work\"`)",
                ));
            }
            let sub = sub_of(attr, &path.attr)?;
            compare(sub, element.get(sub.name), *op, value)
        }
        Filter::Present(path) => {
            let sub = sub_of(attr, &path.attr)?;
            element
                .get(sub.name)
                .is_some_and(|v| !v.is_null() && v != &Json::String(String::new()))
        }
        Filter::And(a, b) => matches(a, attr, element)? && matches(b, attr, element)?,
        Filter::Or(a, b) => matches(a, attr, element)? || matches(b, attr, element)?,
        Filter::Not(inner) => !matches(inner, attr, element)?,
        Filter::ValuePath { .. } => {
            return Err(ScimError::invalid_filter("value filters cannot be nested"));
        }
    })
}

/// For `emails[type eq "work"].value` with no work email yet: the sub-attribute values a
/// new element needs to match the filter, when the filter is a conjunction of `eq`s.
pub fn implied_element(f: &Filter, attr: &Attr) -> Option<serde_json::Map<String, Json>> {
    let mut out = serde_json::Map::new();
    fn walk(f: &Filter, attr: &Attr, out: &mut serde_json::Map<String, Json>) -> bool {
        match f {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.uri.is_none() && path.sub_attr.is_none() => {
                let Some(sub) = schema::find(attr.sub, &path.attr) else {
                    return false;
                };
                let v = match value {
                    Value::Str(s) => Json::String(s.clone()),
                    Value::Bool(b) => Json::Bool(*b),
                    Value::Num(n) => Json::Number(n.clone()),
                    Value::Null => return false,
                };
                out.insert(sub.name.to_owned(), v);
                true
            }
            Filter::And(a, b) => walk(a, attr, out) && walk(b, attr, out),
            _ => false,
        }
    }
    walk(f, attr, &mut out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scim::filter::parse;
    use crate::domain::scim::schema::USER_ATTRS;
    use serde_json::json;

    fn emails() -> &'static Attr {
        schema::find(USER_ATTRS, "emails").unwrap()
    }

    #[test]
    fn matches_values_with_schema_case_rules() {
        let e = json!({"value": "Bob@Example.com", "type": "work", "primary": true});
        for (f, want) in [
            (r#"type eq "WORK""#, true),
            (r#"value ew "example.COM""#, true),
            (r#"type eq "home""#, false),
            ("primary eq true", true),
            ("primary eq false", false),
            (r#"type eq "work" and not (value co "alice")"#, true),
            ("display pr", false),
            ("value pr", true),
        ] {
            assert_eq!(
                matches(&parse(f).unwrap(), emails(), &e).unwrap(),
                want,
                "{f}"
            );
        }
        let members = schema::find(crate::domain::scim::schema::GROUP_ATTRS, "members").unwrap();
        let m = json!({"value": "AbC"});
        assert!(
            !matches(&parse(r#"value eq "abc""#).unwrap(), members, &m).unwrap(),
            "ids are case-exact"
        );
        assert!(matches(&parse(r#"bogus eq "x""#).unwrap(), emails(), &e).is_err());
    }

    #[test]
    fn implied_element_only_for_eq_conjunctions() {
        let f = parse(r#"type eq "work" and primary eq true"#).unwrap();
        assert_eq!(
            json!(implied_element(&f, emails()).unwrap()),
            json!({"type": "work", "primary": true})
        );
        assert!(implied_element(&parse(r#"type co "w""#).unwrap(), emails()).is_none());
        assert!(
            implied_element(&parse(r#"type eq "a" or type eq "b""#).unwrap(), emails()).is_none()
        );
    }
}
