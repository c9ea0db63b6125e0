//! The HTTP client for every request ssogate sends to a URL someone else named (OpenID
//! providers, IdP metadata, a tenant's IWMS): timeouts, no redirects, no proxy, and a name
//! resolver that refuses internal addresses unless the operator's configuration allows them.
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

use super::address::is_internal;
use crate::config::IwmsSettings;

/// Which addresses an outbound client may connect to: globally routable ones, loopback only
/// when allowed (development and tests), and the networks an operator lists (an IWMS on a
/// private network).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow_loopback: bool,
    pub allowed_networks: Vec<IpNet>,
}

/// Where IWMS deliveries may connect: public addresses and the listed networks.
impl From<&IwmsSettings> for AddressPolicy {
    fn from(s: &IwmsSettings) -> Self {
        Self {
            allow_loopback: false,
            allowed_networks: s.allowed_networks.clone(),
        }
    }
}

impl AddressPolicy {
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        !is_internal(ip)
            || (self.allow_loopback && ip.is_loopback())
            || self.allowed_networks.iter().any(|n| n.contains(&ip))
    }

    /// A URL's host when it is an IP literal, which no name lookup (and so no resolver
    /// check) precedes: whether it may be reached. Names are judged when they resolve.
    pub fn permits_url(&self, url: &url::Url) -> bool {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.permits(ip.into()),
            Some(url::Host::Ipv6(ip)) => self.permits(ip.into()),
            Some(url::Host::Domain(_)) => true,
            None => false,
        }
    }
}

/// The resolver's refusal: every address of the name is one the policy forbids.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to addresses this server may not reach")]
pub struct RefusedAddress(pub String);

/// Whether a request failed because the policy refused the address.
pub fn refused_by_policy(err: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if e.is::<RefusedAddress>() {
            return true;
        }
        cause = e.source();
    }
    false
}

struct PolicyResolver(Arc<AddressPolicy>);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (host, policy) = (name.as_str().to_owned(), self.0.clone());
        Box::pin(async move {
            let usable: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if usable.is_empty() {
                return Err(Box::new(RefusedAddress(host)) as Box<_>);
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Fails rather than fall back to a client without timeouts, with redirects, or without the
/// address filter.
pub fn client(timeout: Duration, policy: AddressPolicy) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PolicyResolver(Arc::new(policy))))
        // A proxy would resolve names itself, past the address filter: connect directly.
        .no_proxy()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn policy_opens_only_what_it_names() {
        let strict = AddressPolicy::default();
        assert!(strict.permits(ip("8.8.8.8")));
        for internal in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "169.254.169.254",
            "::ffff:10.1.2.3",
        ] {
            assert!(!strict.permits(ip(internal)), "{internal}");
        }
        let dev = AddressPolicy {
            allow_loopback: true,
            ..Default::default()
        };
        assert!(dev.permits(ip("127.0.0.1")) && dev.permits(ip("::ffff:127.0.0.1")));
        assert!(!dev.permits(ip("10.1.2.3")));
        let onprem = AddressPolicy {
            allow_loopback: false,
            allowed_networks: vec!["10.20.0.0/16".parse().unwrap()],
        };
        assert!(onprem.permits(ip("10.20.5.7")) && onprem.permits(ip("::ffff:10.20.5.7")));
        assert!(!onprem.permits(ip("10.21.0.1")));
        assert!(!onprem.permits(ip("127.0.0.1")));
        assert!(!onprem.permits(ip("169.254.169.254")));
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert!(!onprem.permits_url(&url("https://127.0.0.1:8443/hook")));
        assert!(!onprem.permits_url(&url("https://[::1]/hook")));
        assert!(onprem.permits_url(&url("https://10.20.0.9/hook")));
        assert!(
            onprem.permits_url(&url("https://iwms.example/hook")),
            "judged at lookup"
        );
    }

    #[tokio::test]
    async fn a_refused_name_is_recognisable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let strict = client(Duration::from_secs(2), AddressPolicy::default()).unwrap();
        let e = strict
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert!(refused_by_policy(&e), "{e:?}");
        listener.set_nonblocking(true).unwrap();
        assert!(listener.accept().is_err(), "no connection was made");
    }
}
