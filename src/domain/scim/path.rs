//! Attribute paths resolved against a resource's schema: for filters (`name.givenName`,
//! `urn:…:enterprise:2.0:User:manager.value`) and PATCH (`emails[type eq "work"].value`).
use super::error::{ScimError, quote};
use super::filter::{self, AttrPath, Filter};
use super::schema::{self, Attr, ResourceSchema, Type};

/// An attribute of a resource, and the sub-attribute named after it, if any.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// The extension URN when the attribute belongs to an extension; None for the core.
    pub extension: Option<&'static str>,
    pub attr: &'static Attr,
    pub sub: Option<&'static Attr>,
}

impl Resolved {
    /// `name.givenName`, `urn:…:User:manager.value`: for messages.
    pub fn display(&self) -> String {
        let mut s = String::new();
        if let Some(u) = self.extension {
            s.push_str(u);
            s.push(':');
        }
        s.push_str(self.attr.name);
        if let Some(sub) = self.sub {
            s.push('.');
            s.push_str(sub.name);
        }
        s
    }
}

pub fn resolve(p: &AttrPath, rs: &ResourceSchema) -> Result<Resolved, ScimError> {
    let unknown = || {
        let mut full = p.attr.clone();
        if let Some(s) = &p.sub_attr {
            full = format!("{full}.{s}");
        }
        ScimError::invalid_path(format!("unknown attribute `{}`", quote(&full)))
    };
    let (extension, attr) = match p.uri.as_deref() {
        // Without a URN: the core schema, else an extension attribute (Entra ID filters on a
        // bare `manager`; enterprise names do not collide with core ones).
        None => match schema::find(rs.core_attrs, &p.attr).or_else(|| schema::common(&p.attr)) {
            Some(a) => (None, a),
            None => rs
                .extensions
                .iter()
                .find_map(|(u, _, attrs)| schema::find(attrs, &p.attr).map(|a| (Some(*u), a)))
                .ok_or_else(unknown)?,
        },
        Some(uri) => {
            let (resolved_uri, attrs) = rs.attrs_for(Some(uri)).ok_or_else(|| {
                ScimError::invalid_path(format!("unknown schema `{}`", quote(uri)))
            })?;
            let a = schema::find(attrs, &p.attr)
                .or_else(|| {
                    (resolved_uri == rs.core)
                        .then(|| schema::common(&p.attr))
                        .flatten()
                })
                .ok_or_else(unknown)?;
            let ext = (resolved_uri != rs.core).then_some(resolved_uri);
            (ext, a)
        }
    };
    let sub = match &p.sub_attr {
        None => None,
        Some(name) if attr.ty == Type::Complex => {
            Some(schema::find(attr.sub, name).ok_or_else(unknown)?)
        }
        Some(_) => return Err(unknown()),
    };
    Ok(Resolved {
        extension,
        attr,
        sub,
    })
}

/// A PATCH operation's target (RFC 7644 §3.5.2): an attribute, optionally one of its values
/// picked by a filter, optionally a sub-attribute of it.
#[derive(Debug, Clone)]
pub struct PatchPath {
    pub target: Resolved,
    pub filter: Option<Filter>,
}

/// Splits a schema URN prefix off `raw` using the schema's known URNs (they contain dots
/// and colons, so no generic split works).
fn split_urn<'a>(
    raw: &'a str,
    rs: &ResourceSchema,
) -> Result<(Option<&'static str>, &'a str), ScimError> {
    if !raw.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return Ok((None, raw));
    }
    for uri in rs.schema_uris() {
        if raw.len() > uri.len()
            && raw.is_char_boundary(uri.len())
            && raw[..uri.len()].eq_ignore_ascii_case(uri)
            && raw.as_bytes()[uri.len()] == b':'
        {
            return Ok((Some(uri), &raw[uri.len() + 1..]));
        }
    }
    Err(ScimError::invalid_path(format!(
        "`{}` names no attribute of a supported schema",
        quote(raw)
    )))
}

/// Whether a PATCH path names an attribute outside the schema (an extension URN of the
/// directory's own, or a name no schema of the resource defines), as opposed to a malformed
/// path or a known attribute used wrongly.
pub fn names_unknown_attribute(raw: &str, rs: &ResourceSchema) -> bool {
    let raw = raw.trim();
    let Ok((uri, rest)) = split_urn(raw, rs) else {
        return true;
    };
    let head = rest.split(['[', '.']).next().unwrap_or_default().to_owned();
    let Ok(mut p) = filter::parse_path(&head) else {
        return false;
    };
    if p.uri.is_some() {
        return false;
    }
    p.uri = uri.map(str::to_owned);
    resolve(&p, rs).is_err()
}

pub fn parse_patch_path(raw: &str, rs: &ResourceSchema) -> Result<PatchPath, ScimError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 1024 {
        return Err(ScimError::invalid_path("the path is empty or too long"));
    }
    let (uri, rest) = split_urn(raw, rs)?;
    let to_path = |attr: &str, sub: Option<&str>| -> Result<AttrPath, ScimError> {
        let word = match sub {
            Some(s) => format!("{attr}.{s}"),
            None => attr.to_owned(),
        };
        let mut p = filter::parse_path(&word).map_err(|e| ScimError::invalid_path(e.0))?;
        if p.uri.is_some() {
            return Err(ScimError::invalid_path(format!(
                "`{}` is not an attribute path",
                quote(raw)
            )));
        }
        p.uri = uri.map(str::to_owned);
        Ok(p)
    };
    match rest.find('[') {
        None => Ok(PatchPath {
            target: resolve(&to_path(rest, None)?, rs)?,
            filter: None,
        }),
        Some(open) => {
            let close = rest
                .rfind(']')
                .filter(|c| *c > open)
                .ok_or_else(|| ScimError::invalid_path("`[` without a matching `]`"))?;
            let after = &rest[close + 1..];
            let sub = match after.strip_prefix('.') {
                Some(s) => Some(s),
                None if after.is_empty() => None,
                None => {
                    return Err(ScimError::invalid_path(format!(
                        "unexpected `{}` after `]`",
                        quote(after)
                    )));
                }
            };
            let target = resolve(&to_path(&rest[..open], sub)?, rs)?;
            if !target.attr.multi {
                return Err(ScimError::invalid_path(format!(
                    "`{}` is not multi-valued; a value filter needs a multi-valued attribute",
                    target.attr.name
                )));
            }
            let f = filter::parse(&rest[open + 1..close])
                .map_err(|e| ScimError::invalid_path(format!("value filter: {}", e.0)))?;
            Ok(PatchPath {
                target,
                filter: Some(f),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scim::schema::{ENTERPRISE_USER, USER_RESOURCE};

    #[test]
    fn resolves_patch_paths_as_entra_and_okta_send_them() {
        let p = parse_patch_path(r#"emails[type eq "work"].value"#, &USER_RESOURCE).unwrap();
        assert_eq!(p.target.display(), "emails.value");
        assert!(p.filter.is_some());
        let p = parse_patch_path("NAME.givenname", &USER_RESOURCE).unwrap();
        assert_eq!(p.target.display(), "name.givenName");
        let p = parse_patch_path(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            &USER_RESOURCE,
        )
        .unwrap();
        assert_eq!(p.target.extension, Some(ENTERPRISE_USER));
        assert_eq!(p.target.attr.name, "manager");
        let p = parse_patch_path(
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            &USER_RESOURCE,
        )
        .unwrap();
        assert_eq!((p.target.extension, p.target.attr.name), (None, "userName"));
        assert_eq!(
            parse_patch_path("externalId", &USER_RESOURCE)
                .unwrap()
                .target
                .attr
                .name,
            "externalId"
        );
    }

    #[test]
    fn tells_unknown_attributes_from_malformed_paths() {
        for p in [
            "shoeSize",
            "urn:ietf:params:scim:schemas:extension:custom:2.0:User:badge",
            "urn:ietf:params:scim:schemas:extension:custom:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCentre",
            "hobbies[type eq \"x\"].value",
        ] {
            assert!(names_unknown_attribute(p, &USER_RESOURCE), "{p}");
        }
        for p in [
            "title",
            "name.givenName",
            "name.nope",
            "emails[type eq \"work\"].value",
            "emails[type eq",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        ] {
            assert!(!names_unknown_attribute(p, &USER_RESOURCE), "{p}");
        }
    }

    #[test]
    fn refuses_unknown_or_malformed_paths() {
        for bad in [
            "shoeSize",
            "name.nick",
            "urn:x:y:z",
            r#"emails[type eq "work""#,
            r#"userName[type eq "x"]"#,
            r#"emails[type eq "work"]value"#,
            "",
            "abc€",
            "€",
            "urn:é",
        ] {
            let e = parse_patch_path(bad, &USER_RESOURCE).unwrap_err();
            assert_eq!(
                e.scim_type,
                Some(super::super::error::ScimType::InvalidPath),
                "{bad}"
            );
        }
    }
}
