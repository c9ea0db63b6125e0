//! The address of the client a request came from. The one place that decides it: today the
//! socket's peer; a trusted-proxy setting (`X-Forwarded-For` from listed proxies) plugs in
//! here, and every bound per client follows.
use std::net::IpAddr;

use actix_web::HttpRequest;

use crate::domain::client::ClientKey;

/// The client's IP address: the TCP peer (never a header a client can set).
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|a| a.ip())
}

/// The key that bounds per client count against.
pub fn client_key(req: &HttpRequest) -> Option<ClientKey> {
    client_ip(req).map(ClientKey::of)
}
