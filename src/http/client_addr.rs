//! The client's address: the socket peer, unless that peer is one of `server.trusted_proxies`;
//! then `X-Forwarded-For` is read right to left, skipping trusted proxies, and the first address
//! that is not one is the client (the nginx `real_ip_recursive` / oauth2-proxy convention).
//! Everything that keys on "the client" (rate limits, per-client bounds) calls [`client_addr`];
//! [`client_key`] is that address as the bounds per client count it (IPv6 per /64).
use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::HeaderValue;

use super::AppState;
use crate::config::TrustedProxies;
use crate::domain::client::ClientKey;

/// Hops read from `X-Forwarded-For` at most; a longer chain stops at the last one read.
const MAX_HOPS: usize = 32;

/// The client address of `req` (IPv4-mapped IPv6 given as IPv4). `None` only when the
/// request has no socket peer (never on a TCP listener).
pub fn client_addr(req: &HttpRequest) -> Option<IpAddr> {
    let trusted = req
        .app_data::<actix_web::web::Data<AppState>>()
        .map(|s| &s.settings.server.trusted_proxies);
    let peer = req.peer_addr()?.ip();
    Some(match trusted {
        Some(t) => resolve(
            peer,
            req.headers()
                .get_all("x-forwarded-for")
                .map(HeaderValue::as_bytes),
            t,
        ),
        None => peer.to_canonical(),
    })
}

/// Whether the socket peer is one of `server.trusted_proxies` (IPv4-mapped IPv6 read as
/// IPv4, as [`client_addr`] reads it): only such a peer's forwarded headers are believed.
pub fn peer_is_trusted_proxy(req: &HttpRequest) -> bool {
    req.app_data::<actix_web::web::Data<AppState>>()
        .zip(req.peer_addr())
        .is_some_and(|(s, peer)| {
            s.settings
                .server
                .trusted_proxies
                .contains(peer.ip().to_canonical())
        })
}

/// The key that bounds per client (sign-ins in progress) count against: [`client_addr`] as a
/// [`ClientKey`] (an IPv4 address, or an IPv6 address's /64).
pub fn client_key(req: &HttpRequest) -> Option<ClientKey> {
    client_addr(req).map(ClientKey::of)
}

/// The decision behind [`client_addr`], on plain values: `forwarded` are the
/// `X-Forwarded-For` header values in the order received.
pub fn resolve<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a [u8]>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    // Several header lines are one list, in order (RFC 9110 §5.3).
    let hops: Vec<&[u8]> = forwarded.flat_map(|v| v.split(|b| *b == b',')).collect();
    for hop in hops.iter().rev().take(MAX_HOPS) {
        // An entry that is not an address ends the walk at the last proxy that sent one: only
        // a trusted proxy's own entries are read this far.
        let Some(ip) = parse_hop(hop) else {
            return client;
        };
        client = ip;
        if !trusted.contains(ip) {
            return ip;
        }
    }
    client
}

/// `192.0.2.1`, `2001:db8::1`, and the forms with a port some proxies write
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`, `[2001:db8::1]`).
fn parse_hop(raw: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn run(peer: &str, xff: &[&str], trusted: &[&str]) -> IpAddr {
        let t = TrustedProxies::parse(trusted.iter().copied()).unwrap();
        resolve(ip(peer), xff.iter().map(|h| h.as_bytes()), &t)
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            run("203.0.113.5", &["198.51.100.1"], &[]),
            ip("203.0.113.5")
        );
        assert_eq!(
            run("203.0.113.5", &["198.51.100.1"], &["10.0.0.0/8"]),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_right_to_left() {
        let trusted = ["10.0.0.0/8", "192.0.2.7"];
        assert_eq!(
            run("10.0.0.1", &["198.51.100.1"], &trusted),
            ip("198.51.100.1")
        );
        // Whatever the client put to the left of its own address is skipped.
        assert_eq!(
            run("10.0.0.1", &["6.6.6.6, 198.51.100.1"], &trusted),
            ip("198.51.100.1")
        );
        // Proxies in the chain are skipped; header lines are one list.
        assert_eq!(
            run(
                "10.0.0.1",
                &["6.6.6.6, 198.51.100.1", "192.0.2.7, 10.2.3.4"],
                &trusted
            ),
            ip("198.51.100.1")
        );
        // All trusted: the leftmost.
        assert_eq!(
            run("10.0.0.1", &["10.9.9.9, 10.0.0.2"], &trusted),
            ip("10.9.9.9")
        );
        // No header: the proxy itself.
        assert_eq!(run("10.0.0.1", &[], &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn garbage_stops_at_the_last_address() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(run("10.0.0.1", &["unknown"], &trusted), ip("10.0.0.1"));
        assert_eq!(
            run("10.0.0.1", &["198.51.100.1, "], &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            run("10.0.0.1", &["garbage, 10.0.0.3"], &trusted),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn ports_brackets_and_mapped_addresses() {
        let trusted = ["10.0.0.0/8", "::1"];
        assert_eq!(
            run("::1", &["[2001:db8::9]:443"], &trusted),
            ip("2001:db8::9")
        );
        assert_eq!(run("::1", &["[2001:db8::9]"], &trusted), ip("2001:db8::9"));
        assert_eq!(
            run("::1", &["198.51.100.1:5555"], &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            run("::ffff:10.0.0.1", &["::ffff:198.51.100.1"], &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(run("::ffff:203.0.113.5", &[], &trusted), ip("203.0.113.5"));
    }

    #[test]
    fn a_long_chain_is_read_only_so_far() {
        let long = vec!["10.0.0.2"; 100].join(",");
        let xff = format!("198.51.100.1,{long}");
        assert_eq!(run("10.0.0.1", &[&xff], &["10.0.0.0/8"]), ip("10.0.0.2"));
    }
}
