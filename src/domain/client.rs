//! Who is asking, as far as bounds per client go: an IPv4 address, or the /64 network of an
//! IPv6 address (one host usually holds a whole /64, so single IPv6 addresses are free to it).
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// The address bounds per client count against: an IPv4 address (IPv4-mapped IPv6 given as
/// IPv4) as it is, an IPv6 address as its /64 network (the low 64 bits zero). The rate limits
/// and the bound on sign-ins in progress both key on it.
pub fn network(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(String);

impl ClientKey {
    pub fn of(ip: IpAddr) -> Self {
        match network(ip) {
            IpAddr::V4(v4) => Self(v4.to_string()),
            IpAddr::V6(net) => Self(format!("{net}/64")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        ClientKey::of(s.parse().unwrap()).to_string()
    }

    #[test]
    fn ipv4_is_the_address_and_ipv6_its_network() {
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7", "IPv4-mapped");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:bbbb::9"), key("2001:db8:1:2::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }
}
