//! Addresses as the datapath stores them: 128 bits, IPv4 as `::ffff:a.b.c.d`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The IPv4-mapped IPv6 form of an IPv4 address.
pub fn v4_mapped(v4: u32) -> u128 {
    0xffff_0000_0000u128 | u128::from(v4)
}

/// The 128-bit form of any address.
pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => v4_mapped(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The address a 128-bit value stands for (IPv4-mapped values print as IPv4).
pub fn from_u128(a: u128) -> IpAddr {
    let v6 = Ipv6Addr::from(a);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

/// The prefix length in the 128-bit space of an IPv4 or IPv6 prefix length.
pub fn prefix_len_128(ip: IpAddr, len: u8) -> u8 {
    match ip {
        IpAddr::V4(_) => 96 + len,
        IpAddr::V6(_) => len,
    }
}

/// The mask of the top `len` bits.
pub fn prefix_mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// The IPv4 address of a v4-mapped value, if it is one.
pub fn as_v4(a: u128) -> Option<Ipv4Addr> {
    Ipv6Addr::from(a).to_ipv4_mapped()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_addresses_map_and_unmap() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let a = to_u128(ip);
        assert_eq!(a, 0x0000_0000_0000_0000_0000_ffff_0a01_0203);
        assert_eq!(from_u128(a), ip);
        assert_eq!(prefix_len_128(ip, 24), 120);
        assert_eq!(prefix_mask(0), 0);
        assert_eq!(prefix_mask(128), u128::MAX);
        assert_eq!(prefix_mask(120) & a, a & !0xff);
    }
}
