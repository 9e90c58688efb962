//! The unit per-address limits count by: an IPv4 address, or an IPv6 /64.
//!
//! One IPv6 host usually holds a whole /64 (2^64 addresses): counting single
//! IPv6 addresses would give every attacker an endless supply. IPv4-mapped
//! IPv6 addresses (`::ffff:a.b.c.d`, seen on dual-stack listeners) count as
//! the IPv4 address they are.

use std::net::IpAddr;

/// A source address as the limits see it. Small and `Copy`: it keys maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressKey {
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6Prefix([u8; 8]),
}

impl AddressKey {
    /// Bytes one key takes in a map (it owns no heap memory).
    pub const BYTES: usize = std::mem::size_of::<Self>();
}

impl From<IpAddr> for AddressKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.octets()),
                None => {
                    let octets = v6.octets();
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(&octets[..8]);
                    Self::V6Prefix(prefix)
                }
            },
        }
    }
}

impl std::fmt::Display for AddressKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::V4(octets) => write!(f, "{}", std::net::Ipv4Addr::from(*octets)),
            Self::V6Prefix(prefix) => {
                let mut octets = [0u8; 16];
                octets[..8].copy_from_slice(prefix);
                write!(f, "{}/64", std::net::Ipv6Addr::from(octets))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_slash_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(AddressKey::from(a), AddressKey::from(b));
        assert_ne!(AddressKey::from(a), AddressKey::from(c));
        assert_eq!(AddressKey::from(a).to_string(), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(AddressKey::from(mapped), AddressKey::from("10.1.2.3".parse::<IpAddr>().unwrap()));
        assert_eq!(AddressKey::from(mapped).to_string(), "10.1.2.3");
    }
}
