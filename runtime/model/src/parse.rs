//! Stage 1, parse (docs/datapath.md §2): Ethernet, VLANs, IPv4/IPv6, TCP/UDP/ICMP, and
//! the Geneve / VXLAN-GBP tunnel headers. Every malformed or truncated input ends in a
//! [`Stop`] with a named reason; the parser never panics and never reads out of bounds.

use std::ops::Range;

use crate::addr::v4_mapped;
use crate::reason::{DropReason, PuntReason};

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Transparent Ethernet bridging: Geneve's protocol type for an inner Ethernet frame.
pub const ETHERTYPE_TEB: u16 = 0x6558;

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;

pub const UDP_PORT_GENEVE: u16 = 6081;
pub const UDP_PORT_VXLAN: u16 = 4789;

/// Geneve option class of ztnic's context option (experimental range).
pub const GENEVE_OPT_CLASS: u16 = 0xfff0;
/// Geneve option type: critical bit + type 1.
pub const GENEVE_OPT_TYPE: u8 = 0x81;
/// Geneve option data length in 4-byte words.
pub const GENEVE_OPT_LEN: u8 = 2;
/// Geneve base header plus the ztnic option.
pub const GENEVE_HDR_LEN: usize = 8 + 4 + 8;
pub const VXLAN_HDR_LEN: usize = 8;

/// IPv6 next-header values that are extension headers (punted to the slow path).
const IPV6_EXT_HEADERS: [u8; 11] = [0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254];

/// Why parsing (or a later stage) stopped processing a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Drop(DropReason),
    Punt(PuntReason),
}

impl From<DropReason> for Stop {
    fn from(r: DropReason) -> Self {
        Stop::Drop(r)
    }
}

impl From<PuntReason> for Stop {
    fn from(r: PuntReason) -> Self {
        Stop::Punt(r)
    }
}

/// The L4 facts later stages read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4 {
    Tcp(Tcp),
    Udp {
        sport: u16,
        dport: u16,
        /// UDP payload, as a byte range of the frame.
        payload: (usize, usize),
    },
    /// ICMP / ICMPv6 echo request or reply.
    IcmpEcho {
        request: bool,
        id: u16,
    },
    /// ICMP / ICMPv6 error carrying the flow of the packet that caused it.
    IcmpError {
        embedded: Flow,
    },
    /// Any other ICMP type (conntrack marks it invalid).
    IcmpOther {
        icmp_type: u8,
    },
    /// An IP protocol without ports.
    Other,
}

/// A TCP segment's header facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// FIN SYN RST PSH ACK URG (ECE and CWR masked off).
    pub flags: u8,
    pub window: u16,
    pub payload_len: u32,
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;
pub const TCP_URG: u8 = 0x20;

/// An IP flow's identity. Addresses are 128-bit (IPv4 as `::ffff:a.b.c.d`); ports are
/// the conntrack ports of docs/datapath.md §2 (the echo identifier for ICMP echo).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    pub v6: bool,
    pub src: u128,
    pub dst: u128,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
}

/// A parsed IP packet inside one Ethernet frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPacket {
    pub v6: bool,
    pub src: u128,
    pub dst: u128,
    pub proto: u8,
    pub l4: L4,
}

impl IpPacket {
    /// The conntrack flow of this packet.
    pub fn flow(&self) -> Flow {
        let (sport, dport) = match self.l4 {
            L4::Tcp(t) => (t.sport, t.dport),
            L4::Udp { sport, dport, .. } => (sport, dport),
            L4::IcmpEcho { id, .. } => (id, id),
            _ => (0, 0),
        };
        Flow {
            v6: self.v6,
            src: self.src,
            dst: self.dst,
            proto: self.proto,
            sport,
            dport,
        }
    }

    /// TCP/UDP ports, 0/0 for other protocols: the ports the tag MAC and policy read.
    pub fn l4_ports(&self) -> (u16, u16) {
        match self.l4 {
            L4::Tcp(t) => (t.sport, t.dport),
            L4::Udp { sport, dport, .. } => (sport, dport),
            _ => (0, 0),
        }
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn addr16(b: &[u8], at: usize) -> u128 {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[at..at + 16]);
    u128::from_be_bytes(a)
}

fn addr4(b: &[u8], at: usize) -> u128 {
    v4_mapped(be32(b, at))
}

/// Ones'-complement sum check of an IPv4 header: true when the checksum is right.
pub fn ipv4_checksum_ok(hdr: &[u8]) -> bool {
    ipv4_checksum_fold(hdr) == 0xffff
}

/// The ones'-complement sum of 16-bit words, folded to 16 bits.
pub fn ipv4_checksum_fold(hdr: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in hdr.chunks(2) {
        let w = if pair.len() == 2 {
            u16::from_be_bytes([pair[0], pair[1]])
        } else {
            u16::from_be_bytes([pair[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Parses Ethernet, VLANs and the L3/L4 headers of one frame.
pub fn parse_frame(frame: &[u8]) -> Result<IpPacket, Stop> {
    if frame.len() < 14 {
        return Err(DropReason::EthTruncated.into());
    }
    let mut off = 12;
    let mut ethertype = be16(frame, off);
    let mut tags = 0;
    while ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ {
        if tags == 2 {
            return Err(DropReason::TooManyVlans.into());
        }
        if frame.len() < off + 2 + 4 {
            return Err(DropReason::VlanTruncated.into());
        }
        off += 4;
        ethertype = be16(frame, off);
        tags += 1;
    }
    let l3 = off + 2;
    match ethertype {
        ETHERTYPE_IPV4 => parse_ipv4(frame, l3),
        ETHERTYPE_IPV6 => parse_ipv6(frame, l3),
        ETHERTYPE_ARP => Err(PuntReason::Arp.into()),
        _ => Err(DropReason::UnsupportedEthertype.into()),
    }
}

fn parse_ipv4(frame: &[u8], l3: usize) -> Result<IpPacket, Stop> {
    let avail = frame.len() - l3;
    if avail < 20 {
        return Err(DropReason::Ipv4Truncated.into());
    }
    let h = &frame[l3..];
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(be16(h, 2));
    if h[0] >> 4 != 4 || ihl < 20 || total < ihl {
        return Err(DropReason::Ipv4Malformed.into());
    }
    if total > avail {
        return Err(DropReason::Ipv4Truncated.into());
    }
    if !ipv4_checksum_ok(&h[..ihl]) {
        return Err(DropReason::Ipv4BadChecksum.into());
    }
    let frag = be16(h, 6);
    if frag & 0x2000 != 0 || frag & 0x1fff != 0 {
        return Err(PuntReason::IpFragment.into());
    }
    let proto = h[9];
    let src = addr4(h, 12);
    let dst = addr4(h, 16);
    let l4 = parse_l4(frame, l3 + ihl, l3 + total, proto, false)?;
    Ok(IpPacket {
        v6: false,
        src,
        dst,
        proto,
        l4,
    })
}

fn parse_ipv6(frame: &[u8], l3: usize) -> Result<IpPacket, Stop> {
    let avail = frame.len() - l3;
    if avail < 40 {
        return Err(DropReason::Ipv6Truncated.into());
    }
    let h = &frame[l3..];
    if h[0] >> 4 != 6 {
        return Err(DropReason::Ipv6Malformed.into());
    }
    let payload = usize::from(be16(h, 4));
    if 40 + payload > avail {
        return Err(DropReason::Ipv6Truncated.into());
    }
    let next = h[6];
    if IPV6_EXT_HEADERS.contains(&next) {
        return Err(PuntReason::Ipv6ExtHeader.into());
    }
    let l4 = parse_l4(frame, l3 + 40, l3 + 40 + payload, next, true)?;
    Ok(IpPacket {
        v6: true,
        src: addr16(h, 8),
        dst: addr16(h, 24),
        proto: next,
        l4,
    })
}

/// Parses the L4 header found in `frame[start..end]` (the IP payload).
fn parse_l4(frame: &[u8], start: usize, end: usize, proto: u8, v6: bool) -> Result<L4, Stop> {
    let p = &frame[start..end];
    match proto {
        PROTO_TCP => {
            if p.len() < 20 {
                return Err(DropReason::TcpTruncated.into());
            }
            let doff = usize::from(p[12] >> 4) * 4;
            if doff < 20 {
                return Err(DropReason::TcpMalformed.into());
            }
            if doff > p.len() {
                return Err(DropReason::TcpTruncated.into());
            }
            Ok(L4::Tcp(Tcp {
                sport: be16(p, 0),
                dport: be16(p, 2),
                seq: be32(p, 4),
                ack: be32(p, 8),
                flags: p[13] & 0x3f,
                window: be16(p, 14),
                payload_len: (p.len() - doff) as u32,
            }))
        }
        PROTO_UDP => {
            if p.len() < 8 {
                return Err(DropReason::UdpTruncated.into());
            }
            let len = usize::from(be16(p, 4));
            if len < 8 {
                return Err(DropReason::UdpMalformed.into());
            }
            if len > p.len() {
                return Err(DropReason::UdpTruncated.into());
            }
            Ok(L4::Udp {
                sport: be16(p, 0),
                dport: be16(p, 2),
                payload: (start + 8, start + len),
            })
        }
        PROTO_ICMP if !v6 => parse_icmp(p, false),
        PROTO_ICMPV6 if v6 => parse_icmp(p, true),
        _ => Ok(L4::Other),
    }
}

fn parse_icmp(p: &[u8], v6: bool) -> Result<L4, Stop> {
    if p.len() < 8 {
        return Err(DropReason::IcmpTruncated.into());
    }
    let ty = p[0];
    let (echo_req, echo_rep, is_error) = if v6 {
        (128, 129, (1..=4).contains(&ty))
    } else {
        (8, 0, matches!(ty, 3 | 4 | 5 | 11 | 12))
    };
    if v6 && (133..=137).contains(&ty) {
        return Err(PuntReason::Nd.into());
    }
    if ty == echo_req || ty == echo_rep {
        return Ok(L4::IcmpEcho {
            request: ty == echo_req,
            id: be16(p, 4),
        });
    }
    if is_error {
        return Ok(L4::IcmpError {
            embedded: parse_embedded(&p[8..], v6)?,
        });
    }
    Ok(L4::IcmpOther { icmp_type: ty })
}

/// The flow of the packet embedded in an ICMP error: its IP header and the first
/// 8 bytes of its L4 header.
fn parse_embedded(e: &[u8], v6: bool) -> Result<Flow, Stop> {
    let (src, dst, proto, l4) = if v6 {
        if e.len() < 40 + 8 {
            return Err(DropReason::IcmpTruncated.into());
        }
        if e[0] >> 4 != 6 {
            return Err(DropReason::IcmpMalformed.into());
        }
        (addr16(e, 8), addr16(e, 24), e[6], 40)
    } else {
        if e.is_empty() {
            return Err(DropReason::IcmpTruncated.into());
        }
        let ihl = usize::from(e[0] & 0x0f) * 4;
        if e[0] >> 4 != 4 || ihl < 20 {
            return Err(DropReason::IcmpMalformed.into());
        }
        if e.len() < ihl + 8 {
            return Err(DropReason::IcmpTruncated.into());
        }
        (addr4(e, 12), addr4(e, 16), e[9], ihl)
    };
    let (sport, dport) = match proto {
        PROTO_TCP | PROTO_UDP => (be16(e, l4), be16(e, l4 + 2)),
        PROTO_ICMP | PROTO_ICMPV6 => {
            let ty = e[l4];
            let echo = if v6 {
                ty == 128 || ty == 129
            } else {
                ty == 8 || ty == 0
            };
            if echo {
                let id = be16(e, l4 + 4);
                (id, id)
            } else {
                (0, 0)
            }
        }
        _ => (0, 0),
    };
    Ok(Flow {
        v6,
        src,
        dst,
        proto,
        sport,
        dport,
    })
}

/// The tag a tunnel header carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// The ztnic Geneve option (design §3).
    Geneve { ctx: u32, epoch: u8, mac: u32 },
    /// A VXLAN-GBP Group Policy ID.
    Gbp { gpid: u16 },
    /// VXLAN without the G flag: the inner frame is `world` traffic.
    Untagged,
}

/// A decoded tunnel: its tag and where the inner frame lies in the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tunnel {
    pub tag: Tag,
    pub inner: Range<usize>,
}

/// Recognises and decodes a Geneve or VXLAN header on an outer IPv4/UDP packet.
/// `Ok(None)` means the packet is not a tunnel; a tunnel to another VTEP is dropped.
pub fn parse_tunnel(
    frame: &[u8],
    outer: &IpPacket,
    local_vtep: u128,
) -> Result<Option<Tunnel>, Stop> {
    let L4::Udp { dport, payload, .. } = outer.l4 else {
        return Ok(None);
    };
    if outer.v6 || (dport != UDP_PORT_GENEVE && dport != UDP_PORT_VXLAN) {
        return Ok(None);
    }
    if outer.dst != local_vtep {
        return Err(DropReason::VtepMismatch.into());
    }
    let p = &frame[payload.0..payload.1];
    let (tag, hdr_len) = if dport == UDP_PORT_GENEVE {
        if p.len() < GENEVE_HDR_LEN {
            return Err(DropReason::TunnelTruncated.into());
        }
        let ver = p[0] >> 6;
        let opt_len = p[0] & 0x3f;
        let oam = p[1] & 0x80 != 0;
        let critical = p[1] & 0x40 != 0;
        let ok = ver == 0
            && opt_len == 3
            && !oam
            && critical
            && be16(p, 2) == ETHERTYPE_TEB
            && be16(p, 8) == GENEVE_OPT_CLASS
            && p[10] == GENEVE_OPT_TYPE
            && p[11] & 0x1f == GENEVE_OPT_LEN;
        if !ok {
            return Err(DropReason::GeneveMalformed.into());
        }
        let word = be32(p, 12);
        let tag = Tag::Geneve {
            ctx: word >> 8,
            epoch: word as u8,
            mac: be32(p, 16),
        };
        (tag, GENEVE_HDR_LEN)
    } else {
        if p.len() < VXLAN_HDR_LEN {
            return Err(DropReason::TunnelTruncated.into());
        }
        if p[0] & 0x08 == 0 {
            return Err(DropReason::VxlanMalformed.into());
        }
        let tag = if p[0] & 0x80 != 0 {
            Tag::Gbp { gpid: be16(p, 2) }
        } else {
            Tag::Untagged
        };
        (tag, VXLAN_HDR_LEN)
    };
    Ok(Some(Tunnel {
        tag,
        inner: payload.0 + hdr_len..payload.1,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_known_header_verifies() {
        // RFC 1071 style example: a real IPv4 header with a correct checksum.
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert!(ipv4_checksum_ok(&h));
        let mut bad = h;
        bad[11] ^= 1;
        assert!(!ipv4_checksum_ok(&bad));
    }

    #[test]
    fn short_frames_are_counted_drops_not_panics() {
        for n in 0..14 {
            assert_eq!(
                parse_frame(&vec![0u8; n]),
                Err(Stop::Drop(DropReason::EthTruncated))
            );
        }
    }

    #[test]
    fn third_vlan_tag_is_rejected() {
        let mut f = vec![0u8; 12];
        for _ in 0..3 {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
        }
        f.extend_from_slice(&[0x08, 0x00]);
        f.resize(80, 0);
        assert_eq!(parse_frame(&f), Err(Stop::Drop(DropReason::TooManyVlans)));
    }
}
