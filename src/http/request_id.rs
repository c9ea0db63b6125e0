//! The request id: taken from `X-Request-Id` when a trusted proxy sent it, else generated;
//! echoed in the response, carried by every log line of the request (a tracing span with the
//! tenant and client address), and shown as the reference on error pages.
use actix_web::HttpRequest;
use actix_web::http::header::HeaderValue;

use super::client_addr::peer_is_trusted_proxy;
use crate::domain::slug::Slug;

pub const HEADER: &str = "x-request-id";
/// Longer ids from a proxy are replaced, not cut: a cut id would match no upstream log line.
const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being handled, when there is one.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `fut` as the request `id`: [`current`] answers it inside.
pub async fn scope<F: std::future::Future>(id: String, fut: F) -> F::Output {
    CURRENT.scope(id, fut).await
}

/// The proxy's id when the socket peer is one of `server.trusted_proxies` and the id is
/// printable without blanks (it goes into log lines); a fresh one otherwise.
pub fn of(req: &HttpRequest) -> String {
    match req.headers().get(HEADER).and_then(usable) {
        Some(id) if peer_is_trusted_proxy(req) => id.to_owned(),
        _ => hex::encode(crate::random::bytes::<16>()),
    }
}

fn usable(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= MAX_LEN
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=')
        });
    ok.then_some(s)
}

/// The tenant a URL names (`/t/{tenant}/…`, `/admin/t/{tenant}/…`, `/api/v1/tenants/{tenant}/…`),
/// for the log; only a valid tenant ID, never other path text.
pub fn tenant_of(path: &str) -> Option<&str> {
    let rest = ["/t/", "/admin/t/", "/api/v1/tenants/"]
        .iter()
        .find_map(|p| path.strip_prefix(p))?;
    let slug = rest.split('/').next()?;
    Slug::parse(slug).ok().map(|_| slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_come_only_from_the_known_prefixes() {
        assert_eq!(tenant_of("/t/acme/saml/okta/acs"), Some("acme"));
        assert_eq!(tenant_of("/admin/t/acme"), Some("acme"));
        assert_eq!(tenant_of("/api/v1/tenants/acme/users"), Some("acme"));
        assert_eq!(tenant_of("/t/ACME%0a/login"), None);
        assert_eq!(tenant_of("/auth/verify"), None);
    }

    #[test]
    fn only_plain_ids_are_taken() {
        for ok in [
            "abc-123",
            "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
            "Root=1-67:a/b+c=",
        ] {
            assert_eq!(usable(&HeaderValue::from_static(ok)), Some(ok));
        }
        let long = "a".repeat(MAX_LEN + 1);
        for bad in ["", "a b", "a\"b", "x\ty", long.as_str()] {
            assert_eq!(
                HeaderValue::from_str(bad).ok().as_ref().and_then(usable),
                None,
                "{bad}"
            );
        }
    }
}
