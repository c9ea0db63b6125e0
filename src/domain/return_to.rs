//! Where a browser may be sent after sign-in. Only absolute http(s) URLs whose origin is
//! on the tenant's allow-list are honoured; everything else lands on the neutral page.
use url::Url;

use super::slug::truncate_for_message;

/// An origin (`scheme://host[:port]`) an admin allowed as a return_to target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigin(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an origin: use scheme://host[:port] with http or https and nothing after it")]
pub struct InvalidOrigin(pub String);

impl AllowedOrigin {
    pub fn parse(raw: &str) -> Result<Self, InvalidOrigin> {
        let bad = || InvalidOrigin(truncate_for_message(raw));
        let url = Url::parse(raw.trim()).map_err(|_| bad())?;
        let path_ok = url.path() == "/" || url.path().is_empty();
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
            || !path_ok
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(bad());
        }
        Ok(Self(url.origin().ascii_serialization()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the admin console's SSO sign-in comes back to: this server's own fixed path, the
/// only relative return_to accepted.
pub const ADMIN_CONSOLE_RETURN: &str = "/admin/sso";

/// The URL to redirect to, if `raw` is an absolute URL on one of `allowed` (or exactly
/// [`ADMIN_CONSOLE_RETURN`]).
pub fn resolve(raw: Option<&str>, allowed: &[AllowedOrigin]) -> Option<String> {
    let raw = raw?.trim();
    if raw == ADMIN_CONSOLE_RETURN {
        return Some(raw.to_owned());
    }
    if raw.is_empty() || raw.len() > 2048 || raw.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    allowed
        .iter()
        .any(|a| a.0 == origin)
        .then(|| url.to_string())
}

/// The URL a reverse proxy was asked for, rebuilt from what it forwards to `/auth/verify`
/// (`X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Forwarded-Uri`, as nginx is told to set them
/// and Traefik and Caddy set them by themselves). `None` unless the three make one absolute
/// http(s) URL without credentials, of at most 2048 characters (what a sign-in keeps as
/// return_to). The query is kept whole, as it was sent: nothing is decoded.
pub fn forwarded_url(proto: &str, host: &str, uri: &str) -> Option<String> {
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
        });
    let uri_ok = uri.starts_with('/')
        && !uri.starts_with("//")
        && uri
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'#');
    if !matches!(proto, "http" | "https") || !host_ok || !uri_ok {
        return None;
    }
    let raw = format!("{proto}://{host}{uri}");
    if raw.len() > 2048 {
        return None;
    }
    let url = Url::parse(&raw).ok()?;
    (url.host_str().is_some() && url.username().is_empty() && url.password().is_none())
        .then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<AllowedOrigin> {
        vec![AllowedOrigin::parse("https://app.example.com").unwrap()]
    }

    #[test]
    fn honours_allowed_origin() {
        assert_eq!(
            resolve(Some("https://app.example.com/x?y=1"), &allowed()).as_deref(),
            Some("https://app.example.com/x?y=1")
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "https://evil.com/",
            "//evil.com/",
            "/relative",
            "https://app.example.com.evil.com/",
            "https://app.example.com@evil.com/",
            "https://user@app.example.com/",
            "http://app.example.com/",
            "https://app.example.com:444/",
            "javascript:alert(1)",
            "https:/\\evil.com",
            "https://app.example.com\n/",
            "/admin/sso/../../evil",
            "/admin/sso?next=//evil.com",
            "//admin/sso",
            "/admin/ssox",
        ] {
            assert_eq!(
                resolve(Some(bad), &allowed()),
                None,
                "{bad} must not be honoured"
            );
        }
        assert_eq!(resolve(None, &allowed()), None);
    }

    #[test]
    fn the_console_return_path_is_the_one_relative_target() {
        assert_eq!(
            resolve(Some("/admin/sso"), &[]).as_deref(),
            Some("/admin/sso")
        );
    }

    #[test]
    fn origin_parsing_rejects_paths_and_credentials() {
        assert!(AllowedOrigin::parse("https://a.example.com/path").is_err());
        assert!(AllowedOrigin::parse("https://u:p@a.example.com").is_err());
        assert!(AllowedOrigin::parse("ftp://a.example.com").is_err());
        assert_eq!(
            AllowedOrigin::parse("HTTPS://A.example.com:443/")
                .unwrap()
                .as_str(),
            "https://a.example.com"
        );
    }

    #[test]
    fn a_forwarded_url_keeps_its_whole_query() {
        assert_eq!(
            forwarded_url("https", "app.example.com:8443", "/app/page?a=1&b=2&c=%26x").as_deref(),
            Some("https://app.example.com:8443/app/page?a=1&b=2&c=%26x")
        );
        assert_eq!(
            forwarded_url("http", "127.0.0.1:8080", "/").as_deref(),
            Some("http://127.0.0.1:8080/")
        );
    }

    #[test]
    fn a_forwarded_url_is_refused_unless_it_is_plain() {
        for (proto, host, uri) in [
            ("ftp", "app.example.com", "/"),
            ("https", "", "/"),
            ("https", "evil.com@app.example.com", "/"),
            ("https", "app.example.com/x", "/"),
            ("https", "app.example.com", "x"),
            ("https", "app.example.com", "//evil.com/"),
            ("https", "app.example.com", "/a b"),
            ("https", "app.example.com", "/a\nb"),
            ("https", "app.example.com", "/\\evil.com"),
            ("https", "app.example.com", "/#frag"),
            ("https", "app.example.com", "/é"),
        ] {
            assert_eq!(
                forwarded_url(proto, host, uri),
                None,
                "{proto} {host} {uri}"
            );
        }
        let long = format!("/{}", "a".repeat(2048));
        assert_eq!(forwarded_url("https", "app.example.com", &long), None);
    }
}
