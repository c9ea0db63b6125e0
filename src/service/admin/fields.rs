//! Field rules shared by tenant and connection settings.
use super::{AdminError, invalid};

pub(crate) fn parse_attribute_name(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<String>, AdminError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.len() > 256 || s.chars().any(char::is_control) => {
            Err(invalid(field, "must be 1-256 printable characters"))
        }
        Some(s) => Ok(Some(s.to_owned())),
    }
}

pub(crate) fn check_url(field: &'static str, raw: &str) -> Result<(), AdminError> {
    let u = url::Url::parse(raw).map_err(|e| invalid(field, e))?;
    if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none() {
        return Err(invalid(field, "must be an http(s) URL"));
    }
    Ok(())
}

pub(crate) fn check_names(field: &'static str, names: &[String]) -> Result<(), AdminError> {
    if names.is_empty()
        || names
            .iter()
            .any(|n| n.trim().is_empty() || n.len() > 256 || n.chars().any(char::is_control))
    {
        return Err(invalid(
            field,
            "needs one or more attribute names of 1-256 printable characters",
        ));
    }
    Ok(())
}
